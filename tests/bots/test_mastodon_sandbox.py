"""Issue 14, step 2: the adapter, on the real Mastodon.py client, against sandbox instances
over loopback: two instances, favourites paged by `Link`, boosts and #flattr replies,
rate limits, a revoked token, an instance that is down or slow."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from bots import networks
from bots.base import LinkedAccount
from bots.mastodon.adapter import MastodonNetwork
from bots.mastodon.scenario import SERVICE, SERVICE_ACCT, MastodonRates, add_mastodon
from bots.sandbox import SandboxServer, generate_scenario, start_sandbox
from tests.bots.mastodon_oracle import as_expected, expected_activities

SERVICE_KEY = f"{SERVICE['host']}:{SERVICE['id']}"


def scenario(people: int, days: int, seed: int, rates: MastodonRates | None = None,
             creators: int | None = None) -> dict:
    found = generate_scenario(people, days=days, seed=seed, n_creators=creators)
    return add_mastodon(found, seed=seed, days=days, rates=rates or MastodonRates())


@pytest.fixture
def server(request) -> Iterator[SandboxServer]:  # type: ignore[no-untyped-def]
    networks.install()
    spec = getattr(request, "param", None) or scenario(3, days=6, seed=3)
    with start_sandbox(spec) as running:
        running.spec = spec  # type: ignore[attr-defined]
        yield running


def network(server: SandboxServer, **options) -> MastodonNetwork:  # type: ignore[no-untyped-def]
    return MastodonNetwork(api_base_url=server.base_url, service=SERVICE_KEY,
                           service_acct=SERVICE_ACCT, **options)


def accounts(spec: dict) -> dict[str, LinkedAccount]:
    return {p["key"]: LinkedAccount("mastodon", f"{p['mastodon']['host']}:{p['mastodon']['id']}",
                                    p["mastodon"]["token"]) for p in spec["people"]}


def play(server: SandboxServer, net: MastodonNetwork, until: datetime,
         cursors: dict[str, dict | None] | None = None, step=timedelta(hours=1)):  # type: ignore[no-untyped-def]
    """Poll every account whenever it is due, hour by hour, then once more at `until`
    with every stream due: what a month's polling finds."""
    linked = accounts(server.spec)  # type: ignore[attr-defined]
    cursors = cursors if cursors is not None else dict.fromkeys(linked)
    due = dict.fromkeys(linked, server.now)
    found, statuses = set(), []
    while True:
        now = server.now
        for key, account in linked.items():
            if due[key] <= now or now >= until:
                woken = replace(account, wake=True) if now >= until else account
                result = net.fetch_activity(woken, cursors[key], now)
                cursors[key], due[key] = result.cursor, result.next_poll_at
                statuses.append(result.status)
                found |= {as_expected(key, a) for a in result.activities}
        if now >= until:
            return found, cursors, statuses
        server.set_now(min(now + step, until))


def test_two_instances_yield_what_the_scenario_holds_and_nothing_from_before(server):
    start = server.now
    net = network(server)
    found, cursors, statuses = play(server, net, start + timedelta(days=6))
    expected = expected_activities(server.spec, start, start + timedelta(days=6))
    assert {e[1] for e in expected} == {"favourite", "boost", "explicit"}
    assert {e[4].split(":")[1] for e in expected} == {"social.example", "fedi.example"}
    assert found == expected
    assert set(statuses) == {"ok"}
    # Favourites are paged by their internal ids (Link), statuses by status ids.
    for cursor in cursors.values():
        assert cursor["favourites"]["min_id"] != cursor["statuses"]["min_id"]


BUSY = scenario(1, days=4, seed=9, rates=MastodonRates(favourites=40, boosts=0.5), creators=40)


@pytest.mark.parametrize("server", [BUSY], indirect=True)
def test_a_backlog_of_favourites_is_read_forward_page_by_page(server):
    net = network(server)
    (account,) = accounts(server.spec).values()
    first = net.fetch_activity(account, None, server.now)
    since = server.now
    server.set_now(since + timedelta(days=3))
    result = net.fetch_activity(replace(account, wake=True), first.cursor, server.now)
    new = [a for a in result.activities if a.action == "favourite"]
    assert len(new) > 2 * 40
    expected = {e for e in expected_activities(server.spec, since, server.now)
                if e[1] == "favourite"}
    assert {as_expected("alice", a) for a in new} == expected
    explicit = sum(1 for a in result.activities if a.action == "explicit")
    # Favourite pages of 40, oldest first; one page of statuses; each #flattr reply's original.
    assert result.requests == (len(new) // 40 + 1) + 1 + explicit
    again = net.fetch_activity(replace(account, wake=True), result.cursor, server.now)
    assert again.activities == [] and again.posts_read == 0


def test_a_rate_limit_becomes_the_next_poll_time_and_loses_nothing(server):
    start = server.now
    net = network(server)
    calm, _, _ = play(server, net, start + timedelta(days=6))
    for key in list(server.world.extensions):
        server.world.extensions.pop(key)
    server.world.windows.clear()
    server.set_now(start)
    server.add_fault("rate_limit", path=r"^/mastodon/fedi\.example/api/v1/favourites", times=3,
                     reset_in_s=600)
    limited, _, statuses = play(server, network(server), start + timedelta(days=6))
    assert "retry" in statuses
    assert limited == calm


def test_rate_limit_headers_are_read_and_a_429_waits_for_the_reset(server):
    net = network(server)
    account = accounts(server.spec)["alice"]
    first = net.fetch_activity(account, None, server.now)
    assert first.cursor["statuses"]["rl_remaining"] == 298  # two requests of 300
    server.add_fault("rate_limit", path="/api/v1/", times=2, reset_in_s=240)
    limited = net.fetch_activity(replace(account, wake=True), first.cursor, server.now)
    assert limited.status == "retry" and "rate limited" in (limited.error or "")
    assert limited.next_poll_at == server.now + timedelta(seconds=241)
    assert limited.cursor["favourites"]["min_id"] == first.cursor["favourites"]["min_id"]


def test_a_revoked_token_needs_a_reconnect(server):
    net = network(server)
    account = accounts(server.spec)["bob"]
    first = net.fetch_activity(account, None, server.now)
    server.revoke_token(account.access_token)
    result = net.fetch_activity(replace(account, wake=True), first.cursor, server.now)
    assert result.status == "needs_reconnect" and "token rejected" in (result.error or "")
    wrong_instance = replace(account, external_user_id="social.example:200001")
    assert net.fetch_activity(wrong_instance, None, server.now).status == "needs_reconnect"


def test_an_instance_that_times_out_is_paused_and_holds_up_nobody(server):
    net = network(server, timeout=0.4)
    linked = accounts(server.spec)  # alice and carol on social.example, bob on fedi.example
    cursors = {k: net.fetch_activity(a, None, server.now).cursor for k, a in linked.items()}
    server.add_fault("latency", path=r"^/mastodon/fedi\.example/", latency_ms=1500)
    server.set_now(server.now + timedelta(days=2))
    slow = time.monotonic()
    bob = net.fetch_activity(replace(linked["bob"], wake=True), cursors["bob"], server.now)
    assert time.monotonic() - slow < 1.5
    assert bob.status == "retry" and "unreachable" in (bob.error or "")
    paused_until = bob.next_poll_at
    assert paused_until > server.now
    other = replace(linked["bob"], external_user_id="fedi.example:200003")
    quick = time.monotonic()
    assert net.fetch_activity(other, None, server.now).status == "retry"
    assert time.monotonic() - quick < 0.1  # no request: the instance is paused
    alice = net.fetch_activity(replace(linked["alice"], wake=True), cursors["alice"], server.now)
    assert alice.status == "ok"
    server.clear_faults()
    server.set_now(paused_until)
    again = net.fetch_activity(replace(linked["bob"], wake=True), cursors["bob"], server.now)
    assert again.status == "ok"


def test_server_errors_retry_and_garbage_is_an_error(server):
    net = network(server)
    account = accounts(server.spec)["alice"]
    first = net.fetch_activity(account, None, server.now)
    server.add_fault("status", status=502, path="/api/v1/favourites", times=1)
    broken = net.fetch_activity(replace(account, wake=True), first.cursor, server.now)
    assert broken.status == "retry" and "server error" in (broken.error or "")
    server.add_fault("malformed", path="/api/v1/favourites", times=1)
    garbled = net.fetch_activity(replace(account, wake=True), first.cursor, server.now)
    assert garbled.status == "error"
    assert garbled.cursor["favourites"]["min_id"] == first.cursor["favourites"]["min_id"]
