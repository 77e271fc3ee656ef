"""A network added through the registry alone (issue 12): a toy adapter and its sandbox
handler live in this file, nothing outside it changes, and the worker links, polls and
flattrs through it like through X or Facebook: its triggers filter its activities, and a
refused token moves the account to needs_reconnect with one notice (core.accounts)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from bots import registry
from bots.base import DeliveryResult, FetchResult, LinkedAccount, OutgoingMessage
from bots.registry import AdapterContext, NetworkSpec, ParseRequest, SandboxHandler, Trigger
from bots.sandbox import SandboxServer, generate_scenario, start_sandbox
from bots.sandbox.faults import Fault
from bots.sandbox.replies import Reply, json_reply
from bots.sandbox.request import Request
from bots.sandbox.world import World
from config import Settings
from core import identity, people
from core.accounts import NEEDS_RECONNECT, link_account
from core.activity import Activity, Target
from core.crypto import generate_key
from core.db import Database
from core.identity import Scheme
from core.models import Notification, SocialAccount
from jobs.worker import Worker
from runtime.app import App, rules_from

TOY = "toy"
HEARTS = {"alice": ["https://example.org/song", "https://example.org/poem"]}
SHRUGS = {"alice": ["https://example.org/meh"]}  # an action no trigger lets through


# -- the network's own folder, in miniature -------------------------------------------------


def _parse_hearts(request: ParseRequest) -> list[Activity]:
    return [Activity(network=TOY, action=action, external_id=url, actor=request.actor,
                     occurred_at=request.now,
                     targets=(Target(url=url, identity=str(identity.url(url))),))
            for action, key in (("heart", "hearts"), ("shrug", "shrugs"))
            for url in request.body.get(key, [])]


class ToyNetwork:
    name = TOY

    def __init__(self, context: AdapterContext) -> None:
        self.base_url = context.api_base_url

    def fetch_activity(self, account: LinkedAccount, cursor: dict | None,
                       now: datetime) -> FetchResult:
        response = requests.get(f"{self.base_url}/toy/hearts/{account.external_user_id}",
                                headers={"Authorization": f"Bearer {account.access_token}"},
                                timeout=5)
        if response.status_code == 401:
            return FetchResult([], cursor or {}, now + timedelta(hours=1), "needs_reconnect",
                               error="toy: who are you?", requests=1)
        seen = set((cursor or {}).get("seen", []))
        actor = str(identity.account(TOY, account.external_user_id))
        found = _parse_hearts(ParseRequest(response.json(), actor, now, frozenset({"hearts"})))
        fresh = [a for a in found if a.external_id not in seen]
        return FetchResult(fresh, {"seen": sorted(seen | {a.external_id for a in found})},
                           now + timedelta(minutes=5), "ok", requests=1)

    def post(self, message: OutgoingMessage, sender: LinkedAccount) -> DeliveryResult:
        return DeliveryResult(ok=False, error="toys do not talk")


def _route(world: World, request: Request) -> Reply | None:
    prefix = "/toy/hearts/"
    if not request.path.startswith(prefix):
        return None
    user = request.path.removeprefix(prefix)
    if request.bearer != f"toy-token-{user}":
        return json_reply(401, {"error": "who are you?"})
    return json_reply(200, {"hearts": HEARTS.get(user, []), "shrugs": SHRUGS.get(user, [])})


def _fault(fault: Fault, now: datetime) -> Reply | None:
    return json_reply(503, {"error": fault.kind}) if fault.kind == "status" else None


SPEC = NetworkSpec(
    name=TOY, display_name="Toy",
    schemes=(Scheme("toy:", TOY, "user", r"[a-z]{1,20}", account=True),),
    triggers=(Trigger("hearts", frozenset({"heart"}), default=True),),
    adapter=ToyNetwork,
    parsers={"hearts": _parse_hearts},
    sandbox=SandboxHandler(owns=lambda path: path.startswith("/toy/"), route=_route,
                           fault=_fault),
)


# -- the test ---------------------------------------------------------------------------


@pytest.fixture
def toy() -> Iterator[NetworkSpec]:
    registry.register(SPEC)
    yield SPEC
    registry.unregister(TOY)


@pytest.fixture
def sandbox(toy: NetworkSpec, clock) -> Iterator[SandboxServer]:  # type: ignore[no-untyped-def]
    scenario = generate_scenario(1, days=2, seed=3)
    clock.set(datetime.fromisoformat(scenario["start"]))
    with start_sandbox(scenario, clock=clock) as server:
        yield server


def test_a_toy_network_links_polls_and_flattrs(database_url: str, db: Database, clock,  # type: ignore[no-untyped-def]
                                                sandbox: SandboxServer) -> None:
    settings = Settings(database_url=database_url, sandbox_url=sandbox.base_url,
                        token_keys=generate_key())
    app = App(settings=settings, db=db, rules=rules_from(settings), clock=clock)
    with app.db.unit_of_work() as session:
        alice = people.add_person(session, app.rules, "alice", 1000, 5000, now=clock.now)
        account = link_account(session, app.keys, person_id=alice.id, network=TOY,
                               external_user_id="alice", token="toy-token-alice", now=clock.now)
        assert account.identity == "toy:alice"
    worker = Worker(app, api_base_url=sandbox.base_url, owner="toy-test", ordered=True)
    try:
        first = worker.poll()
        clock.advance(minutes=10)
        again = worker.poll()
    finally:
        worker.close()
    assert (first.polled, first.activities, first.flattrs) == (1, 2, 2)
    assert (again.polled, again.flattrs) == (1, 0)  # the cursor remembers what was seen
    with app.db.unit_of_work() as session:
        cursor = json.loads(session.execute(select(SocialAccount.cursor)).scalar_one())
    assert cursor == {"seen": sorted(HEARTS["alice"] + SHRUGS["alice"])}
    # A token the toy refuses: the account waits for its person, who is told once.
    with app.db.unit_of_work() as session:
        link_account(session, app.keys, person_id=alice.id, network=TOY,
                     external_user_id="alice", token="stale", now=clock.now)
    worker = Worker(app, api_base_url=sandbox.base_url, owner="toy-test", ordered=True)
    try:
        refused = worker.poll()
        clock.advance(hours=2)
        assert worker.poll().polled == 0  # nothing is polled until it is relinked
    finally:
        worker.close()
    assert refused.statuses == {"needs_reconnect": 1}
    with app.db.unit_of_work() as session:
        assert session.execute(select(SocialAccount.status)).scalar_one() == NEEDS_RECONNECT
        kinds = session.execute(select(Notification.kind)).scalars().all()
    assert kinds == ["needs_reconnect"]


def test_a_toy_network_is_known_everywhere_while_registered(toy: NetworkSpec) -> None:
    assert str(identity.parse("toy:bob")) == "toy:bob"
    assert registry.get(TOY).enabled_triggers(Settings()) == {"hearts"}
    registry.unregister(TOY)
    with pytest.raises(registry.UnknownNetwork):
        registry.get(TOY)
    with pytest.raises(identity.InvalidIdentity):
        identity.parse("toy:bob")
    registry.register(SPEC)  # for the fixture's own unregister
