"""What the settlement's unavoidable reads cost on their own, next to the floor.

Called by `bench/settle.py --parts` after the period settled (charges and shares exist).
Every query here only reads, so none of them is in the floor's row count: they show how
much of the 3x budget the work that writes nothing already takes.
"""

from __future__ import annotations

import statistics
import time

from sqlalchemy import text

from core.db import Database
from core.periods import period_index
from core.settlement_sql import SPLIT_ORDER, SPLIT_ORDERS

OPEN_FLATTRS = "FROM flattrs WHERE period = :p AND withdrawn_at IS NULL"

# The split of core/settlement_sql.py SHARES_SQL, computed and summed instead of written.
SPLIT = """
SELECT COUNT(*), SUM(base + CASE WHEN (rank + :rot) % n < leftover THEN 1 ELSE 0 END) FROM (
    SELECT c.flattrs AS n, c.charged_cents / c.flattrs AS base,
           c.charged_cents % c.flattrs AS leftover, {rank} AS rank
    FROM charges c
    JOIN flattrs f ON f.period = c.period AND f.person_id = c.person_id
    WHERE c.period = :p AND c.flattrs > 0 AND f.withdrawn_at IS NULL
) ranked
"""
WINDOW_RANK = ("ROW_NUMBER() OVER (PARTITION BY c.person_id"
               f" ORDER BY {SPLIT_ORDERS[SPLIT_ORDER]}) - 1")

PARTS = (
    ("scan the month's open flattrs", f"SELECT COUNT(*), SUM(thing_id) {OPEN_FLATTRS}"),
    ("count them per person (charges)",
     f"SELECT COUNT(*) FROM (SELECT person_id, COUNT(*) AS n {OPEN_FLATTRS} GROUP BY person_id)"
     " counted"),
    ("split, ranked by the window (shares)", SPLIT.format(rank=WINDOW_RANK)),
    ("same join, no window (not a split)", SPLIT.format(rank="f.thing_id")),
    ("group the shares by thing (totals)",
     "SELECT COUNT(*) FROM (SELECT thing_id, COUNT(*) AS n, SUM(share_cents) AS gross"
     " FROM shares WHERE period = :p GROUP BY thing_id) totals"),
)


def print_parts(db: Database, label: str, period: str, floor: float) -> None:
    params = {"p": period, "rot": period_index(period)}
    print(f"[{label}] reads alone (median of 3; x = share of the floor, {floor:.2f} s):")
    for name, sql in PARTS:
        seconds = statistics.median(_timed(db, sql, params) for _ in range(3))
        print(f"[{label}]   {name:<38} {seconds:6.3f} s  {seconds / floor:5.2f}x")


def _timed(db: Database, sql: str, params: dict[str, object]) -> float:
    with db.engine.connect() as connection:
        if db.is_postgres:
            connection.execute(text("SET work_mem = '256MB'"))
            connection.execute(text("SET jit = off"))
        started = time.perf_counter()
        connection.execute(text(sql), params).all()
        return time.perf_counter() - started
