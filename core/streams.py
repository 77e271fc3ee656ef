"""Shared streams in the database: reads that serve many linked accounts at once (X's
search groups and the service's mentions; bots/shared.py says what they are).

They follow the accounts' poll cycle (core/accounts/polling.py): `lease_due` claims due
streams (core.leases: `FOR UPDATE SKIP LOCKED` on PostgreSQL), the caller reads outside any
transaction, `store` writes the cursor and next poll time fenced on the lease. A stream's
members change only through `apply_plan`, under `lock_plan`, so two workers planning at
once write one plan.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core import leases
from core.db import Database, rows_affected
from core.models import SharedStream, timed


@dataclass(frozen=True)
class LeasedStream:
    id: int
    network: str
    name: str
    members: dict[str, str]
    cursor: dict | None
    lease_owner: str


def plans(session: Session, network: str) -> dict[str, dict[str, str]]:
    """Every stream of the network: name -> members."""
    rows = session.execute(select(SharedStream.name, SharedStream.members).where(
        SharedStream.network == network)).all()
    return {name: json.loads(members) for name, members in rows}


def lock_plan(session: Session, network: str, *, postgres: bool) -> None:
    """Serialise planners of one network until the transaction ends (SQLite's writers
    are serialised already)."""
    if postgres:
        key = zlib.crc32(f"shared_streams:{network}".encode())
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def apply_plan(session: Session, network: str, plan: Mapping[str, Mapping[str, str]], *,
               now: datetime) -> bool:
    """Make the stored streams the plan: new ones due now, members rewritten where they
    changed, streams no longer planned deleted. True when anything changed."""
    rows = {row.name: row for row in session.execute(select(SharedStream).where(
        SharedStream.network == network)).scalars()}
    changed = False
    for name, row in rows.items():
        if name not in plan:
            session.delete(row)
            changed = True
    for name, members in plan.items():
        encoded = json.dumps(dict(members), sort_keys=True)
        existing = rows.get(name)
        if existing is None:
            session.add(SharedStream(network=network, name=name, members=encoded,
                                     next_poll_at=now, created_at=now))
            changed = True
        elif existing.members != encoded:
            existing.members = encoded
            changed = True
    session.flush()
    return changed


LEASE = leases.Lease(
    table="shared_streams",
    due="next_poll_at <= :now",
    take="lease_owner = :owner, lease_until = :until, next_poll_at = :until",
    returning="id, network, name, members, cursor",
    order="next_poll_at, id",
)


def lease_due(db: Database, owner: str, *, now: datetime, limit: int,
              lease: timedelta) -> list[LeasedStream]:
    """Claim up to `limit` due streams for `lease`, oldest due first (returned by id)."""
    rows = leases.claim(db, LEASE, now=now, duration=lease, limit=limit,
                        params={"owner": owner})
    return [LeasedStream(id=r.id, network=r.network, name=r.name,
                         members=json.loads(r.members),
                         cursor=json.loads(r.cursor) if r.cursor else None, lease_owner=owner)
            for r in rows]


def store(session: Session, stream: LeasedStream, *, now: datetime, cursor: dict,
          next_poll_at: datetime, error: str | None) -> bool:
    """The poll's cursor and next time, fenced on the lease: False (nothing written) when
    the lease was lost or the stream was planned away meanwhile."""
    return leases.finish(
        session, "shared_streams", stream.id, fence="lease_owner = :owner",
        assignments="cursor = :cursor, next_poll_at = :next, last_polled_at = :now,"
                    " last_error = :error, lease_owner = NULL, lease_until = NULL",
        params={"cursor": json.dumps(cursor, sort_keys=True), "next": next_poll_at,
                "now": now, "error": (error or None) and error[:500],
                "owner": stream.lease_owner},
        times=("now", "next"))


def release(db: Database, owner: str, *, now: datetime) -> int:
    """Give back leases not stored (shutdown): due again at once, for any worker."""
    with db.unit_of_work() as session:
        return rows_affected(session.execute(
            timed("UPDATE shared_streams SET lease_owner = NULL, lease_until = NULL,"
                  " next_poll_at = :now WHERE lease_owner = :owner AND lease_until > :now",
                  "now"), {"owner": owner, "now": now}))


def counts(session: Session, *, now: datetime) -> dict[str, int]:
    row = session.execute(timed(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN next_poll_at <= :now THEN 1 ELSE 0 END), 0),"
        " COALESCE(SUM(CASE WHEN lease_owner IS NOT NULL AND lease_until > :now"
        " THEN 1 ELSE 0 END), 0) FROM shared_streams", "now"), {"now": now}).one()
    return {"streams": int(row[0]), "due": int(row[1]), "leased": int(row[2])}


def next_due_at(session: Session) -> datetime | None:
    """The earliest `next_poll_at` of any shared stream (a simulated clock jumps to it)."""
    return session.execute(select(func.min(SharedStream.next_poll_at))).scalar()
