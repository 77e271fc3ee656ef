"""Every recorded real response in ../shared/fixtures/ through the parsers and the real
clients (over a replaying transport): what they must yield."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from bots.base import LinkedAccount
from bots.facebook.adapter import FacebookNetwork
from bots.facebook.parse import (
    check_list,
    classify_error,
    parse_likes,
    parse_posts,
    share_activity,
    users_to_poll,
)
from bots.polling import load_cursor, note_rate_limit
from bots.x.adapter import XNetwork
from bots.x.parse import MalformedResponse, check_page, parse_liked_tweets, parse_users_tweets
from tests.bots.conftest import load_json, replay_session

NOW = datetime(2025, 3, 1, tzinfo=UTC)
ALL = frozenset({"likes", "reposts", "explicit"})


def interactions(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text())["interactions"]


def test_every_x_cassette_is_read(fixtures_dir: Path):
    cassettes = sorted((fixtures_dir / "x").glob("*.yaml"))
    assert len(cassettes) == 6
    for cassette in cassettes:
        for interaction in interactions(cassette):
            body = json.loads(interaction["response"]["body"]["string"])
            headers = {k.lower(): v[0] for k, v in interaction["response"]["headers"].items()}
            stream = load_cursor(None, ("s",))["s"]
            note_rate_limit(stream, headers)
            assert isinstance(stream["rl_remaining"], int) and stream["rl_reset"] > 1.6e9
            if isinstance(body.get("data"), list) or "meta" in body:
                data, _ = check_page(body)
                assert all(isinstance(p["id"], str) for p in data)


def test_liked_tweets_cassette_yields_96_likes_of_the_posts_themselves(fixtures_dir: Path):
    (liked,) = interactions(fixtures_dir / "x" / "test_client_get_liked_tweets.yaml")
    body = json.loads(liked["response"]["body"]["string"])
    activities = parse_liked_tweets(body, "783214", NOW)
    assert len(activities) == 96 == body["meta"]["result_count"]
    assert len({a.key for a in activities}) == 96
    first = activities[0]
    assert (first.action, first.actor, first.occurred_at) == ("like", "twitter:783214", NOW)
    # default fields only: no entities and no author_id, so the post itself, owner unknown
    assert first.targets[-1].url == "https://x.com/i/status/1345434652891373571"
    assert all(len(a.targets) == 1 and a.targets[0].identity is None for a in activities)


def test_users_tweets_cassette_has_no_reposts_so_no_activities(fixtures_dir: Path):
    (timeline,) = interactions(fixtures_dir / "x" / "test_client_get_users_tweets.yaml")
    body = json.loads(timeline["response"]["body"]["string"])
    assert parse_users_tweets(body, "783214", NOW, ALL, "flattrbot") == []
    assert len(check_page(body)[0]) == 2


def test_liked_tweets_through_tweepy_first_poll_records_the_watermark(fixtures_dir: Path):
    (liked,) = interactions(fixtures_dir / "x" / "test_client_get_liked_tweets.yaml")
    raw = liked["response"]["body"]["string"].encode()
    headers = {
        "Content-Type": "application/json",
        "x-rate-limit-remaining": "73",
        "x-rate-limit-reset": "1665183226",
    }
    session, adapter = replay_session(raw, 200, headers)
    network = XNetwork(triggers=ALL, session=session)
    account = LinkedAccount("x", "783214", "token")
    first = network.fetch_activity(account, None, NOW)
    assert first.status == "ok" and first.activities == []
    assert "/2/users/783214/liked_tweets" in adapter.requests[0].url
    assert adapter.requests[0].headers["Authorization"] == "Bearer token"
    # The same page again: the newest post is already seen, nothing is new.
    later = datetime(2025, 3, 2, tzinfo=UTC)
    again = network.fetch_activity(
        account, {**first.cursor, "likes": {**first.cursor["likes"], "due": None}}, later
    )
    assert again.status == "ok" and [a for a in again.activities if a.action == "like"] == []


@pytest.mark.parametrize(
    ("name", "count", "with_time"),
    [("likes.json", 3, False), ("user-likes.json", 3, True), ("new-user-likes.json", 3, True)],
)
def test_facebook_page_likes(fixtures_dir: Path, name: str, count: int, with_time: bool):
    body = load_json(fixtures_dir / "facebook" / name)
    activities = parse_likes(body, "42", NOW)
    assert len(activities) == count
    for activity, item in zip(activities, body["data"], strict=True):
        (target,) = activity.targets
        assert activity.action == "page_like" and activity.actor == "facebook:user:42"
        assert target.identity == f"facebook:page:{item['id']}"
        assert target.url == f"https://www.facebook.com/{item['id']}"
        assert target.title == item["name"]
        assert (activity.occurred_at != NOW) == with_time


SHARES = {
    "feed.json": ["https://www.habuma.com/"],
    "feedPage1.json": [],
    "feedPage2.json": ["https://www.habuma.com/"],
    "feedPage3.json": [],
    "emptyFeed.json": [],
    "feed-with-unknown-type.json": [],
    "post-list.json": [],
}


@pytest.mark.parametrize("name", sorted(SHARES))
def test_facebook_feeds_yield_only_outside_link_shares(fixtures_dir: Path, name: str):
    activities = parse_posts(load_json(fixtures_dir / "facebook" / name), "7", NOW)
    assert [a.targets[0].url for a in activities] == SHARES[name]
    assert all(
        a.action == "share" and a.targets[0].identity == "url:" + a.targets[0].url
        for a in activities
    )


def test_a_single_post_is_not_a_list_but_parses_as_an_item(fixtures_dir: Path):
    body = load_json(fixtures_dir / "facebook" / "post.json")
    with pytest.raises(MalformedResponse):
        check_list(body)
    assert share_activity(body, "7", NOW) is None  # a status update: nothing to flattr


def test_facebook_paging_next_of_the_fixture_is_reused_without_its_token(fixtures_dir: Path):
    from bots.facebook.adapter import _next_args

    _, paging = check_list(load_json(fixtures_dir / "facebook" / "feedPage2.json"))
    args = _next_args(paging)
    assert args["__paging_token"] == "fakePage3Token" and "access_token" not in args


@pytest.mark.parametrize(
    "name",
    [
        "error-190-bogusAccessToken.json",
        "error-190-tokenExpired.json",
        "error-190-userLoggedOut.json",
        "error-190-userRevokedToken.json",
    ],
)
def test_error_190_variants_need_reconnect(fixtures_dir: Path, name: str):
    raw = (fixtures_dir / "facebook" / name).read_bytes()
    status, message = classify_error(json.loads(raw))
    assert status == "needs_reconnect" and "190" in message
    # And through facebook-sdk itself (a 400 with the recorded body), both streams.
    session, _ = replay_session(raw, 400, {"Content-Type": "application/json; charset=UTF-8"})
    network = FacebookNetwork(session=session)
    account = LinkedAccount("facebook", "7", "dead-token")
    cursor = network.fetch_activity(account, None, NOW).cursor  # watermark, no request
    result = network.fetch_activity(
        account,
        {
            **cursor,
            "likes": {**cursor["likes"], "due": None},
            "posts": {**cursor["posts"], "due": None},
        },
        NOW,
    )
    assert result.status == "needs_reconnect" and result.activities == []
    assert result.cursor["likes"]["watermark"] == cursor["likes"]["watermark"]


def test_facebook_response_without_content_type_is_an_error_not_a_crash():
    session, _ = replay_session(b'{"data": []}', 200, {})
    network = FacebookNetwork(session=session)
    account = LinkedAccount("facebook", "7", "t")
    cursor = network.fetch_activity(account, None, NOW).cursor
    cursor["likes"]["due"] = None
    result = network.fetch_activity(account, cursor, NOW)
    assert result.status == "error" and "unreadable" in (result.error or "")


@pytest.mark.parametrize(
    ("name", "users"),
    [("webhook-rtupdate-many.json", ["620448186"]), ("webhook-rtupdate-simple.json", [])],
)
def test_webhook_payloads_name_whom_to_poll(fixtures_dir: Path, name: str, users: list[str]):
    assert users_to_poll(load_json(fixtures_dir / "facebook" / name)) == users


def test_every_facebook_fixture_is_covered(fixtures_dir: Path):
    names = {p.name for p in (fixtures_dir / "facebook").glob("*.json")}
    covered = set(SHARES) | {
        "likes.json",
        "user-likes.json",
        "new-user-likes.json",
        "post.json",
        "webhook-rtupdate-many.json",
        "webhook-rtupdate-simple.json",
    }
    covered |= {n for n in names if n.startswith("error-190-")}
    assert names == covered
