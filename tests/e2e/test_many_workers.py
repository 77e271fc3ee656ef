"""Four `flattr run` processes on one PostgreSQL, thousands of accounts, one process
SIGKILLed midway: every activity becomes exactly one activity row (and at most one flattr),
every account keeps being polled, the month settles once, the ledger holds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bots import pacing
from bots.base import LinkedAccount
from bots.sandbox import Rates, generate_scenario, start_sandbox
from core import ledger
from core.accounts import open_token
from core.db import Database
from jobs.poll import Networks
from jobs.worker import SimClock, Worker
from runtime.app import App, rules_from
from runtime.keys import key_ring
from tests.conftest import _empty_postgres
from tests.jobs.conftest import TOKEN_KEY, link_people, make_settings

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PEOPLE = 1000  # two accounts each: 2000 accounts
DAYS = 4
START = datetime(2025, 3, 29, tzinfo=UTC)  # the month closes on the third day
REAL_SECONDS = 40.0
SPEED = DAYS * 86400 / REAL_SECONDS
RATES = Rates(likes=0.8, reposts=0.2, quotes=0.05, explicit=0.1, originals=0.1,
              facebook_page_likes_per_month=1, facebook_shares=0.2, facebook_statuses=0.1)


def _wait_until(check, timeout: float, every: float = 1.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return check()


def test_four_workers_one_killed(postgres_url: str, tmp_path: Path) -> None:
    began = time.monotonic()
    _empty_postgres(postgres_url)
    scenario = generate_scenario(PEOPLE, days=DAYS, seed=3, start=START, history_days=0,
                                 rates=RATES)
    frozen = {"now": START - pacing.MAX_IDLE_DELAY}
    with start_sandbox(scenario, clock=lambda: frozen["now"]) as sandbox:
        settings = make_settings(postgres_url, sandbox, scenario, lease_seconds=5,
                                 poll_concurrency=8)
        db = Database(postgres_url)
        app = App(settings=settings, db=db, rules=rules_from(settings),
                  clock=lambda: frozen["now"])
        link_people(app, scenario)
        print(f"set up in {time.monotonic() - began:.1f} s")
        # Connect every account before the scenario starts: its first poll records the
        # watermarks, so from here on every activity must be flattred exactly once.
        setup = Worker(app, api_base_url=sandbox.base_url, owner="setup", concurrency=16)
        assert setup.poll().polled == 2 * PEOPLE
        setup.close()
        with db.engine.connect() as connection:
            initial = dict(connection.execute(text("SELECT id, cursor FROM social_accounts")).all())

        anchor = time.time() + 1.0
        sim = SimClock(START - timedelta(seconds=SPEED), anchor - 1.0, SPEED)
        sandbox.set_clock(sim)
        env = {**os.environ, "FLATTR_DATABASE_URL": postgres_url,
               "FLATTR_SANDBOX_URL": sandbox.base_url, "FLATTR_TOKEN_KEYS": TOKEN_KEY,
               "FLATTR_X_TRIGGERS": "likes,reposts,explicit", "FLATTR_LEASE_SECONDS": "5",
               "FLATTR_POLL_CONCURRENCY": "8", "FLATTR_POLL_BATCH_SIZE": "50"}
        command = [str(Path(sys.executable).parent / "flattr"), "run", "--poll-every", "0.3",
                   "--notify-every", "2", "--settle-check-every", "1",
                   "--sim-start", sim.start.isoformat(), "--sim-anchor", str(sim.anchor),
                   "--sim-speed", str(SPEED), "--log-level", "WARNING"]
        workers = [subprocess.Popen(command + ["--worker-id", f"w{n}"], env=env,
                                    stderr=(tmp_path / f"w{n}.log").open("w"))
                   for n in range(4)]
        try:
            time.sleep(REAL_SECONDS * 0.4)
            workers[0].send_signal(signal.SIGKILL)
            killed_at = sim()
            end = START + timedelta(days=DAYS)

            def all_polled_since_kill() -> bool:
                with db.engine.connect() as connection:
                    oldest = connection.execute(text(
                        "SELECT MIN(last_polled_at) FROM social_accounts")).scalar()
                return oldest is not None and oldest.astimezone(UTC) > killed_at

            assert _wait_until(lambda: sim() > end, REAL_SECONDS * 1.5)
            assert _wait_until(all_polled_since_kill, 60), "some accounts stopped being polled"
            for process in workers[1:]:
                process.send_signal(signal.SIGTERM)
            codes = [p.wait(timeout=30) for p in workers[1:]]
        finally:
            for process in workers:
                if process.poll() is None:
                    process.kill()
        assert codes == [0, 0, 0]
        print(f"workers done at {time.monotonic() - began:.1f} s")
        assert workers[0].returncode == -signal.SIGKILL

        with db.engine.connect() as connection:
            stale = connection.execute(text(
                "SELECT COUNT(*) FROM social_accounts WHERE last_polled_at <= :killed"
                " OR lease_owner IS NOT NULL"), {"killed": killed_at}).scalar()
            # A notice claimed twice was sent twice (a claim lapsing mid-batch); the log
            # channel never fails, so one attempt each.
            claimed_twice = connection.execute(text(
                "SELECT COUNT(*) FROM notifications WHERE attempts > 1")).scalar()
        # Drain what the last idle polls have not read yet (nothing new appears after
        # `end`): what the workers lost or doubled could not be mended by this.
        frozen["now"] = end + pacing.MAX_IDLE_DELAY + timedelta(hours=1)
        sandbox.set_clock(lambda: frozen["now"])
        drain = Worker(app, api_base_url=sandbox.base_url, owner="drain", concurrency=16)
        drain.poll()  # every stream is due by now: idle streams wait at most MAX_IDLE_DELAY
        drain.close()
        print(f"drained at {time.monotonic() - began:.1f} s")
        # What one poll of each account from its initial cursor finds now: the truth.
        networks = Networks(app, sandbox.base_url)
        expected: set[str] = set()
        with db.engine.connect() as connection:
            accounts = connection.execute(text(
                "SELECT id, network, external_user_id, token_ciphertext FROM social_accounts"
            )).all()
        for account_id, network, user, sealed in accounts:
            adapter = networks.get(network)
            linked = LinkedAccount(network, user, open_token(key_ring(settings), sealed))
            result = adapter.fetch_activity(linked, _json(initial[account_id]), frozen["now"])
            assert result.status == "ok", result.error
            wanted = {"page_like", "share"} if network == "facebook" else None
            expected |= {a.key for a in result.activities if wanted is None or a.action in wanted}

        print(f"reference done at {time.monotonic() - began:.1f} s")
        with db.engine.connect() as connection:
            keys = set(connection.execute(text("SELECT key FROM activities")).scalars())
            flattred, flattr_refs, flattrs = connection.execute(text(
                "SELECT (SELECT COUNT(*) FROM activities WHERE outcome = 'flattred'),"
                " (SELECT COUNT(DISTINCT flattr_id) FROM activities WHERE flattr_id IS NOT NULL),"
                " (SELECT COUNT(*) FROM flattrs)")).one()
            settled = dict(connection.execute(text(
                "SELECT period, stage FROM settlements")).all())
            settle_txns = connection.execute(text(
                "SELECT COUNT(*) FROM transactions WHERE kind = 'settle'"
                " AND period = '2025-03'")).scalar()
            shares, march = connection.execute(text(
                "SELECT (SELECT COUNT(*) FROM shares WHERE period = '2025-03'),"
                " (SELECT COUNT(*) FROM flattrs WHERE period = '2025-03'"
                "  AND withdrawn_at IS NULL)")).one()
        with app.db.unit_of_work() as session:
            problems = ledger.self_check(session).problems
        db.dispose()
    assert len(expected) > 2000
    assert keys == expected, (len(keys - expected), len(expected - keys))
    assert flattred == flattr_refs == flattrs > 1000
    assert settled["2025-03"] == "done" and settle_txns == 1 and shares == march > 0
    assert stale == 0
    assert claimed_twice == 0
    assert problems == []


def _json(value: str | None) -> dict | None:
    import json

    return json.loads(value) if value else None
