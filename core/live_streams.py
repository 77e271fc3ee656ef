"""Live streams (Bluesky's Jetstream): each shard's stored cursor and its lease.

A network's stream is read in shards (Jetstream: 10,000 DIDs a connection). Each shard has
one row: `position` (the stream's own cursor; Jetstream's time_us) and a lease, so that
only one worker reads a shard at a time. The holder stores a batch's activities and the
new position in one transaction, guarded by its lease (`advance`): a worker that lost its
lease rolls back, and the new holder replays from the stored position (activity keys make
the replay idempotent).

This is the smallest lease that does the job (one conditional UPDATE), written before the
project's one lease helper (core/leases.py, A2) landed; it should move onto that helper.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, select
from sqlalchemy.orm import Session

from core.db import Database, rows_affected
from core.ingest_sql import insert
from core.models import StreamCursor, UtcDateTime, timed


class LeaseLost(RuntimeError):
    """Another worker holds the shard now: the batch in hand is not stored."""


@dataclass(frozen=True)
class Held:
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
        row = session.execute(timed(
            "UPDATE stream_cursors SET lease_owner = :owner, lease_until = :until"
            " WHERE network = :network AND shard = :shard AND (lease_owner IS NULL"
            " OR lease_owner = :owner OR lease_until < :now) RETURNING position, updated_at",
            "until", "now").columns(position=BigInteger(), updated_at=UtcDateTime()),
            {"owner": owner, "until": now + lease, "now": now, "network": network,
             "shard": shard}).first()
    if row is None:
        return None
    read_until = row.updated_at if row.position is not None else None
    return Held(network, shard, owner, row.position, read_until)


def advance(session: Session, held: Held, position: int | None, *, now: datetime,
            lease: timedelta) -> None:
    """Store the new position (never backwards) and renew the lease, inside the batch's
    transaction; LeaseLost when the lease is no longer ours."""
    done = rows_affected(session.execute(timed(
        "UPDATE stream_cursors SET position = CASE WHEN position IS NULL"
        " OR CAST(:position AS BIGINT) > position THEN CAST(:position AS BIGINT)"
        " ELSE position END, lease_until = :until, updated_at = :now"
        " WHERE network = :network AND shard = :shard AND lease_owner = :owner",
        "until", "now"), {"position": position, "until": now + lease, "now": now,
                          "network": held.network, "shard": held.shard,
                          "owner": held.owner}))
    if not done:
        raise LeaseLost(f"{held.network} shard {held.shard} is no longer {held.owner}'s")


def release(db: Database, network: str, shard: int, owner: str) -> None:
    with db.unit_of_work() as session:
        session.execute(timed(
            "UPDATE stream_cursors SET lease_owner = NULL, lease_until = NULL"
            " WHERE network = :network AND shard = :shard AND lease_owner = :owner"),
            {"network": network, "shard": shard, "owner": owner})


def positions(session: Session, network: str) -> dict[int, int | None]:
    return dict(session.execute(select(StreamCursor.shard, StreamCursor.position).where(
        StreamCursor.network == network)).all())  # type: ignore[arg-type]
