"""Backfill reads each repository at its own PDS (named by the DID's document: the PLC
directory's or a did:web host's), paced by the process's request budget, and waits out a
429 until its RateLimit-Reset; through the sandbox's DID documents and its several PDSes."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import requests
from atproto_client.exceptions import BadRequestError

from bots import networks
from bots.base import StreamAccount
from bots.bluesky import LIKE
from bots.bluesky.budget import RequestBudget
from bots.bluesky.consumer import Jetstream
from bots.bluesky.did import DidUnresolved, PdsDirectory
from bots.bluesky.ids import tid_at
from bots.bluesky.sandbox_world import bluesky_of
from bots.bluesky.xrpc import RateLimited, Xrpc
from bots.sandbox import SandboxServer, generate_scenario, start_sandbox
from bots.sandbox.services import describe

WEB_DID = "did:web:carol.web.example"


class FakeTime:
    """A clock and a sleep that moves it (the budget's waits cost no real time)."""

    def __init__(self) -> None:
        self.now, self.slept = 1000.0, []  # type: ignore[var-annotated]

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture(scope="module")
def scenario() -> dict:
    scenario = copy.deepcopy(generate_scenario(3, days=6, seed=5))
    sky = scenario["bluesky"]
    sky["accounts"].append({"did": WEB_DID, "handle": "carol.web.example", "pds": "pds-web"})
    post = sky["posts"][0]
    begin = datetime.fromisoformat(post["at"]) + timedelta(hours=1)
    for n in range(3):
        at = begin + timedelta(minutes=n)
        sky["likes"].append({"did": WEB_DID, "rkey": tid_at(at, n), "at": at.isoformat(),
                             "subject": f"at://{post['did']}/app.bsky.feed.post/{post['rkey']}"})
    return scenario


@pytest.fixture
def server(scenario: dict) -> Iterator[SandboxServer]:
    networks.install()
    with start_sandbox(scenario) as running:
        running.advance(timedelta(days=4))
        yield running


def _routed(server: SandboxServer, budget: RequestBudget | None = None) -> Xrpc:
    services = server.services
    directory = PdsDirectory(services["bluesky.plc"], did_web_base=services["bluesky.did_web"],
                             timeout=5)
    return Xrpc(server.base_url, server.base_url, timeout=5, directory=directory, budget=budget)


def test_each_did_is_listed_at_the_pds_its_document_names_and_the_answer_is_cached(
        scenario, server):
    alice, bob = (p["bluesky"]["did"] for p in scenario["people"][:2])
    xrpc = _routed(server)
    try:
        directory = xrpc.directory
        assert directory is not None
        assert directory.pds_of(alice).endswith("/pds/pds-a")
        assert directory.pds_of(bob).endswith("/pds/pds-b")
        assert directory.pds_of(WEB_DID).endswith("/pds/pds-web")  # from the did:web host
        assert xrpc.list_records(alice, LIKE)["records"]
        assert len(xrpc.list_records(WEB_DID, LIKE)["records"]) == 3
        lookups = directory.lookups
        xrpc.list_records(alice, LIKE)
        assert directory.lookups == lookups  # cached
        with pytest.raises(DidUnresolved):
            directory.pds_of("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa")  # the directory has no such DID
    finally:
        xrpc.close()
    fixed = Xrpc(server.base_url, server.base_url, timeout=5)  # one host for everybody
    try:
        with pytest.raises(BadRequestError):  # the root PDS does not hold alice's repository
            fixed.list_records(alice, LIKE)
    finally:
        fixed.close()


def test_a_backfill_finds_the_likes_of_repositories_on_different_pdses(scenario, server):
    people = [p["bluesky"]["did"] for p in scenario["people"]] + [WEB_DID]
    accounts = {did: StreamAccount(did, frozenset({"like"})) for did in people}
    source = Jetstream(server.services["bluesky.jetstream"], _routed(server))
    try:
        since = server.now - timedelta(days=30)
        batch = source.backfill(accounts, since, since, server.now)
    finally:
        source.close()
    actors = {a.actor for a in batch.activities}
    repos = bluesky_of(server.world).repos
    assert actors == {f"bluesky:{did}" for did in people
                      if any(r.exists(server.now) for r in repos.get((did, LIKE), []))}
    assert f"bluesky:{WEB_DID}" in actors
    assert batch.complete == {f"bluesky:{did}" for did in people}


def test_a_backfill_counts_a_repository_it_could_not_list_as_not_listed(scenario, server):
    alice = scenario["people"][0]["bluesky"]["did"]
    gone = "did:plc:zzzzzzzzzzzzzzzzzzzzzzzz"  # PLC answers 404
    accounts = {d: StreamAccount(d, frozenset({"like"})) for d in (alice, gone)}
    source = Jetstream(server.services["bluesky.jetstream"], _routed(server))
    try:
        since = server.now - timedelta(days=30)
        batch = source.backfill(accounts, since, since, server.now)
    finally:
        source.close()
    assert batch.complete == {f"bluesky:{alice}"}


def test_the_budget_keeps_under_its_limit_in_every_window():
    time = FakeTime()
    budget = RequestBudget(5, 10.0, clock=time.clock, sleep=time.sleep)
    sent = []
    for _ in range(12):
        budget.take()
        sent.append(time.now)
    assert all(sum(1 for s in sent if start <= s < start + 10.0) <= 5 for start in sent)
    assert sent[-1] - sent[0] >= 20.0  # twelve at five per ten seconds


def test_a_429_from_a_users_pds_waits_for_that_host_only_and_the_backfill_completes(
        scenario, server):
    alice = scenario["people"][0]["bluesky"]["did"]
    time = FakeTime()
    budget = RequestBudget(3000, clock=time.clock, sleep=time.sleep)
    source = Jetstream(server.services["bluesky.jetstream"], _routed(server, budget),
                       sleep=time.sleep)
    server.add_fault("rate_limit", path="listRecords", times=2)
    try:
        since = server.now - timedelta(days=30)
        batch = source.backfill({alice: StreamAccount(alice, frozenset({"like"}))}, since,
                                since, server.now)
    finally:
        source.close()
    assert batch.activities  # nothing lost to the 429s
    assert len(time.slept) == 2 and all(0.5 < s <= 2.0 for s in time.slept)  # the reset
    assert budget.waited == 0  # every other call went on


def test_a_429_from_the_configured_pds_pauses_every_call(scenario, server):
    alice = scenario["people"][0]["bluesky"]["did"]
    time = FakeTime()
    budget = RequestBudget(3000, clock=time.clock, sleep=time.sleep)
    services = server.services
    home = PdsDirectory(services["bluesky.plc"], did_web_base=services["bluesky.did_web"],
                        timeout=5).pds_of(alice)
    xrpc = Xrpc(server.base_url, home, timeout=5, budget=budget)  # no directory: home
    server.add_fault("rate_limit", path="listRecords", times=1)
    try:
        with pytest.raises(RateLimited) as limited:
            xrpc.list_records(alice, LIKE)
        assert limited.value.paused
        assert xrpc.list_records(alice, LIKE)["records"]
    finally:
        xrpc.close()
    assert 0.5 < budget.waited <= 2.0


def test_a_backfill_skips_a_repository_whose_pds_keeps_failing(scenario, server):
    people = [p["bluesky"]["did"] for p in scenario["people"]] + [WEB_DID]
    accounts = {did: StreamAccount(did, frozenset({"like"})) for did in people}
    source = Jetstream(server.services["bluesky.jetstream"], _routed(server),
                       sleep=FakeTime().sleep)
    server.add_fault("status", path="listRecords.*carol", status=502)
    try:
        since = server.now - timedelta(days=30)
        batch = source.backfill(accounts, since, since, server.now)
    finally:
        source.close()
    assert batch.complete == {f"bluesky:{did}" for did in people if did != WEB_DID}
    assert f"bluesky:{WEB_DID}" not in {a.actor for a in batch.activities}


def test_the_sandbox_names_every_bluesky_service_beside_the_other_networks(server):
    listed = requests.get(f"{server.base_url}/_sandbox/services", timeout=5).json()["services"]
    assert {"bluesky.jetstream", "bluesky.xrpc", "bluesky.plc", "bluesky.did_web",
            "bluesky.pds.pds-a", "bluesky.pds.pds-b"} <= set(listed)
    text = "\n".join(describe(server))
    for needle in ("X API v2", "Facebook Graph", "Mastodon", "Jetstream", "ws://",
                   f"{server.base_url}/pds/pds-a", "Bluesky XRPC", "PLC"):
        assert needle in text
