"""Issue 14, end to end: Mastodon people on two sandbox instances, polled for a month by
the real worker with the real Mastodon.py client. A disturbed month (one instance times
out for hours, rate limits, server errors, a token revoked and the account reconnected
three days later, its backlog read across several pages) flattrs exactly what an
undisturbed month does, and what the scenario says it should."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bots import pacing
from bots.mastodon.scenario import SERVICE, SERVICE_ACCT, MastodonRates, add_mastodon
from bots.sandbox import SandboxServer, generate_scenario, start_sandbox
from bots.sandbox.world import Grant
from config import Settings
from core import people
from core.accounts import link_account
from core.db import Database
from jobs.worker import Worker
from runtime.app import App, rules_from
from tests.bots.mastodon_oracle import expected
from tests.conftest import FakeClock, _empty_postgres
from tests.jobs.conftest import TOKEN_KEY

DAYS = 8
RATES = MastodonRates(favourites=25, boosts=1, explicit=0.5, originals=0.5)
REVOKED, RECONNECTED = 40, 110  # hours into the month: bob's token


def month() -> dict:
    scenario = generate_scenario(3, days=DAYS, seed=14, n_creators=40)
    return add_mastodon(scenario, seed=14, days=DAYS, rates=RATES)


@dataclass
class Run:
    flattrs: set[tuple[str, str, str]]  # person, thing URL, who holds it
    activities: set[tuple[str, str, str]]  # person, action, external id
    statuses: dict[str, int]
    requests: int


def play(database_url: str, scenario: dict, *, disturbed: bool) -> Run:
    start = datetime.fromisoformat(scenario["start"])
    clock = FakeClock(start)
    with start_sandbox(scenario, clock=clock) as sandbox:
        settings = Settings(database_url=database_url, networks="sandbox",
                            sandbox_url=sandbox.base_url, token_keys=TOKEN_KEY,
                            mastodon_timeout_seconds=0.4, mastodon_service_account=SERVICE_ACCT,
                            mastodon_service_user_id=SERVICE["id"], poll_concurrency=4)
        db = Database(database_url)
        app = App(settings=settings, db=db, rules=rules_from(settings), clock=clock)
        ids = _link(app, scenario)
        worker = Worker(app, api_base_url=sandbox.base_url, owner="month", ordered=True)
        statuses: dict[str, int] = {}
        requests = 0
        try:
            end = start + timedelta(days=DAYS)
            while clock.now < end:
                if disturbed:
                    _disturb(sandbox, app, scenario, ids, clock.now - start)
                stats = worker.poll()
                requests += stats.requests
                for status, n in stats.statuses.items():
                    statuses[status] = statuses.get(status, 0) + n
                clock.set(min(clock.now + timedelta(hours=1), end))
            sandbox.clear_faults()
            # Every stream is due again within MAX_IDLE_DELAY: read what is left.
            clock.set(end + pacing.MAX_IDLE_DELAY + timedelta(hours=1))
            sandbox.world.set_now(end)  # nothing new appears after the month's end
            worker.poll()
        finally:
            worker.close()
        with db.engine.connect() as connection:
            flattrs = {(r[0], r[1], r[2]) for r in connection.execute(text(
                "SELECT p.name, t.url, t.identity FROM flattrs f JOIN things t ON t.id ="
                " f.thing_id JOIN people p ON p.id = f.person_id"))}
            activities = {(r[0], r[1], r[2].rsplit(":", 1)[1]) for r in connection.execute(text(
                "SELECT p.name, a.action, a.key FROM activities a"
                " JOIN people p ON p.id = a.person_id"))}
        db.dispose()
    return Run(flattrs, activities, statuses, requests)


def _link(app: App, scenario: dict) -> dict[str, int]:
    ids = {}
    with app.db.unit_of_work() as session:
        for person in scenario["people"]:
            row = people.add_person(session, app.rules, person["key"], 1000, 5000,
                                    now=app.now())
            mine = person["mastodon"]
            account = link_account(session, app.keys, person_id=row.id, network="mastodon",
                                   external_user_id=f"{mine['host']}:{mine['id']}",
                                   token=mine["token"], now=app.now(), handle=mine["username"])
            ids[person["key"]] = account.id
    return ids


def _disturb(sandbox: SandboxServer, app: App, scenario: dict, ids: dict[str, int],
             elapsed: timedelta) -> None:
    hour = int(elapsed / timedelta(hours=1))
    bob = next(p for p in scenario["people"] if p["key"] == "bob")["mastodon"]
    if hour == 20:  # fedi.example stops answering for six hours
        sandbox.add_fault("latency", path=r"^/mastodon/fedi\.example/", latency_ms=1000)
    if hour == 26:
        sandbox.clear_faults()
    if hour == 30:
        sandbox.add_fault("rate_limit", path=r"/api/v1/favourites", times=4, reset_in_s=900)
        sandbox.add_fault("status", status=503, path=r"/statuses", times=3)
    if hour == REVOKED:  # bob revokes the app...
        sandbox.revoke_token(bob["token"])
    if hour == RECONNECTED:  # ...and connects again later, with a new token
        token = "mastodon-token-bob-again"
        sandbox.world.grants[token] = Grant(token, "mastodon", f"{bob['host']}:{bob['id']}")
        with app.db.unit_of_work() as session:
            link_account(session, app.keys, person_id=_person(session, "bob"),
                         network="mastodon", external_user_id=f"{bob['host']}:{bob['id']}",
                         token=token, now=app.now())


def _person(session, name: str) -> int:  # type: ignore[no-untyped-def]
    return int(session.execute(text("SELECT id FROM people WHERE name = :n"),
                               {"n": name}).scalar_one())


def _fresh(database_url: str, sqlite_template: Path, tmp_path: Path) -> str:
    if database_url.startswith("sqlite"):
        path = tmp_path / "second.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    _empty_postgres(database_url)
    return database_url


@pytest.mark.slow
def test_a_disturbed_month_flattrs_what_an_undisturbed_one_does(database_url, sqlite_template,
                                                                tmp_path):
    scenario = month()
    calm = play(database_url, scenario, disturbed=False)
    rough = play(_fresh(database_url, sqlite_template, tmp_path), month(), disturbed=True)
    start = datetime.fromisoformat(scenario["start"])
    activities, flattrs = expected(scenario, start, start + timedelta(days=DAYS))
    assert {(e[0], e[1], e[2]) for e in activities} == calm.activities
    assert flattrs == calm.flattrs  # no creator registered: each status is flattred
    assert {"favourite", "boost", "explicit"} <= {a[1] for a in calm.activities}
    assert set(calm.statuses) == {"ok"}
    assert {"retry", "needs_reconnect"} <= set(rough.statuses)
    backlog = [f for f in scenario["mastodon"]["favourites"]
               if f["account_id"] == next(p for p in scenario["people"] if p["key"] == "bob")
               ["mastodon"]["id"] and timedelta(hours=REVOKED) <
               datetime.fromisoformat(f["at"]) - start <= timedelta(hours=RECONNECTED)]
    assert len(backlog) > 40  # read after the reconnect, across several pages
    assert rough.flattrs == calm.flattrs
    assert rough.activities == calm.activities
