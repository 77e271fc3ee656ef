"""Several `flattr run` workers against the sandbox on PostgreSQL, SIGKILLed at random
moments and restarted: every activity is recorded once, the same flattrs exist, and the
month then settles to the same ledger as a clean run by one worker.

Accounts are linked and given their watermarks once (the first poll flattrs nothing older),
into a template database; the clean run and the killed run start from copies of it. The
sandbox serves the same scenario to both, every activity of it in the past."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bots import pacing
from bots.sandbox import Rates, generate_scenario, start_sandbox
from config import Settings
from core import ledger, settlement
from core.db import Database
from core.models import Flattr
from jobs.worker import SimClock, Worker
from runtime.app import App, rules_from
from tests.campaign.conftest import SEED, scaled
from tests.campaign.test_crash_settle import _copy_of
from tests.conftest import scratch_postgres
from tests.integration.helpers import ledger_dump
from tests.jobs.conftest import TOKEN_KEY, link_people, make_settings

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

KILLS = 6  # at scale 1
WORKERS = 3
PEOPLE, DAYS = 40, 3
START = datetime(2025, 5, 10, tzinfo=UTC)
END = START + timedelta(days=DAYS)
SPEED = 10.0  # simulated seconds per second: a 5 s lease ends in half a second
RATES = Rates(likes=2.0, reposts=0.5, quotes=0.1, explicit=0.3, originals=0.2,
              facebook_page_likes_per_month=3, facebook_shares=0.5, facebook_statuses=0.1)
FLATTR = str(Path(sys.executable).parent / "flattr")


def _app(url: str, sandbox, scenario, clock) -> App:  # type: ignore[no-untyped-def]
    settings = make_settings(url, sandbox, scenario, lease_seconds=5, poll_concurrency=4)
    return App(settings=settings, db=Database(url), rules=rules_from(settings), clock=clock)


def _facts(url: str) -> tuple[set, set, int, list[tuple], list[str]]:  # type: ignore[type-arg]
    """Activity keys, flattrs by natural key, flattred activities; then the month settled:
    the ledger and the self-check's problems."""
    db = Database(url)
    with db.engine.connect() as connection:
        keys = set(connection.execute(text("SELECT key FROM activities")).scalars())
        flattrs = {tuple(row) for row in connection.execute(text(
            "SELECT p.name, t.url, f.period FROM flattrs f JOIN people p ON p.id = f.person_id"
            " JOIN things t ON t.id = f.thing_id"))}
        flattred = connection.execute(text(
            "SELECT COUNT(*) FROM activities WHERE outcome = 'flattred'")).scalar_one()
    rules = rules_from(Settings(database_url=url))
    settlement.settle(db, rules, "2025-05", now=datetime(2025, 6, 1, 0, 5, tzinfo=UTC))
    with db.unit_of_work() as session:
        problems = ledger.self_check(session).problems
    dump = ledger_dump(db)
    db.dispose()
    return keys, flattrs, flattred, dump, problems


# Issue 11, item 8 (branch `ledger`): the split's order depends on what was flattred, not
# on the order things were discovered in; until then two runs may give a thing's leftover
# cent to another flattr, and only the wallets compare exactly.
STABLE_SPLIT = "rank_key" in Flattr.__table__.c


def _wallets(dump: list[tuple]) -> list[tuple]:  # type: ignore[type-arg]
    return [row for row in dump if len(row) == 5 and str(row[3]).startswith("wallet:")]


def _unfinished(db: Database, now: datetime) -> tuple[int, int]:
    """(accounts never read since the watermarks, or leased now; activities recorded). A
    poll a kill interrupted leaves a lease: when it runs out the account is due again."""
    with db.engine.connect() as connection:
        return tuple(connection.execute(text(
            "SELECT (SELECT COUNT(*) FROM social_accounts WHERE status = 'active' AND"
            " (last_polled_at <= :start OR (lease_owner IS NOT NULL AND lease_until > :now)"
            "  OR (lease_owner IS NOT NULL AND next_poll_at <= :now))),"
            " (SELECT COUNT(*) FROM activities)"), {"start": START, "now": now}).one())  # type: ignore[return-value]


def _wait_until_it_catches_sigterm(process: subprocess.Popen[bytes]) -> None:
    """Linux: /proc/PID/status lists caught signals as a hex mask (SIGTERM is bit 14)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        status = Path(f"/proc/{process.pid}/status")
        caught = next((line.split()[1] for line in status.read_text().splitlines()
                       if line.startswith("SigCgt:")), "0") if status.exists() else "0"
        if int(caught, 16) & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.05)


def test_workers_killed_anywhere_record_what_a_clean_run_records(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    began = time.monotonic()
    scenario = generate_scenario(PEOPLE, days=DAYS, seed=SEED % 1000, start=START,
                                 history_days=0, rates=RATES)
    state = {"now": START - pacing.MAX_IDLE_DELAY}
    with start_sandbox(scenario, clock=lambda: state["now"]) as sandbox, \
            scratch_postgres("flattr_ingest") as template:
        schema = Database(template)
        schema.upgrade()
        schema.dispose()
        app = _app(template, sandbox, scenario, lambda: state["now"])
        link_people(app, scenario)
        setup = Worker(app, api_base_url=sandbox.base_url, owner="setup", concurrency=8)
        assert setup.poll().polled == 2 * PEOPLE  # the watermarks: nothing older counts
        setup.close()
        app.db.dispose()

        # The clean run: one worker in-process, the clock moved on an hour a round.
        with _copy_of(template) as url:
            state["now"] = END
            clean_app = _app(url, sandbox, scenario, lambda: state["now"])
            worker = Worker(clean_app, api_base_url=sandbox.base_url, owner="clean",
                            concurrency=8)
            idle_rounds = 0
            for _ in range(60):
                stats = worker.poll()
                idle_rounds = idle_rounds + 1 if stats.activities == 0 else 0
                if idle_rounds >= 3:
                    break
                state["now"] += timedelta(hours=1)
            worker.close()
            clean_app.db.dispose()
            clean = _facts(url)
        keys, flattrs, flattred, dump, problems = clean
        assert problems == [] and len(keys) > 100 and flattred == len(flattrs) > 50
        clean_seconds = time.monotonic() - began

        # The killed run: WORKERS processes, KILLS of them SIGKILLed and replaced.
        with _copy_of(template) as url:
            sim = SimClock(END, time.time() + 1.5, SPEED)  # workers start in ~1.5 s
            sandbox.set_clock(sim)
            env = {**os.environ, "FLATTR_DATABASE_URL": url,
                   "FLATTR_SANDBOX_URL": sandbox.base_url, "FLATTR_TOKEN_KEYS": TOKEN_KEY,
                   "FLATTR_X_TRIGGERS": "likes,reposts,explicit", "FLATTR_LEASE_SECONDS": "5",
                   "FLATTR_POLL_CONCURRENCY": "4", "FLATTR_POLL_BATCH_SIZE": "8"}
            command = [FLATTR, "run", "--poll-every", "0.2", "--notify-every", "1",
                       "--settle-check-every", "1", "--sim-start", END.isoformat(),
                       "--sim-anchor", str(sim.anchor), "--sim-speed", str(SPEED),
                       "--log-level", "WARNING"]
            names = iter(range(1000))

            def spawn() -> subprocess.Popen[bytes]:
                n = next(names)
                return subprocess.Popen([*command, "--worker-id", f"w{n}"], env=env,
                                        stdout=subprocess.DEVNULL,
                                        stderr=(tmp_path / f"w{n}.log").open("w"))

            workers = [spawn() for _ in range(WORKERS)]
            db = Database(url)
            try:
                # Each kill comes when the recorded activities pass a random share of what
                # the clean run recorded: mid-ingest, wherever that falls in a poll.
                marks = sorted(rng.randrange(1, len(keys)) for _ in range(scaled(KILLS)))
                at_kill: list[int] = []
                deadline = time.monotonic() + 90
                while marks and time.monotonic() < deadline:
                    recorded = _unfinished(db, sim())[1]
                    if recorded < marks[0]:
                        time.sleep(0.01)
                        continue
                    marks.pop(0)
                    at_kill.append(recorded)
                    victim = rng.randrange(len(workers))
                    workers[victim].send_signal(signal.SIGKILL)
                    workers[victim].wait()
                    workers[victim] = spawn()
                assert not marks, f"the workers stopped recording at {recorded}"
                # Done when every account was read, no lease is held or left behind, and
                # nothing new was recorded for a while.
                deadline, seen, stable_since = time.monotonic() + 90, (-1, -1), time.monotonic()
                while time.monotonic() < deadline:
                    now_seen = _unfinished(db, sim())
                    if now_seen != seen:
                        seen, stable_since = now_seen, time.monotonic()
                    elif seen[0] == 0 and time.monotonic() - stable_since > 3.0:
                        break
                    time.sleep(0.2)
                assert seen[0] == 0, f"accounts left unread or leased: {seen}"
                for process in workers:
                    # A worker respawned late may still be importing: SIGTERM before its
                    # handler is in place kills it (-15) instead of stopping it.
                    _wait_until_it_catches_sigterm(process)
                    process.send_signal(signal.SIGTERM)
                codes = [p.wait(timeout=30) for p in workers]
            finally:
                for process in workers:
                    if process.poll() is None:
                        process.kill()
                db.dispose()
            assert codes == [0] * WORKERS, [(tmp_path / f).read_text()[-500:]
                                            for f in os.listdir(tmp_path)]
            logs = "".join((tmp_path / f).read_text() for f in os.listdir(tmp_path))
            assert "Traceback" not in logs, logs[-2000:]
            killed = _facts(url)
    assert killed[0] == keys, (len(killed[0] - keys), len(keys - killed[0]))
    assert killed[1] == flattrs and killed[2] == flattred
    assert killed[4] == []
    if STABLE_SPLIT:
        assert killed[3] == dump
    else:  # until issue 11 item 8 lands: leftover cents follow the order things were found
        assert _wallets(killed[3]) == _wallets(dump)
    print(f"\ncampaign ingest: {WORKERS} workers, {scaled(KILLS)} SIGKILLs, {len(keys)} "
          f"activities (recorded at each kill: {at_kill}), {len(flattrs)} flattrs, all the "
          "same as the clean run "
          f"({clean_seconds:.1f} s); in all {time.monotonic() - began:.1f} s")
