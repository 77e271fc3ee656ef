"""Live streams (Bluesky's Jetstream): each shard's stored position and its lease.

A network's stream is read in shards (Jetstream: 10,000 DIDs a connection). Each shard has
one row: `position` (the stream's own cursor; Jetstream's time_us) and a lease
(core.leases), so that only one worker reads a shard at a time. The holder stores a batch's
activities and the new position in one transaction, fenced on its lease (`advance`): a
worker that lost its lease rolls back, and the new holder replays from the stored position
(activity keys make the replay idempotent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, select
from sqlalchemy.orm import Session

from core import leases
from core.db import Database
from core.ingest_sql import insert
from core.models import StreamCursor, UtcDateTime

TABLE = "stream_cursors"
_SHARD = leases.Lease(
    table=TABLE,
    due=("network = :network AND shard = :shard"
         " AND (lease_owner IS NULL OR lease_owner = :owner OR lease_until < :now)"),
    take="lease_owner = :owner, lease_until = :until",
    returning="id, position, updated_at",
    result_types={"position": BigInteger(), "updated_at": UtcDateTime()},
)
_FENCE = "lease_owner = :owner"


class LeaseLost(RuntimeError):
    """Another worker holds the shard now: the batch in hand is not stored."""


@dataclass(frozen=True)
class Held:
    id: int
    network: str
    shard: int
    owner: str
    position: int | None  # None: never read (start from now)
    # When a batch was last stored: the reader was connected until then, so a quiet shard
    # whose position is old has lost nothing before it.
    read_until: datetime | None = None


def acquire(db: Database, network: str, shard: int, owner: str, *, now: datetime,
            lease: timedelta) -> Held | None:
    """Take (or renew) the shard's lease when it is free, expired or ours; None when
    another worker holds it."""
    with db.unit_of_work() as session:
        session.execute(insert(session, StreamCursor).on_conflict_do_nothing(
            index_elements=["network", "shard"]),
            [{"network": network, "shard": shard, "updated_at": now}])
    rows = leases.claim(db, _SHARD, now=now, duration=lease, limit=1,
                        params={"network": network, "shard": shard, "owner": owner})
    if not rows:
        return None
    row = rows[0]
    return Held(row.id, network, shard, owner, row.position,
                row.updated_at if row.position is not None else None)


def advance(session: Session, held: Held, position: int | None, *, now: datetime,
            lease: timedelta) -> None:
    """Store the new position (never backwards) and renew the lease, inside the batch's
    transaction; LeaseLost when the lease is no longer ours."""
    stored = leases.finish(
        session, TABLE, held.id, fence=_FENCE, times=("until", "now"),
        assignments=("position = CASE WHEN position IS NULL"
                     " OR CAST(:position AS BIGINT) > position THEN CAST(:position AS BIGINT)"
                     " ELSE position END, lease_until = :until, updated_at = :now"),
        params={"position": position, "until": now + lease, "now": now,
                "owner": held.owner})
    if not stored:
        raise LeaseLost(f"{held.network} shard {held.shard} is no longer {held.owner}'s")


def release(db: Database, held: Held) -> None:
    with db.unit_of_work() as session:
        leases.finish(session, TABLE, held.id, fence=_FENCE,
                      assignments="lease_owner = NULL, lease_until = NULL",
                      params={"owner": held.owner})


def positions(session: Session, network: str) -> dict[int, int | None]:
    rows = session.execute(select(StreamCursor.shard, StreamCursor.position).where(
        StreamCursor.network == network)).all()
    return {shard: position for shard, position in rows}
