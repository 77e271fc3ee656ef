"""Settle a generated period and compare with a bare INSERT ... SELECT of the same rows.

    .venv/bin/python bench/settle.py [--people 100000] [--flattrs 1000000]
                                     [--backend sqlite|postgres|both] [--parts]

Prints seconds, flattrs per second, the settling process's peak memory, and the ratio to a
floor measured in the same run on the same database: a bare INSERT ... SELECT that writes
as many rows as the settlement writes (shares + charges + thing totals + ledger entries +
notifications) into an unindexed table, straight from the flattrs table. Targets: within
3x of the floor, under 500 MB peak memory. --parts then also times the reads the
settlement cannot avoid (bench/settle_parts.py), as shares of that floor.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.settle_parts import print_parts  # noqa: E402
from core.db import Database  # noqa: E402
from core.ledger import DEPOSITS, Account, self_check  # noqa: E402
from core.rules import Rules  # noqa: E402
from core.settlement import settle  # noqa: E402
from core.split import rank_key  # noqa: E402

PERIOD = "2026-10"
CREATED = datetime(2026, 9, 1, tzinfo=UTC)
CLOSE = datetime(2026, 11, 1, 0, 5, tzinfo=UTC)


def generate(db: Database, people: int, flattrs: int, seed: int = 1) -> None:
    """People with budgets and deposits, things (70% owned, 30% unclaimed), flattrs."""
    rng = random.Random(seed)
    n_things = max(1000, flattrs // 5)
    creators = max(1, people // 50)
    per_person = _counts(rng, people, flattrs, cap=n_things // 1009)
    created = CREATED.replace(tzinfo=None) if db.is_sqlite else CREATED
    rows: dict[str, list[tuple[Any, ...]]] = {
        "people": [(i, f"p{i}", created) for i in range(1, people + 1)],
        "budgets": [(i, i, "2026-09", rng.choice((200, 300, 500, 1000, 2000)))
                    for i in range(1, people + 1)],
        "transactions": [(i, f"dep{i}", "deposit", created) for i in range(1, people + 1)],
        "things": [
            (t, f"https://example.org/t/{t}", (t % creators) + 1 if t % 10 < 7 else None,
             f"twitter:{t}" if t % 10 >= 7 else f"url:https://example.org/t/{t}",
             rank_key(f"https://example.org/t/{t}"), created)
            for t in range(1, n_things + 1)
        ],
    }
    funds = [rng.randint(0, 3000) for _ in range(people)]
    entries = []
    for i in range(1, people + 1):
        entries.append((i, str(DEPOSITS), -funds[i - 1]))
        entries.append((i, str(Account.wallet(i)), funds[i - 1]))
    flattr_rows = []
    fid = 0
    for person, count in enumerate(per_person, start=1):
        for j in range(count):
            fid += 1
            thing = (person * 31 + j * 1009) % n_things + 1
            flattr_rows.append((fid, person, thing, PERIOD, "x", created,
                                rows["things"][thing - 1][4]))
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        _load(db, cursor, "people", "id, name, created_at", rows["people"])
        _load(db, cursor, "budgets", "id, person_id, effective_period, cents", rows["budgets"])
        _load(db, cursor, "transactions", "id, ref, kind, created_at", rows["transactions"])
        _load(db, cursor, "entries", "transaction_id, account, amount_cents", entries)
        _load(db, cursor, "things", "id, url, owner_id, identity, rank_key, created_at",
              rows["things"])
        _load(db, cursor, "flattrs",
              "id, person_id, thing_id, period, source, occurred_at, rank_key", flattr_rows)
        if db.is_postgres:
            for table in ("people", "budgets", "transactions", "things", "flattrs"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                               f" (SELECT MAX(id) FROM {table}))")
            cursor.execute("ANALYZE")
        else:
            cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def _counts(rng: random.Random, people: int, total: int, cap: int) -> list[int]:
    """Flattrs per person: at least 1, at most `cap` (distinct things each)."""
    if not people <= total <= people * cap:
        raise SystemExit(f"--flattrs must be within {people:,} and {people * cap:,} for"
                         f" {people:,} people (each flattrs at most {cap} things)")
    counts = [1] * people
    for _ in range(total - people):
        i = rng.randrange(people)
        while counts[i] >= cap:
            i = rng.randrange(people)
        counts[i] += 1
    return counts


def _load(db: Database, cursor, table: str, columns: str, rows: list[tuple]) -> None:  # type: ignore[no-untyped-def]
    if db.is_postgres:
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" for _ in columns.split(","))
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})",
                           [tuple(str(v) if isinstance(v, datetime) else v for v in r)
                            for r in rows])


def _settle_child(url: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    if os.environ.get("BENCH_VERBOSE"):
        import logging

        logging.basicConfig(level=logging.INFO, format="  %(message)s")
    db = Database(url)
    started = time.perf_counter()
    result = settle(db, Rules(), PERIOD, now=CLOSE)
    seconds = time.perf_counter() - started
    queue.put((result.status, seconds, _peak_rss_kb()))


def _peak_rss_kb() -> int:
    """This process's own peak RSS. ru_maxrss would not do: Linux carries the parent's peak
    over fork and exec, and the parent holds the generated rows."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def floor_seconds(db: Database, rows: int) -> float:
    """A bare INSERT ... SELECT writing `rows` shares-shaped rows into an unindexed table."""
    with db.engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS floor_rows"))
        connection.execute(text(
            "CREATE TABLE floor_rows (flattr_id BIGINT, period VARCHAR(7), person_id BIGINT,"
            " thing_id BIGINT, creator_id BIGINT, identity VARCHAR(2100), share_cents BIGINT,"
            " fee_cents BIGINT, state VARCHAR(10))"))
    started = time.perf_counter()
    with db.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO floor_rows SELECT id, period, person_id, thing_id, CAST(NULL AS BIGINT),"
            " 'twitter:1', 1, 0, 'paid' FROM flattrs"
            " UNION ALL SELECT id, period, thing_id, person_id, NULL, NULL, 1, 0, 'x' FROM flattrs"
            " LIMIT :n"), {"n": rows})
    seconds = time.perf_counter() - started
    with db.engine.begin() as connection:
        connection.execute(text("DROP TABLE floor_rows"))
    return seconds


def run(label: str, url: str, people: int, flattrs: int, parts: bool) -> None:
    db = Database(url)
    db.upgrade()
    started = time.perf_counter()
    generate(db, people, flattrs)
    print(f"[{label}] generated {people:,} people and {flattrs:,} flattrs in"
          f" {time.perf_counter() - started:.1f} s", flush=True)
    queue: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue()  # type: ignore[type-arg]
    child = multiprocessing.get_context("spawn").Process(target=_settle_child, args=(url, queue))
    child.start()
    status, seconds, peak_kb = queue.get()
    child.join()
    with db.engine.connect() as connection:
        written = connection.execute(text(
            "SELECT (SELECT COUNT(*) FROM shares) + (SELECT COUNT(*) FROM charges)"
            " + (SELECT COUNT(*) FROM thing_totals)"
            " + (SELECT COUNT(*) FROM entries e JOIN transactions t"
            "    ON t.id = e.transaction_id WHERE t.period = :p)"
            " + (SELECT COUNT(*) FROM notifications)"), {"p": PERIOD}).scalar_one()
    floor = statistics.median(floor_seconds(db, written) for _ in range(3))
    check_started = time.perf_counter()
    with db.unit_of_work() as session:
        check = self_check(session)
    check_seconds = time.perf_counter() - check_started
    print(f"[{label}] settle: {status}, {seconds:.2f} s, {flattrs / seconds:,.0f} flattrs/s,"
          f" {written:,} rows written, peak memory {peak_kb / 1024:.0f} MB")
    print(f"[{label}] floor (bare INSERT ... SELECT of {written:,} rows, median of 3):"
          f" {floor:.2f} s;"
          f" ratio settle/floor = {seconds / floor:.2f}x (target <= 3x)")
    print(f"[{label}] self-check: {'ok' if check.ok else check.problems[:3]}"
          f" ({check_seconds:.2f} s)", flush=True)
    if parts:
        print_parts(db, label, PERIOD, floor)
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--flattrs", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--parts", action="store_true",
                        help="also time the settlement's unavoidable reads")
    parser.add_argument("--pg-url", default=os.environ.get(
        "FLATTR_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            run("sqlite", f"sqlite:///{folder}/bench.db", args.people, args.flattrs, args.parts)
    if args.backend in ("postgres", "both"):
        server = make_url(Database(args.pg_url).url)
        name = f"flattr_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            run("postgres", server.set(database=name).render_as_string(hide_password=False),
                args.people, args.flattrs, args.parts)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
