"""Issue 16 at the network's edge: the sandbox's recent search and mentions (validated
against X's OpenAPI document), the search reader through the real tweepy client, the
query groups, and tweepy's own recorded search and mentions cassettes."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import yaml

from bots import registry
from bots.registry import ParseRequest
from bots.sandbox import REALISTIC, Rates, SandboxServer, generate_scenario, start_sandbox
from bots.x.ids import snowflake_at, snowflake_time
from bots.x.search import MENTIONS, XSearch, parse_requests, search_query
from tests.bots.conftest import expected_x, load_json, replay_session
from tests.bots.test_contract import FIELDS, get, validate

SERVICE = "900000001"
EXPLICIT = frozenset({"explicit"})
CASSETTES = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "x" / "cassettes"
QUIET = Rates(likes=0, reposts=0, quotes=0, explicit=0, originals=0,
              facebook_page_likes_per_month=0, facebook_shares=0, facebook_statuses=0)


@pytest.fixture(scope="module")
def spec(fixtures_dir: Path) -> dict:
    return load_json(fixtures_dir / "x" / "openapi.json")


def reader(server: SandboxServer, **options: object) -> XSearch:
    return XSearch(bearer_token="x-app-token", service_handle="flattrbot",
                   service_user_id=SERVICE, api_base_url=server.base_url,
                   **options)  # type: ignore[arg-type]


def test_search_and_mentions_answers_match_the_openapi_document(spec: dict) -> None:
    scenario = generate_scenario(6, days=9, seed=2, rates=REALISTIC)
    people = [p["x"]["user_id"] for p in scenario["people"]]
    query = search_query(people)
    with start_sandbox(scenario) as server:
        server.advance(timedelta(days=9))
        search = "/2/tweets/search/recent"
        statuses = []
        for path, params in [
            (search, {**FIELDS, "query": query, "max_results": 10}),
            (search, {**FIELDS, "query": "#flattr", "max_results": 100}),
            (search, {"query": "x " * 300}),  # longer than 512 characters
            (search, {"query": "#flattr", "since_id": str(snowflake_at(server.now
                                                                       - timedelta(days=8)))}),
            (search, {"query": "#flattr lang:en"}),  # an operator we do not speak
            (search, {"query": "#flattr", "max_results": 5}),
            (f"/2/users/{SERVICE}/mentions", {**FIELDS, "max_results": 5}),
            (f"/2/users/{SERVICE}/mentions", {**FIELDS, "since_id": "9" * 19}),
        ]:
            response = get(server, path, "x-app-token", **params)
            validate(spec, "GET", path, response)
            statuses.append(response.status_code)
            following = response.json().get("meta", {}).get("next_token")
            if following:
                key = "next_token" if path == search else "pagination_token"
                more = get(server, path, "x-app-token", **params, **{key: following})
                assert more.status_code == 200
                validate(spec, "GET", path, more)
    assert statuses == [200, 200, 400, 400, 400, 400, 200, 200]


def test_the_query_limit_is_a_400_problem_naming_the_limit() -> None:
    scenario = generate_scenario(2, days=2, seed=2)
    scenario["service"]["x_search_query_limit"] = 1024
    with start_sandbox(scenario) as server:
        fits = get(server, "/2/tweets/search/recent", "x-app-token", query="a" * 1024)
        too_long = get(server, "/2/tweets/search/recent", "x-app-token", query="a" * 1025)
    assert fits.status_code == 200
    body = too_long.json()
    assert too_long.status_code == 400
    assert too_long.headers["Content-Type"].startswith("application/problem+json")
    assert body["type"] == "https://api.twitter.com/2/problems/invalid-request"
    assert "maximum for this access level is 1024" in body["errors"][0]["message"]
    assert "data" not in body


def _post(post_id: int, author: str, at: datetime, text: str, ref: str | None = None,
          kind: str = "replied_to") -> dict:
    post = {"id": str(post_id), "author_id": author, "at": at.isoformat(), "text": text}
    if ref:
        post["referenced"] = {"type": kind, "id": ref}
    return post


def test_the_query_subset_reads_as_x_reads_it() -> None:
    scenario = generate_scenario(2, days=2, seed=2, rates=QUIET)
    start = datetime.fromisoformat(scenario["start"])
    alice, bob = (p["x"]["user_id"] for p in scenario["people"])
    original = scenario["x_posts"][0]["id"]
    at = start - timedelta(hours=1)
    base = snowflake_at(at)
    scenario["x_posts"] += [
        _post(base + 1, alice, at, "Love it #Flattr", original),           # reply
        _post(base + 2, alice, at, "Love it #flattr", original, "quoted"),  # quote
        _post(base + 3, alice, at, "", str(base + 1), "retweeted"),        # RT of the reply
        _post(base + 4, bob, at, "#flattr is a nice idea"),                # not a reply
        _post(base + 5, bob, at, "@flattrbot please", original),           # a mention
        _post(base + 6, bob, at - timedelta(days=8), "Old #flattr", original),  # out of window
        _post(base + 7, alice, at, "no tag here", original),
    ]
    with start_sandbox(scenario) as server:
        def ids(query: str) -> set[int]:
            response = get(server, "/2/tweets/search/recent", "x-app-token", query=query,
                           max_results=100)
            assert response.status_code == 200, response.text
            return {int(p["id"]) - base for p in response.json().get("data", [])}

        assert ids("#flattr") == {1, 2, 3, 4}
        assert ids("#flattr -is:retweet") == {1, 2, 4}
        assert ids("#flattr (is:reply OR is:quote) -is:retweet") == {1, 2}
        assert ids(f"#flattr (from:{bob} OR from:alice)") == {1, 2, 3, 4}
        assert ids(f"#flattr from:{bob}") == {4}
        assert ids("#flattr is:quote OR @flattrbot") == {2, 5}  # AND binds tighter
        assert ids("(#flattr OR @flattrbot) is:reply -is:retweet") == {1, 5}
        mentions = get(server, f"/2/users/{SERVICE}/mentions", "x-app-token", max_results=100)
        assert {int(p["id"]) - base for p in mentions.json()["data"]} == {5}
        assert get(server, "/2/tweets/search/recent", "x-app-token",
                   query="(#flattr").status_code == 400


def test_recent_search_finds_every_request_once_and_reads_little() -> None:
    scenario = generate_scenario(30, days=12, seed=3, rates=REALISTIC)
    with start_sandbox(scenario) as server:
        search = reader(server)
        start = server.now
        marks = {p["x"]["user_id"]: search.start_mark(start) for p in scenario["people"]}
        plan = search.plan({}, marks)
        assert set(plan) == {MENTIONS, "search:1", "search:2"}
        found, reads, until = _poll(server, search, plan, marks, days=12)
    expected = {(f"twitter:{p['x']['user_id']}", i)
                for p in scenario["people"]
                for _, i in expected_x(scenario, p, EXPLICIT, start, until)}
    assert len(found) == len(set(found))  # each once
    assert set(found) == expected and len(expected) > 50
    assert reads <= 1.5 * len(expected)


def test_a_restricted_query_reads_less_than_flattr_alone() -> None:
    scenario = generate_scenario(20, days=8, seed=5, rates=REALISTIC)
    reads = {}
    for restricted in (True, False):
        with start_sandbox(scenario) as server:
            search = reader(server, restricted=restricted)
            marks = {p["x"]["user_id"]: search.start_mark(server.now)
                     for p in scenario["people"]}
            plan = search.plan({}, marks)
            found, reads[restricted], _ = _poll(server, search, plan, marks, days=8)
    assert reads[True] < reads[False]


def test_a_group_not_read_for_a_week_starts_from_the_window(caplog) -> None:
    scenario = generate_scenario(3, days=12, seed=6, rates=replace_explicit(3.0))
    with start_sandbox(scenario) as server:
        search = reader(server)
        marks = {p["x"]["user_id"]: search.start_mark(server.now) for p in scenario["people"]}
        group = {k: v for k, v in search.plan({}, marks).items() if k != MENTIONS}
        [(name, members)] = group.items()
        first = search.fetch(name, members, marks, None, server.now)
        server.advance(timedelta(days=9))
        with caplog.at_level(logging.WARNING):
            late = search.fetch(name, members, marks, first.cursor, server.now)
    assert late.status == "ok" and late.activities
    assert all(snowflake_time(a.external_id) > server.now - timedelta(days=7)
               for a in late.activities)
    assert "not read for over 7 days" in caplog.text


def replace_explicit(rate: float) -> Rates:
    from dataclasses import replace

    return replace(QUIET, explicit=rate)


def _poll(server: SandboxServer, search: XSearch, plan: dict, marks: dict,
          days: int) -> tuple[list, int, datetime]:
    cursors: dict = {}
    due = dict.fromkeys(plan, server.now)
    found: list = []
    reads = 0
    end = server.now + timedelta(days=days, hours=7)
    while server.now < end:
        for name, members in plan.items():
            if due[name] <= server.now:
                result = search.fetch(name, members, marks, cursors.get(name), server.now)
                assert result.status == "ok", result.error
                cursors[name], due[name] = result.cursor, result.next_poll_at
                assert result.next_poll_at <= server.now + timedelta(hours=6)
                found += [(a.actor, a.external_id) for a in result.activities]
                reads += result.posts_read
        server.set_now(min(due.values()))
    return found, reads, server.now


# -- the groups ---------------------------------------------------------------------------


def test_groups_stay_under_the_query_limit_and_keep_their_members() -> None:
    search = XSearch(bearer_token="t", service_handle="flattrbot", service_user_id=SERVICE)
    users = [str(1_900_000_000_000_000_000 + n * 7919) for n in range(60)]  # 19 digits
    plan = search.plan({}, dict.fromkeys(users, "1"))
    groups = {k: v for k, v in plan.items() if k != MENTIONS}
    assert plan[MENTIONS] == {}
    assert all(len(search_query(m)) <= 512 for m in groups.values())
    assert sum(len(m) for m in groups.values()) == 60 and len(groups) == 4
    assert len(search_query(users[:17])) > 512  # 16 fit in a self-serve query
    # One leaves, two join: nobody else moves; the joiners fill the room first.
    wanted = dict.fromkeys(users[1:] + ["42", "43"], "1")
    again = search.plan(plan, wanted)
    for name, members in groups.items():
        assert set(members) - {users[0]} <= set(again[name])
    assert {"42", "43"} <= set(again["search:1"]) | set(again["search:4"])
    assert search.plan(again, wanted) == again  # stable
    assert search.plan(again, {}) == {}
    roomy = XSearch(bearer_token="t", query_limit=4096)
    assert len(roomy.plan({}, dict.fromkeys(users, "1"))) == 1  # no mentions: no user id


def test_without_the_service_user_id_the_query_asks_for_its_mentions() -> None:
    search = XSearch(bearer_token="t", service_handle="@flattrbot")
    plan = search.plan({}, {"1": "5"})
    assert plan == {"search:1": {"1": "5"}}
    assert search_query(["1"], mention="flattrbot").startswith("(#flattr OR @flattrbot) ")


# -- tweepy's recorded cassettes ----------------------------------------------------------


@pytest.mark.parametrize(("name", "path", "count"), [
    ("test_client_search_recent_tweets.yaml", "/2/tweets/search/recent", 10),
    ("test_client_get_users_mentions.yaml", "/2/users/783214/mentions", 10),
])
def test_tweepys_recorded_search_and_mentions_parse(name: str, path: str, count: int,
                                                    spec: dict) -> None:
    [interaction] = yaml.safe_load((CASSETTES / name).read_text())["interactions"]
    raw = interaction["response"]["body"]["string"]
    headers = {k: v[0] for k, v in interaction["response"]["headers"].items()}
    body = json.loads(raw)
    now = datetime(2022, 10, 8, tzinfo=UTC)
    # Default fields only: no author, no references, so nothing is a request.
    assert len(body["data"]) == count and parse_requests(body, now, "twitter") == []
    recorded = requests.Response()
    recorded.status_code, recorded._content = 200, raw.encode()
    recorded.headers.update(headers)
    validate(spec, "GET", path, recorded)
    session, adapter = replay_session(raw.encode(), headers=headers)
    search = XSearch(bearer_token="t", service_handle="Twitter", service_user_id="783214",
                     session=session, max_pages=2)
    members = {"2244994945": "1"}
    stream = MENTIONS if "mentions" in path else "search:1"
    result = search.fetch(stream, members, members, None, now)
    assert result.status == "ok" and result.activities == []
    assert result.posts_read == 2 * count and result.cursor["read"]["rl_remaining"] == 448
    sent = adapter.requests[0].url
    assert sent.startswith("https://api.twitter.com" + path)
    parser = registry.get("x").parsers["search_recent" if "search" in path else "users_mentions"]
    assert parser(ParseRequest(body, "1", now, EXPLICIT, "twitter")) == []


def test_the_sandbox_builds_new_ids_from_the_clock() -> None:
    """B2's bug: a new post's id was the highest id + 1, counting posts dated later."""
    scenario = generate_scenario(2, days=4, seed=9, rates=QUIET)
    person = scenario["people"][0]
    me, token = person["x"]["user_id"], person["x"]["token"]
    start = datetime.fromisoformat(scenario["start"])
    later = start + timedelta(days=2)
    scenario["x_posts"].append(_post(snowflake_at(later), me, later, "Coffee"))
    with start_sandbox(scenario) as server:
        server.advance(timedelta(hours=1))
        posted = requests.post(server.base_url + "/2/tweets", json={"text": "I flattred"},
                               headers={"Authorization": f"Bearer {token}"}, timeout=5)
        new_id = posted.json()["data"]["id"]
        assert abs(snowflake_time(new_id) - server.now) < timedelta(seconds=1)
        assert int(new_id) < snowflake_at(later)
        server.advance(timedelta(days=3))
        timeline = get(server, f"/2/users/{me}/tweets", token, since_id=new_id).json()
    assert [p["text"] for p in timeline["data"]] == ["Coffee"]
