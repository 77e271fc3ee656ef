"""The sandbox sends each shape of issue 10 (scenario options, faults, webhook bodies), and
its X answers stay valid against X's OpenAPI document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from bots.facebook import sandbox as fb_sandbox
from bots.facebook.adapter import FacebookNetwork
from bots.facebook.parse import POST_FIELDS, classify, parse_posts, users_to_poll
from bots.facebook.webhook import rejects as fb_rejects
from bots.sandbox import Rates, SandboxServer, generate_scenario, start_sandbox
from bots.sandbox.scenario_shapes import add_real_shapes
from bots.x import sandbox as x_sandbox
from bots.x.parse import EXPANSIONS, TWEET_FIELDS, WebhookAction, check_page, webhook_actions
from bots.x.webhook import rejects as x_rejects
from config import Settings
from tests.bots.conftest import load_json
from tests.bots.test_contract import validate

QUIET = Rates(likes=0, reposts=0, quotes=0, explicit=0, originals=0,
              facebook_page_likes_per_month=0, facebook_shares=0, facebook_statuses=0)
FIELDS = {"tweet.fields": ",".join([*TWEET_FIELDS, "withheld", "in_reply_to_user_id"]),
          "expansions": ",".join(EXPANSIONS), "user.fields": "username"}


@pytest.fixture(scope="module")
def scenario() -> dict:
    return add_real_shapes(generate_scenario(5, days=20, seed=4, rates=QUIET))


@pytest.fixture
def server(scenario: dict):  # type: ignore[no-untyped-def]
    with start_sandbox(scenario) as running:
        running.advance(timedelta(days=20))
        yield running


@pytest.fixture(scope="module")
def spec(fixtures_dir: Path) -> dict:
    return load_json(fixtures_dir / "x" / "openapi.json")


def _get(server: SandboxServer, path: str, token: str, **params: object) -> requests.Response:
    return requests.get(server.base_url + path, params=params, timeout=5,
                        headers={"Authorization": f"Bearer {token}"})


def _x_posts(server: SandboxServer, scenario: dict, spec: dict) -> dict[str, dict]:
    """Every post the people's likes and timelines show, by id; each answer validated."""
    found: dict[str, dict] = {}
    for person in scenario["people"]:
        me, token = person["x"]["user_id"], person["x"]["token"]
        for path in (f"/2/users/{me}/liked_tweets", f"/2/users/{me}/tweets"):
            response = _get(server, path, token, **FIELDS, max_results=100)
            assert response.status_code == 200
            validate(spec, "GET", path, response)
            data, included = check_page(response.json())
            found.update({p["id"]: p for p in data})
            found.update(included)
    return found


def _by_shape(scenario: dict, posts: dict[str, dict]) -> dict[str, dict]:
    return {p["shape"]: posts[p["id"]] for p in scenario["x_posts"]
            if "shape" in p and p["id"] in posts}


def test_x_shapes_are_sent_and_valid(server: SandboxServer, scenario: dict, spec: dict) -> None:
    shapes = _by_shape(scenario, _x_posts(server, scenario, spec))
    withheld = shapes["withheld"]
    assert withheld["withheld"]["country_codes"] == ["DE"]
    assert withheld["entities"]["urls"][0]["expanded_url"].startswith("https://support.twitter")
    short = shapes["short_link_not_unwound"]["entities"]["urls"][0]
    assert "unwound_url" not in short and short["expanded_url"].startswith("https://bit.ly/")
    unwound = shapes["short_link_unwound"]["entities"]["urls"][0]
    assert unwound["unwound_url"] != unwound["expanded_url"] and unwound["status"] == 200
    assert shapes["unwound_failed"]["entities"]["urls"][0]["status"] == 404
    edited = shapes["edited"]
    assert len(edited["edit_history_tweet_ids"]) == 3
    assert edited["edit_history_tweet_ids"][-1] == edited["id"]
    both = shapes["reply_that_quotes"]
    assert {r["type"] for r in both["referenced_tweets"]} == {"quoted", "replied_to"}
    assert both["text"].startswith("@creator0 ")
    assert both["display_text_range"] == [len("@creator0 "), len(both["text"])]
    assert both["in_reply_to_user_id"] == scenario["creators"][0]["x_user_id"]
    prefixed = shapes["prefix_mentions_service"]
    assert prefixed["text"].startswith("@creator0 @flattrbot ")
    assert [m["username"] for m in prefixed["entities"]["mentions"]] == ["creator0", "flattrbot"]
    long_post = shapes["long_request"]
    assert len(long_post["text"]) == 280 and "#flattr" not in long_post["text"]
    assert long_post["note_tweet"]["text"].endswith("#flattr")
    assert long_post["note_tweet"]["entities"]["hashtags"][0]["tag"] == "flattr"


def test_a_repost_of_a_quote_includes_the_quote(server: SandboxServer, scenario: dict,
                                                 spec: dict) -> None:
    posts = _x_posts(server, scenario, spec)
    repost = _by_shape(scenario, posts)["repost_of_quote"]
    (ref,) = repost["referenced_tweets"]
    quote = posts[ref["id"]]
    assert ref["type"] == "retweeted" and quote["referenced_tweets"][0]["type"] == "quoted"
    assert repost["text"].startswith("RT @creator2: ")


def test_facebook_attachment_shapes(server: SandboxServer, scenario: dict) -> None:
    network = FacebookNetwork(api_base_url=server.base_url)
    found: dict[str, dict] = {}
    for person in scenario["people"]:
        graph = network.graph(person["facebook"]["token"])  # facebook-sdk's GraphAPI
        page = graph.get_connections("me", "posts", fields=POST_FIELDS, limit=100)
        found.update({p["id"]: p for p in page["data"]})
    shapes = {p["shape"]: found[p["id"]] for p in scenario["facebook_posts"] if "shape" in p}
    carousel = shapes["carousel"]
    assert carousel["status_type"] == "shared_story"
    assert [c["name"] for c in carousel["child_attachments"]] == ["Card one", "Card two",
                                                                   "See more"]
    cards = carousel["attachments"]["data"][0]["subattachments"]["data"]
    assert all(c["url"].startswith("https://l.facebook.com/l.php?u=") for c in cards)
    album = shapes["album"]["attachments"]["data"][0]
    assert album["type"] == "album" and len(album["subattachments"]["data"]) == 3
    assert shapes["photo"]["attachments"]["data"][0]["type"] == "photo"
    app = shapes["app_story"]
    assert app["status_type"] == "app_created_story"
    assert set(app["attachments"]["data"][0]) == {"type", "url", "target", "title"}
    links = [a.targets[0].url for a in parse_posts({"data": list(shapes.values())}, "1",
                                                    datetime.now(UTC))]
    assert links == ["https://creator1.example.net/card-one",
                     "https://creator2.example.net/why-we-pay-writers"]


def test_facebook_error_faults(server: SandboxServer, scenario: dict) -> None:
    token = scenario["people"][0]["facebook"]["token"]
    server.add_fault("oauth_no_code", token=token, times=1)
    dead = _get(server, "/v22.0/me/likes", "", access_token=token)
    assert dead.status_code == 403 and "invalid_token" in dead.headers["WWW-Authenticate"]
    assert "code" not in dead.json()["error"]
    found = classify(dead.json(), http_status=403,
                     www_authenticate=dead.headers["WWW-Authenticate"])
    assert found.status == "needs_reconnect"
    server.add_fault("not_transient", token=token, times=1, status=500, code=1)
    stuck = _get(server, "/v22.0/me/likes", "", access_token=token)
    assert stuck.status_code == 500
    assert stuck.json()["error"]["is_transient"] is False and stuck.json()["error"]["code"] == 1
    assert classify(stuck.json()).retry_limit == 3


def test_x_problem_fault_is_an_error_body(server: SandboxServer, scenario: dict,
                                          spec: dict) -> None:
    person = scenario["people"][0]
    path = f"/2/users/{person['x']['user_id']}/tweets"
    server.add_fault("problem", times=1)
    response = _get(server, path, person["x"]["token"], **FIELDS)
    assert response.status_code == 200 and "data" not in response.json()
    validate(spec, "GET", path, response)
    with pytest.raises(ValueError, match="error body"):
        check_page(response.json())


NOW = datetime(2025, 3, 10, tzinfo=UTC)


@pytest.mark.parametrize("shape", ["changes", "changed_fields"])
def test_facebook_webhook_shapes(shape: str) -> None:
    settings = Settings(facebook_app_secret="app-secret")
    body = fb_sandbox.user_webhook({"1": ["email"], "2": ["feed"], "3": ["likes", "email"]},
                                   NOW, shape)
    raw, headers = fb_sandbox.signed_webhook(body, "app-secret")
    assert fb_rejects(settings, raw, {k.lower(): v for k, v in headers.items()}) is None
    assert users_to_poll(body) == ["2", "3"]
    assert "changes" in body["entry"][0] if shape == "changes" else "changed_fields" in \
        body["entry"][0]


def test_x_webhook_shapes() -> None:
    settings = Settings(x_consumer_secret="consumer-secret")
    bodies = {
        "revoke": x_sandbox.account_activity_event("revoke", "7", NOW),
        "like": x_sandbox.account_activity_event("like", "7", NOW, post_id="9",
                                                 author_id="8"),
        "post": x_sandbox.account_activity_event("post", "7", NOW, post_id="9"),
        "oauth.revoke": x_sandbox.activity_api_event("oauth.revoke", "7", NOW),
        "like.create": x_sandbox.activity_api_event("like.create", "7", NOW, post_id="9",
                                                    author_id="8"),
        "inbound": x_sandbox.activity_api_event("like.create", "7", NOW, post_id="9",
                                                author_id="7", direction="inbound"),
        "post.create": x_sandbox.activity_api_event("post.create", "7", NOW),
    }
    actions = {name: webhook_actions(body) for name, body in bodies.items()}
    assert actions == {
        "revoke": [WebhookAction("revoke", "7")], "oauth.revoke": [WebhookAction("revoke", "7")],
        "like": [WebhookAction("poll", "7")], "like.create": [WebhookAction("poll", "7")],
        "post": [WebhookAction("poll", "7")], "post.create": [WebhookAction("poll", "7")],
        "inbound": [],
    }
    raw, headers = x_sandbox.signed_webhook(bodies["revoke"], "consumer-secret")
    assert x_rejects(settings, raw, {k.lower(): v for k, v in headers.items()}) is None
