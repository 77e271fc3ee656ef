"""Bluesky end to end: the sandbox's Jetstream v1 read by the real websocket client and the
atproto SDK, through the worker, into flattrs. A run disturbed by a disconnect, repeated
events, a worker killed mid-stream (a real `flattr run` process, SIGKILLed) and a gap longer
than the replay window gives the month the flattrs of an undisturbed run, and the ledger
holds."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bots import networks
from bots.bluesky import NETWORK
from bots.sandbox import SandboxServer, generate_scenario, start_sandbox
from config import Settings
from core import ledger, people
from core.accounts import link_account
from core.crypto import generate_key
from core.db import Database
from core.models import Flattr, Person, StreamCursor, Thing
from jobs.stream import StreamStats
from jobs.worker import Worker
from runtime.app import App, rules_from

START = datetime(2025, 3, 25, tzinfo=UTC)
STEP = timedelta(hours=12)
STEPS = 18  # to April 3rd: March closes on the way
GAP = range(2, 8)  # steps not read at all: three days, more than the stream replays
Flattrs = list[tuple[str, str, str, bool]]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def scenario() -> dict:
    return generate_scenario(4, days=10, seed=11, start=START)


def _settings(database_url: str, sandbox: SandboxServer, scenario: dict, keys: str) -> Settings:
    return Settings(database_url=database_url, sandbox_url=sandbox.base_url, token_keys=keys,
                    bluesky_batch_wait_seconds=0.15, bluesky_replay_hours=24,
                    bluesky_service_did=scenario["service"]["bluesky_did"], lease_seconds=5)


def _populate(app: App, scenario: dict) -> None:
    with app.db.unit_of_work() as session:
        for person in scenario["people"]:
            row = people.add_person(session, app.rules, person["key"], 300, 5000, now=app.now())
            link_account(session, app.keys, person_id=row.id, network=NETWORK,
                         external_user_id=person["bluesky"]["did"], token="",
                         handle=person["bluesky"]["handle"], now=app.now())


def _flattrs(db: Database) -> Flattrs:
    with db.unit_of_work() as session:
        rows = session.execute(select(Person.name, Thing.url, Flattr.period,
                                      Flattr.withdrawn_at).select_from(Flattr)
                               .join(Person, Person.id == Flattr.person_id)
                               .join(Thing, Thing.id == Flattr.thing_id)).all()
    return sorted((r.name, r.url, r.period, r.withdrawn_at is not None) for r in rows)


def _run(database_url: str, scenario: dict,
         disturb: Callable[[int, App, SandboxServer, Worker], bool] | None = None
         ) -> tuple[Flattrs, StreamStats]:
    networks.install()
    clock = Clock(START)
    keys = generate_key()
    with start_sandbox(scenario, clock=clock) as sandbox:
        settings = _settings(database_url, sandbox, scenario, keys)
        db = Database(database_url)
        app = App(settings=settings, db=db, rules=rules_from(settings), clock=clock)
        _populate(app, scenario)
        worker = Worker(app, api_base_url=sandbox.base_url, owner="test")
        stats = StreamStats()
        try:
            worker.stream()  # the shard's first position: now
            for step in range(STEPS):
                clock.now += STEP
                if disturb is None or disturb(step, app, sandbox, worker):
                    stats.add(worker.stream())
                worker.settle_due()
            with db.unit_of_work() as session:
                check = ledger.self_check(session)
            assert check.ok, check
            found = _flattrs(db)
        finally:
            worker.close()
            db.dispose()
    return found, stats


@pytest.fixture(scope="module")
def undisturbed(scenario: dict, sqlite_template: Path, tmp_path_factory) -> Flattrs:
    path = tmp_path_factory.mktemp("baseline") / "baseline.db"
    shutil.copy(sqlite_template, path)
    found, stats = _run(f"sqlite:///{path}", scenario)
    assert (stats.reconnects, stats.backfilled) == (0, 0) and stats.withdrawn > 0
    periods = {f[2] for f in found}
    assert periods == {"2025-03", "2025-04"} and len(found) > 20
    assert any(f[3] for f in found)  # some likes were taken back before March closed
    return found


def _kill_mid_stream(app: App, sandbox: SandboxServer) -> None:
    """A real worker process reads slowly, and is killed (SIGKILL) once it stored a batch:
    its lease is left behind, the batch in hand lost."""
    def position() -> int | None:
        with app.db.unit_of_work() as session:
            return session.execute(select(StreamCursor.position)).scalar_one()

    before = position()
    sandbox.add_fault("latency", path="subscribe", latency_ms=40, times=1)
    env = {**os.environ, "FLATTR_DATABASE_URL": app.settings.database_url,
           "FLATTR_SANDBOX_URL": sandbox.base_url, "FLATTR_TOKEN_KEYS": app.settings.token_keys
           or "", "FLATTR_BLUESKY_BATCH_WAIT_SECONDS": "0.1", "FLATTR_LEASE_SECONDS": "5",
           "FLATTR_BLUESKY_SERVICE_DID": app.settings.bluesky_service_did or ""}
    process = subprocess.Popen([sys.executable, "-m", "commands.main", "--now",
                                app.now().isoformat(), "run", "--poll-every", "3600"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while position() == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert position() != before, "the worker stored nothing"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(5)
    sandbox.clear_faults()


def test_a_disturbed_stream_gives_the_months_flattrs_of_an_undisturbed_one(
        database_url: str, scenario: dict, undisturbed: Flattrs) -> None:
    def disturb(step: int, app: App, sandbox: SandboxServer, worker: Worker) -> bool:
        if step == GAP[-1] + 1:  # back after the gap: a long replay, broken twice
            sandbox.add_fault("disconnect", path="subscribe", after=3, times=2)
        if step == GAP[-1] + 2:
            sandbox.add_fault("duplicate", path="subscribe", after=0, times=1)
        if step == 12:  # the AppView says 429 once; the Jetstream server drops a slow reader
            sandbox.add_fault("rate_limit", path="getPosts", times=1)
            sandbox.add_fault("slow_consumer", path="subscribe", after=1, times=1)
        if step in GAP:
            return False  # the worker is away: the stream moves on without it
        if step == 10:
            _kill_mid_stream(app, sandbox)
            app.clock.now += timedelta(seconds=6)  # type: ignore[attr-defined]
        return True

    found, stats = _run(database_url, scenario, disturb)
    assert found == undisturbed
    assert stats.reconnects >= 3 and stats.backfilled > 0
