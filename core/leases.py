"""Leases: claim due rows for a while, then finish them fenced. One helper for every job
that shares work between workers (the poll of linked accounts, the token-refresh claim,
the notification outbox).

A claim is one statement:

    UPDATE <table> SET <take> WHERE id IN (
        SELECT id FROM <table> WHERE <due> ORDER BY <order> LIMIT :n [FOR UPDATE SKIP LOCKED]
    ) RETURNING <columns>

On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets many workers claim at once, each getting other
rows; SQLite has no row locks, but every unit of work starts with BEGIN IMMEDIATE
(core.db), which serialises the same statement. `take` must move the row out of `due`
until the lease ends (a time column set to `:until`), so the rows of a worker that crashed
come back by themselves when their lease runs out.

A finish is an UPDATE of one row fenced on what the claim wrote (its owner, or an attempt
count): a worker whose lease lapsed and was taken over by another writes nothing, and
learns so from the row count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from core.db import Database, rows_affected
from core.models import timed


@dataclass(frozen=True)
class Lease:
    """A kind of lease over one table. The SQL fragments are constants of the module that
    owns the table (never user input); `:now`, `:until` and `:n` are bound by `claim`."""

    table: str
    due: str  # the WHERE condition of a claimable row
    take: str  # the SET assignments of a claim
    returning: str  # the columns a claim returns
    order: str = "id"  # who goes first: the longest due
    times: tuple[str, ...] = ("now", "until")  # parameters that are UTC datetimes
    result_types: Mapping[str, TypeEngine[Any]] = field(default_factory=dict)

    def statement(self, *, skip_locked: bool) -> str:
        lock = " FOR UPDATE SKIP LOCKED" if skip_locked else ""
        return (f"UPDATE {self.table} SET {self.take} WHERE id IN ("
                f"SELECT id FROM {self.table} WHERE {self.due}"
                f" ORDER BY {self.order} LIMIT :n{lock}) RETURNING {self.returning}")


def claim(db: Database, lease: Lease, *, now: datetime, duration: timedelta, limit: int,
          params: Mapping[str, Any] | None = None) -> list[Row[Any]]:
    """Claim up to `limit` due rows until `now + duration`, in their own transaction;
    returned in id order (RETURNING gives no order)."""
    if limit <= 0:
        return []
    sql = timed(lease.statement(skip_locked=db.is_postgres), *lease.times)
    if lease.result_types:
        sql = sql.columns(**lease.result_types)  # type: ignore[assignment]
    values = {**(params or {}), "now": now, "until": now + duration, "n": limit}
    with db.unit_of_work() as session:
        rows = session.execute(sql, values).all()
    return sorted(rows, key=lambda r: r.id)


def finish(session: Session, table: str, row_id: int, *, fence: str, assignments: str,
           params: Mapping[str, Any] | None = None, times: tuple[str, ...] = ()) -> bool:
    """Write what the lease holder found, only while it still holds the row (`fence`, e.g.
    `lease_owner = :owner`); False: the lease was lost and nothing was written."""
    sql = f"UPDATE {table} SET {assignments} WHERE id = :id AND ({fence})"
    return bool(rows_affected(session.execute(timed(sql, *times),
                                              {**(params or {}), "id": row_id})))
