"""`flattr settle` SIGKILLed at random points on PostgreSQL, then run again: the ledger, the
shares, the totals and the notices are exactly those of a clean run.

One month of flattrs is written once into a template database; the clean run and every
killed run start from a copy of it (CREATE DATABASE ... TEMPLATE). Most kills are aimed at
the settlement itself (between the moment its row appears and the clean run's length),
some at any moment of the process's life. The stage each kill interrupted is counted."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core import ingest, ledger, people, settlement, things
from core.activity import Activity, Target
from core.db import Database
from core.rules import Rules
from tests.campaign.conftest import SEED, scaled
from tests.conftest import scratch_postgres
from tests.integration.helpers import ledger_dump

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

KILLS = 10  # at scale 1
PEOPLE, FLATTRS_EACH, HOSTS = 250, 60, 60
PERIOD, NOW = "2026-10", "2026-11-01T00:05:00Z"
RULES = Rules(idle_budget_policy="charity")
FLATTR = str(Path(sys.executable).parent / "flattr")


def _month(url: str) -> None:
    """People (some idle, some poor), creators with prefix and identity claims, and a month
    of flattrs through the production path (core.ingest)."""
    rng = random.Random(SEED)
    db = Database(url)
    db.upgrade()
    october = datetime(2026, 10, 1, tzinfo=UTC)
    with db.unit_of_work() as session:
        ids = [people.add_person(session, RULES, f"p{n}", rng.choice([200, 500, 900]),
                                 rng.choice([100, 1000, 5000]), now=october).id
               for n in range(PEOPLE)]
        for n in range(0, HOSTS, 3):
            creator = people.add_person(session, RULES, f"creator{n}", 200, 0, now=october)
            things.claim(session, RULES, creator, f"https://host{n}.example/", now=october)
    with db.unit_of_work() as session:
        for n, person in enumerate(ids):
            if n % 10 == 0:
                continue  # idle: the charity gets their budget
            batch = [Activity("x", "like", f"{person}-{k}", f"twitter:{person}",
                              datetime(2026, 10, 1 + k % 28, 12, tzinfo=UTC),
                              (Target(url=f"https://host{rng.randrange(HOSTS)}.example/"
                                          f"{rng.randrange(40)}", identity=None),))
                     for k in range(FLATTRS_EACH)]
            ingest.record_batch(session, RULES, person, batch,
                                now=datetime(2026, 10, 29, tzinfo=UTC))
    db.dispose()


@contextmanager
def _copy_of(template: str) -> Iterator[str]:
    server = make_url(template)
    name = f"{server.database}_c{random.randrange(10**6)}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{server.database}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _settle(url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FLATTR_DATABASE_URL": url, "FLATTR_IDLE_BUDGET_POLICY": "charity"}
    return subprocess.Popen([FLATTR, "--now", NOW, "settle", "--period", PERIOD], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _stage(db: Database) -> str:
    with db.engine.connect() as connection:
        return connection.execute(text("SELECT stage FROM settlements WHERE period = :p"),
                                  {"p": PERIOD}).scalar() or "not begun"


def _run(url: str, kill_after: float | None, aimed: bool) -> tuple[float, float, str]:
    """Run `flattr settle`; kill it `kill_after` seconds after it started (aimed: after its
    settlement row appeared). Returns (seconds to the row, seconds to the stage `done` or
    the kill, stage at kill)."""
    db = Database(url)
    began = time.monotonic()
    process = _settle(url)
    row_at = done_at = None
    try:
        while process.poll() is None:
            now = time.monotonic() - began
            stage = _stage(db) if done_at is None else "done"
            if row_at is None and stage != "not begun":
                row_at = now
            if done_at is None and stage == "done":
                done_at = now
            base = row_at if aimed else 0.0
            if kill_after is not None and base is not None and now >= base + kill_after:
                process.send_signal(signal.SIGKILL)
                process.wait()
                return row_at or now, now, _stage(db)
            time.sleep(0.005)
        assert process.returncode == 0, process.stderr.read() if process.stderr else ""
        return row_at or 0.0, done_at or time.monotonic() - began, "finished"
    finally:
        if process.poll() is None:
            process.kill()
        db.dispose()


def _result(url: str) -> tuple[list[tuple], list[str]]:
    db = Database(url)
    with db.unit_of_work() as session:
        problems = ledger.self_check(session).problems
    dump = ledger_dump(db)
    db.dispose()
    return dump, problems


def test_settle_killed_anywhere_ends_as_a_clean_run() -> None:
    rng = random.Random(SEED)
    began = time.monotonic()
    with scratch_postgres("flattr_crash") as template:
        _month(template)
        month_seconds = time.monotonic() - began
        with _copy_of(template) as url:
            row_at, total, _ = _run(url, None, aimed=False)
            clean, problems = _result(url)
        assert problems == [] and len(clean) > 1000
        settle_seconds = max(total - row_at, 0.05)
        stages: Counter[str] = Counter()
        for kill in range(scaled(KILLS)):
            aimed = kill % 4 != 3
            delay = rng.uniform(0, settle_seconds if aimed else total)
            with _copy_of(template) as url:
                _, _, stage = _run(url, delay, aimed)
                stages[stage] += 1
                db = Database(url)  # the rerun (what `flattr settle` calls): resumes
                settlement.settle(db, RULES, PERIOD, now=datetime(2026, 11, 1, 0, 5, tzinfo=UTC))
                db.dispose()
                dump, problems = _result(url)
            assert problems == [], (kill, stage, problems)
            assert dump == clean, (kill, stage, delay)
    print(f"\ncampaign settle: {sum(stages.values())} kills (stage at kill: {dict(stages)}), "
          f"clean run {total:.2f} s (settling {settle_seconds:.2f} s), the month written in "
          f"{month_seconds:.1f} s, in all {time.monotonic() - began:.1f} s")
