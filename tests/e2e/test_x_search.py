"""Issue 16 end to end: explicit requests found by X's recent search and the service's
mentions give the same flattrs as reading every timeline, on a generated month of people
who post as people do (a few posts a day, some dozens), through the real worker, tweepy
and the sandbox, on SQLite and PostgreSQL; and for far fewer posts read."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import text

from bots.sandbox import REALISTIC, generate_scenario, start_sandbox
from config import Settings
from core import people, streams, usage
from core.accounts import link_account, next_due_at
from core.crypto import generate_key
from core.db import Database
from jobs.worker import Worker
from runtime.app import App, rules_from
from tests.conftest import FakeClock

DAYS = 30
SERVICE = "900000001"
RATES = replace(REALISTIC, explicit=0.4)


@dataclass
class Month:
    flattrs: set[tuple[str, str, str]]  # (person, thing url, period)
    posts_read: int
    streams: dict[str, int]  # shared stream -> members


def _scenario() -> dict:
    return generate_scenario(8, days=DAYS, seed=16, rates=RATES)


def _run(url: str, *, find_requests: str, x_triggers: str,
         chosen: dict[str, str] | None = None) -> Month:
    scenario = _scenario()
    clock = FakeClock(datetime.fromisoformat(scenario["start"]))
    with start_sandbox(scenario, clock=clock) as sandbox:
        settings = Settings(database_url=url, sandbox_url=sandbox.base_url,
                            token_keys=generate_key(), x_triggers=x_triggers,
                            x_find_requests=find_requests, x_app_bearer_token="x-app-token",
                            x_service_user_id=SERVICE, x_service_handle="flattrbot")
        db = Database(url)
        app = App(settings=settings, db=db, rules=rules_from(settings), clock=clock)
        with app.db.unit_of_work() as session:
            for person in scenario["people"]:
                row = people.add_person(session, app.rules, person["key"], 5000, 50000,
                                        now=clock.now)
                choice = (chosen or {}).get(person["key"])
                link_account(session, app.keys, person_id=row.id, network="x",
                             external_user_id=person["x"]["user_id"],
                             token=person["x"]["token"], now=clock.now,
                             handle=person["x"]["username"],
                             triggers=choice.split(",") if choice else None)
        worker = Worker(app, api_base_url=sandbox.base_url, owner="x-search", ordered=True)
        end = clock.now + timedelta(days=DAYS + 2)  # nothing happens after DAYS: all read
        try:
            while clock.now < end:
                worker.poll()
                with app.db.unit_of_work() as session:
                    due = min(d for d in (next_due_at(session), streams.next_due_at(session),
                                          end) if d is not None)
                clock.now = max(min(due, end), clock.now + timedelta(minutes=1))
        finally:
            worker.close()
        with db.engine.connect() as connection:
            flattrs = {(r[0], r[1], r[2]) for r in connection.execute(text(
                "SELECT p.name, t.url, f.period FROM flattrs f JOIN people p ON p.id ="
                " f.person_id JOIN things t ON t.id = f.thing_id"))}
        with db.unit_of_work() as session:
            read = usage.month(session, now=clock.now).get("x", (0, 0))[0]
            read += usage.month(session, now=clock.now - timedelta(days=DAYS)).get(
                "x", (0, 0))[0]
            plans = streams.plans(session, "x")
        db.dispose()
    return Month(flattrs, read, {name: len(m) for name, m in plans.items()})


def test_search_finds_the_same_flattrs_as_timelines_for_a_fraction_of_the_reads(
        database_url: str) -> None:
    timelines = _run(database_url, find_requests="timelines", x_triggers="explicit")
    _empty(database_url)
    search = _run(database_url, find_requests="search", x_triggers="explicit")
    assert len(timelines.flattrs) > 40
    assert search.flattrs == timelines.flattrs
    assert timelines.streams == {}
    assert search.streams == {"mentions": 0, "search:1": 8}
    assert search.posts_read * 5 < timelines.posts_read, (search.posts_read, timelines.posts_read)


def test_people_who_flattr_reposts_keep_their_timeline_the_others_are_searched(
        database_url: str) -> None:
    chosen = {"alice": "explicit", "bob": "explicit", "carol": "explicit"}
    timelines = _run(database_url, find_requests="timelines", x_triggers="reposts,explicit",
                     chosen=chosen)
    _empty(database_url)
    search = _run(database_url, find_requests="search", x_triggers="reposts,explicit",
                  chosen=chosen)
    assert search.flattrs == timelines.flattrs
    assert {p for p, _, _ in search.flattrs} > set(chosen)
    assert search.streams == {"mentions": 0, "search:1": 3}
    assert search.posts_read < timelines.posts_read


def _empty(url: str) -> None:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        import os

        os.remove(path)
        Database(url).upgrade()
        return
    from tests.conftest import _empty_postgres

    _empty_postgres(url)


