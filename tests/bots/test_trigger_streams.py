"""An adapter reads only the streams its account's effective triggers need (the worker
tells every network the same way: AdapterContext.triggers), and a stream switched off and
on again flattrs nothing done while it was off."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from bots.base import LinkedAccount
from bots.facebook.adapter import FacebookNetwork
from bots.polling import run_streams
from bots.sandbox import Rates, SandboxServer, generate_scenario, start_sandbox
from bots.transport import new_session
from bots.x.adapter import XNetwork
from tests.bots.conftest import expected_facebook, expected_x
from tests.bots.test_e2e_sandbox import fb_account, keys, poll_until, x_account

BUSY = Rates(likes=6, reposts=1, quotes=0.3, explicit=0.5, facebook_page_likes_per_month=60,
             facebook_shares=3, facebook_statuses=0.5)
FB_ALL = frozenset({"page_likes", "shared_links"})
X_ALL = frozenset({"likes", "reposts", "explicit"})


def _recording(server: SandboxServer) -> tuple[list[str], object]:
    """A real session against the sandbox that remembers every path it requested."""
    paths: list[str] = []
    session = new_session(server.base_url)
    session.hooks["response"].append(lambda r, *a, **k: paths.append(urlsplit(r.url).path))
    return paths, session


@pytest.mark.parametrize(("triggers", "read", "unread", "action"), [
    (frozenset({"page_likes"}), "/me/likes", "/me/posts", "page_like"),
    (frozenset({"shared_links"}), "/me/posts", "/me/likes", "share"),
])
def test_facebook_reads_only_the_stream_its_triggers_need(triggers, read, unread, action):
    scenario = generate_scenario(2, days=5, seed=31, rates=BUSY)
    with start_sandbox(scenario) as server:
        paths, session = _recording(server)
        network = FacebookNetwork(triggers=triggers, session=session)
        person = scenario["people"][0]
        connected, until = server.now, server.now + timedelta(days=5)
        _, results = poll_until(server, network, fb_account(person), None, until)
    assert any(p.endswith(read) for p in paths)
    assert not any(p.endswith(unread) for p in paths)
    wanted = {k for k in expected_facebook(scenario, person, connected, until) if k[0] == action}
    assert wanted and set(keys(results)) == wanted


def test_facebook_with_no_trigger_on_reads_nothing_and_waits_the_idle_pace():
    scenario = generate_scenario(1, days=2, seed=31, rates=BUSY)
    with start_sandbox(scenario) as server:
        paths, session = _recording(server)
        network = FacebookNetwork(triggers=frozenset(), session=session)
        result = network.fetch_activity(fb_account(scenario["people"][0]), None, server.now)
    assert paths == [] and result.status == "ok" and result.requests == 0
    assert result.next_poll_at > server.now + timedelta(hours=12)


def _switch_off_and_on(server, network_for, account, until):
    """Poll with every trigger for two days, with one off for two days, then every one
    again; returns the results of each phase and when the trigger went off and on."""
    start = server.now
    off_at, on_at = start + timedelta(days=2), start + timedelta(days=4)
    cursor, first = poll_until_time(server, network_for(True), account, None, off_at)
    cursor, _ = poll_until_time(server, network_for(False), account, cursor, on_at)
    switched_on = server.now  # the next poll starts the stream afresh
    _, last = poll_until(server, network_for(True), account, cursor, until)
    return first, last, off_at, switched_on


def poll_until_time(server, network, account, cursor, stop):
    results = []
    next_at = server.now
    while server.now < stop:
        if server.now >= next_at:
            result = network.fetch_activity(account, cursor, server.now)
            results.append(result)
            cursor, next_at = result.cursor, result.next_poll_at
        server.advance(timedelta(minutes=30))
    return cursor, results


def test_a_facebook_stream_switched_back_on_flattrs_nothing_done_while_it_was_off():
    scenario = generate_scenario(1, days=7, seed=32, rates=BUSY)
    person = scenario["people"][0]
    with start_sandbox(scenario) as server:
        session = new_session(server.base_url)
        connected, until = server.now, server.now + timedelta(days=7)

        def network_for(shares: bool) -> FacebookNetwork:
            on = FB_ALL if shares else frozenset({"page_likes"})
            return FacebookNetwork(triggers=on, session=session)

        first, last, off_at, on_at = _switch_off_and_on(server, network_for,
                                                        fb_account(person), until)
    shares = {k for r in first + last for k in keys([r]) if k[0] == "share"}
    before = {k for k in expected_facebook(scenario, person, connected, off_at)
              if k[0] == "share"}
    meanwhile = {k for k in expected_facebook(scenario, person, off_at, on_at)
                 if k[0] == "share"}
    after = {k for k in expected_facebook(scenario, person, on_at, until) if k[0] == "share"}
    assert meanwhile and after and not shares & meanwhile
    assert after <= shares <= before | after


def test_x_likes_switched_back_on_flattr_nothing_liked_while_off():
    scenario = generate_scenario(1, days=7, seed=33, rates=BUSY)
    person = scenario["people"][0]
    with start_sandbox(scenario) as server:
        session = new_session(server.base_url)
        connected, until = server.now, server.now + timedelta(days=7)

        def network_for(likes: bool) -> XNetwork:
            on = X_ALL if likes else X_ALL - {"likes"}
            return XNetwork(triggers=on, session=session)

        first, last, off_at, on_at = _switch_off_and_on(server, network_for,
                                                        x_account(person), until)
    liked = {k for r in first + last for k in keys([r]) if k[0] == "like"}

    def likes(since, to):
        return {k for k in expected_x(scenario, person, X_ALL, since, to) if k[0] == "like"}

    meanwhile, after = likes(off_at, on_at), likes(on_at, until)
    assert meanwhile and after and not liked & meanwhile
    assert after <= liked <= likes(connected, off_at) | after


def test_run_streams_forgets_the_streams_switched_off():
    account = LinkedAccount("toy", "1", "token")
    now = generate_scenario(1, days=1, seed=1)["start"]
    from datetime import datetime

    moment = datetime.fromisoformat(now)
    cursor = {"v": 1, "failures": 0, "likes": {"initialized": True, "watermark": "w"},
              "posts": {"initialized": True, "since": 5}}
    result = run_streams("toy", account, cursor, moment, {}, off=("likes",))
    assert "likes" not in result.cursor and result.cursor["posts"]["since"] == 5
    assert result.status == "ok" and result.activities == []
    assert cursor["likes"] == {"initialized": True, "watermark": "w"}  # the input is kept
