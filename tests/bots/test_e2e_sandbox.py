"""The real tweepy and facebook-sdk clients poll the sandbox over HTTP, through every fault
the sandbox can inject; every activity must appear exactly once after recovery."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from bots.base import FetchResult, LinkedAccount
from bots.facebook.adapter import FacebookNetwork
from bots.pacing import MAX_IDLE_DELAY
from bots.sandbox import SandboxServer, generate_scenario, start_sandbox
from bots.x.adapter import XNetwork
from tests.bots.conftest import expected_facebook, expected_x

ALL = frozenset({"likes", "reposts", "explicit"})
STEP = timedelta(hours=3)


def x_account(person: dict) -> LinkedAccount:
    return LinkedAccount("x", person["x"]["user_id"], person["x"]["token"], person["x"]["username"])


def fb_account(person: dict) -> LinkedAccount:
    return LinkedAccount("facebook", person["facebook"]["user_id"], person["facebook"]["token"])


def poll_until(server: SandboxServer, network, account, cursor, until, faults_at=None):
    """Poll whenever due, advancing the sandbox clock, until every stream has been polled
    after `until` (the scenario's end: nothing happens later); returns every result."""
    results: list[FetchResult] = []
    next_at = server.now
    step = 0
    while server.now <= until + 2 * MAX_IDLE_DELAY + STEP:
        if server.now >= next_at:
            if faults_at:
                faults_at(len(results), server)
            result = network.fetch_activity(account, cursor, server.now)
            results.append(result)
            cursor, next_at = result.cursor, result.next_poll_at
        server.advance(
            STEP
            if server.now + STEP <= max(next_at, server.now + timedelta(minutes=1))
            else max(next_at - server.now, timedelta(minutes=1))
        )
        step += 1
    return cursor, results


def keys(results: list[FetchResult]) -> Counter:
    return Counter((a.action, a.external_id) for r in results for a in r.activities)


@pytest.mark.parametrize("triggers", [ALL, frozenset({"explicit"})])
def test_x_month_without_faults_finds_each_activity_once(triggers):
    scenario = generate_scenario(2, days=8, seed=5)
    with start_sandbox(scenario) as server:
        network = XNetwork(
            triggers=triggers, service_handle="flattrbot", api_base_url=server.base_url
        )
        person = scenario["people"][0]
        connected = server.now
        until = connected + timedelta(days=8)
        _, results = poll_until(server, network, x_account(person), None, until)
    found = keys(results)
    assert all(n == 1 for n in found.values()), found.most_common(3)
    assert set(found) == expected_x(scenario, person, triggers, connected, until)
    assert {r.status for r in results} == {"ok"}
    assert results[0].activities == []  # the first poll only records the watermark


FAULTS = [
    ("status", {"status": 503}, "retry"),
    ("status", {"status": 500}, "retry"),
    ("status", {"status": 502}, "retry"),
    ("rate_limit", {"reset_in_s": 900}, "retry"),
    ("malformed", {}, "error"),
    ("truncated", {}, "error"),
    ("disconnect", {}, "retry"),
    ("revoked", {}, "needs_reconnect"),
    ("latency", {"latency_ms": 400}, "retry"),  # beyond the client's read timeout
]


def _fault_schedule(kind: str, options: dict, path: str):
    def schedule(polls: int, server: SandboxServer) -> None:
        if polls == 3:  # after the watermark and a couple of normal polls
            server.add_fault(kind, path=path, **options)
        # Three polls under the fault; one for a dead token (it waits MAX_IDLE_DELAY:
        # nothing works until the person reconnects, here: until the fault goes).
        if polls == (4 if kind == "revoked" else 6):
            server.clear_faults()

    return schedule


@pytest.mark.parametrize(
    ("kind", "options", "status"), FAULTS, ids=[f"{k}-{o.get('status', '')}" for k, o, _ in FAULTS]
)
def test_x_recovers_from_fault_without_loss_or_repeat(kind, options, status):
    scenario = generate_scenario(2, days=5, seed=21, rates=_busy())
    with start_sandbox(scenario) as server:
        network = XNetwork(
            triggers=ALL,
            service_handle="flattrbot",
            api_base_url=server.base_url,
            timeout=(1.0, 0.25),
            max_page_size=5,
        )
        person = scenario["people"][1]
        connected = server.now
        until = connected + timedelta(days=5)
        _, results = poll_until(
            server,
            network,
            x_account(person),
            None,
            until,
            _fault_schedule(kind, options, r"^/2/users/\d+/"),
        )
    found = keys(results)
    assert all(n == 1 for n in found.values()), found.most_common(3)
    assert set(found) == expected_x(scenario, person, ALL, connected, until)
    assert status in {r.status for r in results}


@pytest.mark.parametrize(
    ("kind", "options", "status"), FAULTS, ids=[f"{k}-{o.get('status', '')}" for k, o, _ in FAULTS]
)
def test_facebook_recovers_from_fault_without_loss_or_repeat(kind, options, status):
    scenario = generate_scenario(2, days=5, seed=22, rates=_busy())
    with start_sandbox(scenario) as server:
        network = FacebookNetwork(api_base_url=server.base_url, timeout=(1.0, 0.25), page_size=2)
        person = scenario["people"][0]
        connected = server.now
        until = connected + timedelta(days=5)
        _, results = poll_until(
            server,
            network,
            fb_account(person),
            None,
            until,
            _fault_schedule(kind, options, r"^/v\d+\.\d+/me/"),
        )
    found = keys(results)
    assert all(n == 1 for n in found.values()), found.most_common(3)
    assert set(found) == expected_facebook(scenario, person, connected, until)
    assert status in {r.status for r in results}


def test_x_second_page_failure_keeps_the_watermark():
    """Likes page 1 read, page 2 fails: nothing advances, the next poll finds all of them."""
    scenario = generate_scenario(1, days=4, seed=8, rates=_busy())
    with start_sandbox(scenario) as server:
        network = XNetwork(triggers=ALL, api_base_url=server.base_url, max_page_size=5)
        person = scenario["people"][0]
        account = x_account(person)
        connected = server.now
        first = network.fetch_activity(account, None, server.now)
        server.advance(timedelta(days=2))
        server.add_fault("status", path=r"liked_tweets\?.*pagination_token", status=503, times=1)
        failed = network.fetch_activity(account, first.cursor, server.now)
        assert failed.status == "retry"
        assert all(a.action != "like" for a in failed.activities)
        assert failed.cursor["likes"]["seen"] == first.cursor["likes"]["seen"]
        server.advance(timedelta(minutes=5))
        again = network.fetch_activity(account, failed.cursor, server.now)
        until = server.now
    likes = {a.external_id for a in again.activities if a.action == "like"}
    expected = {i for a, i in expected_x(scenario, person, ALL, connected, until) if a == "like"}
    assert len(expected) > 5 and likes == expected


def test_revoked_token_needs_reconnect_on_both_networks(sandbox: SandboxServer, small_scenario):
    person = small_scenario["people"][0]
    x = XNetwork(api_base_url=sandbox.base_url)
    fb = FacebookNetwork(api_base_url=sandbox.base_url)
    x_cursor = x.fetch_activity(x_account(person), None, sandbox.now).cursor
    fb_cursor = fb.fetch_activity(fb_account(person), None, sandbox.now).cursor
    sandbox.revoke_token(person["x"]["token"])
    sandbox.revoke_token(person["facebook"]["token"])
    sandbox.advance(timedelta(days=3))
    x_result = x.fetch_activity(x_account(person), x_cursor, sandbox.now)
    fb_result = fb.fetch_activity(fb_account(person), fb_cursor, sandbox.now)
    assert x_result.status == fb_result.status == "needs_reconnect"
    assert "190" in (fb_result.error or "") and "401" in (x_result.error or "")
    assert x_result.next_poll_at > sandbox.now


def test_rate_limit_sets_next_poll_at_the_reset(sandbox: SandboxServer, small_scenario):
    person = small_scenario["people"][0]
    x = XNetwork(triggers=ALL, api_base_url=sandbox.base_url)
    cursor = x.fetch_activity(x_account(person), None, sandbox.now).cursor
    sandbox.advance(timedelta(days=3))
    sandbox.add_fault("rate_limit", path="liked_tweets", reset_in_s=600)
    result = x.fetch_activity(x_account(person), cursor, sandbox.now)
    assert result.status == "retry"
    assert result.next_poll_at == sandbox.now + timedelta(seconds=600)


def test_usage_cap_waits_a_day(sandbox: SandboxServer, small_scenario):
    person = small_scenario["people"][0]
    x = XNetwork(api_base_url=sandbox.base_url)
    sandbox.add_fault("usage_capped")
    result = x.fetch_activity(x_account(person), None, sandbox.now)
    assert result.status == "retry" and result.next_poll_at >= sandbox.now + timedelta(hours=23)


def _busy():
    from bots.sandbox import Rates

    return Rates(
        likes=4,
        reposts=1,
        quotes=0.5,
        explicit=0.5,
        facebook_shares=2,
        facebook_page_likes_per_month=20,
    )
