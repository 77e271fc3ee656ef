"""Worker benchmark, printing ratios measured in the same run.

1. ingestion: activities turned into flattrs per second by the poll job's store step
   (store_poll: fence, cursor, activities, flattrs; one transaction per account of 20
   activities) versus the bare insert rate of the same rows (activities + things + flattrs,
   SQLAlchemy Core executemany, one transaction per 20 activities). Target: within 5x.
2. polling: accounts polled per second against the sandbox with 100 ms injected latency,
   as requests/s versus the ideal concurrency / latency. Target: at least 85%.
3. scaling: accounts polled per second by 1 versus 2 worker processes (same database, same
   sandbox, no latency).

    .venv/bin/python bench/worker.py [--database-url postgresql://...] [--quick]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bots.networks import install  # noqa: E402
from bots.sandbox import generate_scenario, start_sandbox  # noqa: E402
from config import Settings  # noqa: E402
from core import people  # noqa: E402
from core.accounts import lease_due, link_account, store_poll  # noqa: E402
from core.activity import Activity, Target  # noqa: E402
from core.crypto import generate_key  # noqa: E402
from core.db import Database  # noqa: E402
from core.models import ActivityRecord, Base, Flattr, Thing  # noqa: E402
from jobs.worker import Worker  # noqa: E402
from runtime.app import App, rules_from  # noqa: E402

install()  # the sandbox and the worker read the registered networks

START = datetime(2025, 3, 1, tzinfo=UTC)
KEY = generate_key()
PER_ACCOUNT = 20


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def fresh_db(url: str | None, tmp: Path, name: str) -> str:
    if url is None:
        url = f"sqlite:///{tmp / name}.db"
    database = Database(url)
    database.upgrade()
    if database.is_postgres:
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        with database.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    database.dispose()
    return url


def make_app(url: str, clock: Clock, **overrides: object) -> App:
    settings = Settings(database_url=url, networks="sandbox", token_keys=KEY,
                        x_triggers=frozenset({"likes", "reposts", "explicit"}),
                        **overrides)  # type: ignore[arg-type]
    return App(settings=settings, db=Database(url), rules=rules_from(settings), clock=clock)


# -- 1. ingestion ---------------------------------------------------------------------------


def ingestion(url: str, n_accounts: int) -> tuple[float, float]:
    clock = Clock(START + timedelta(days=3))
    app = make_app(url, clock)
    with app.db.unit_of_work() as session:
        for p in range(n_accounts):
            row = people.add_person(session, app.rules, f"p{p}", 1000, 5000, now=START)
            link_account(session, app.keys, person_id=row.id, network="x",
                         external_user_id=str(100 + p), token="t", now=START)
    leased = lease_due(app.db, "bench", now=clock.now, limit=n_accounts,
                       lease=timedelta(minutes=5))
    batches = [[Activity("x", "like", f"{a.id}-{n}", f"twitter:{a.external_user_id}", clock.now,
                         (Target(f"https://blog{n % 50}.example.net/{a.id}/{n}",
                                 f"twitter:{9000 + n % 50}"),))
                for n in range(PER_ACCOUNT)] for a in leased]
    began = time.perf_counter()
    for account, activities in zip(leased, batches, strict=True):
        with app.db.unit_of_work() as session:
            outcome = store_poll(session, app.rules, account, now=clock.now,
                                 activities=activities, cursor={}, status="ok", error=None,
                                 next_poll_at=clock.now + timedelta(hours=1))
            assert outcome.flattrs == len(activities)
    ingest_rate = n_accounts * PER_ACCOUNT / (time.perf_counter() - began)

    # The floor: the same rows, bare, in transactions of the same size.
    now = clock.now
    began = time.perf_counter()
    for b, activities in enumerate(batches):
        with app.db.unit_of_work() as session:
            things = session.execute(insert(Thing).returning(Thing.id), [
                {"url": f"https://floor.example/{b}/{n}", "identity": "x", "created_at": now,
                 "rank_key": n}
                for n in range(len(activities))]).scalars().all()
            flattrs = session.execute(insert(Flattr).returning(Flattr.id), [
                {"person_id": 1, "thing_id": t, "period": "2099-01", "source": "x",
                 "occurred_at": now, "rank_key": n} for n, t in enumerate(things)]).scalars().all()
            session.execute(insert(ActivityRecord), [
                {"key": f"floor-{b}-{n}", "network": "x", "action": "like", "person_id": 1,
                 "occurred_at": now, "thing_id": t, "flattr_id": f, "outcome": "flattred",
                 "created_at": now} for n, (t, f) in enumerate(zip(things, flattrs,
                                                                     strict=True))])
    floor_rate = n_accounts * PER_ACCOUNT / (time.perf_counter() - began)
    app.close()
    return ingest_rate, floor_rate


# -- 2 and 3. polling against the sandbox ------------------------------------------------------


def setup_polling(url: str, scenario: dict, base_url: str, clock: Clock) -> None:
    app = make_app(url, clock, sandbox_url=base_url)
    with app.db.unit_of_work() as session:
        for person in scenario["people"]:
            row = people.add_person(session, app.rules, person["key"], 1000, 5000, now=clock.now)
            for network in ("x", "facebook"):
                spec = person[network]
                link_account(session, app.keys, person_id=row.id, network=network,
                             external_user_id=spec["user_id"], token=spec["token"],
                             now=clock.now)
    worker = Worker(app, owner="init", concurrency=16)
    worker.poll()  # first polls record the watermarks
    worker.close()
    app.close()


def make_all_due(url: str, when: datetime) -> None:
    database = Database(url)
    with database.engine.begin() as connection:
        cursors = connection.execute(text("SELECT id, cursor FROM social_accounts")).all()
        for account_id, cursor in cursors:  # every stream due now
            import json

            state = json.loads(cursor)
            for stream in state.values():
                if isinstance(stream, dict):
                    stream["due"] = None
            connection.execute(text("UPDATE social_accounts SET cursor = :c, next_poll_at = :t,"
                                    " lease_owner = NULL WHERE id = :id"),
                               {"c": json.dumps(state), "id": account_id,
                                "t": when.replace(tzinfo=None) if url.startswith("sqlite")
                                else when})
    database.dispose()


def poll_round(url: str, base_url: str, now: datetime, concurrency: int, owner: str,
               results: multiprocessing.Queue | None = None) -> tuple[int, int, float]:
    app = make_app(url, Clock(now), sandbox_url=base_url)
    worker = Worker(app, owner=owner, concurrency=concurrency)
    began = time.perf_counter()
    stats = worker.poll()
    elapsed = time.perf_counter() - began
    worker.close()
    app.close()
    out = (stats.polled, stats.requests, elapsed)
    if results is not None:
        results.put(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    quick = args.quick
    tmp = Path(tempfile.mkdtemp(prefix="bench-worker-"))
    kind = "PostgreSQL" if args.database_url else "SQLite"

    n = 100 if quick else 500
    url = fresh_db(args.database_url, tmp, "ingest")
    ingest, floor = ingestion(url, n)
    print(f"ingestion ({kind}, {n * PER_ACCOUNT} activities, {PER_ACCOUNT} per transaction):"
          f" {ingest:,.0f} activities->flattrs/s per worker; bare insert of the same rows"
          f" {floor:,.0f}/s; floor/ingestion = {floor / ingest:.1f}x (target <= 5x)")

    people_n = 100 if quick else 300
    scenario = generate_scenario(people_n, days=10, seed=5, start=START, history_days=0)
    clock = Clock(START)
    with start_sandbox(scenario, clock=clock) as sandbox:
        url = fresh_db(args.database_url, tmp, "poll")
        setup_polling(url, scenario, sandbox.base_url, clock)
        later = START + timedelta(days=5)
        clock.now = later

        concurrency, latency = 16, 0.100
        make_all_due(url, later)
        fault = sandbox.add_fault("latency", path="", latency_ms=int(latency * 1000))
        polled, requests, elapsed = poll_round(url, sandbox.base_url, later, concurrency, "lat")
        sandbox.remove_fault(fault)
        ideal = concurrency / latency
        print(f"polling (100 ms latency, concurrency {concurrency}): {polled} accounts,"
              f" {requests} requests in {elapsed:.2f} s = {requests / elapsed:,.0f} requests/s,"
              f" {polled / elapsed:,.1f} accounts/s; ideal {ideal:,.0f} requests/s;"
              f" {requests / elapsed / ideal:.0%} of ideal (target >= 85%)")

        rates = []
        for processes in (1, 2):
            make_all_due(url, later)
            queue: multiprocessing.Queue = multiprocessing.Queue()
            began = time.perf_counter()
            children = [multiprocessing.Process(
                target=poll_round, args=(url, sandbox.base_url, later, 8, f"p{i}", queue))
                for i in range(processes)]
            for child in children:
                child.start()
            outs = [queue.get(timeout=600) for _ in children]
            for child in children:
                child.join()
            elapsed = time.perf_counter() - began
            total = sum(o[0] for o in outs)
            rates.append(total / elapsed)
            print(f"scaling: {processes} process(es): {total} accounts in {elapsed:.2f} s ="
                  f" {total / elapsed:,.0f} accounts/s")
        print(f"scaling: 2 processes / 1 process = {rates[1] / rates[0]:.2f}x"
              f" ({os.cpu_count()} cores, the sandbox shares them)")


if __name__ == "__main__":
    main()
