"""core/live_streams.py: a stream shard's stored position and its lease, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core import live_streams as streams
from core.db import Database
from core.live_streams import LeaseLost

NOW = datetime(2026, 10, 1, 9, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def test_one_reader_per_shard_and_the_position_survives_it(db: Database) -> None:
    first = streams.acquire(db, "bluesky", 0, "a", now=NOW, lease=LEASE)
    assert first is not None and (first.position, first.read_until) == (None, None)
    assert streams.acquire(db, "bluesky", 0, "b", now=NOW, lease=LEASE) is None
    assert streams.acquire(db, "bluesky", 1, "b", now=NOW, lease=LEASE) is not None
    with db.unit_of_work() as session:
        streams.advance(session, first, 1_000, now=NOW, lease=LEASE)
    with db.unit_of_work() as session:
        streams.advance(session, first, 900, now=NOW, lease=LEASE)  # never backwards
        streams.advance(session, first, None, now=NOW, lease=LEASE)
    later = NOW + LEASE + timedelta(seconds=1)
    taken = streams.acquire(db, "bluesky", 0, "b", now=later, lease=LEASE)
    assert taken is not None and (taken.position, taken.read_until) == (1_000, NOW)
    with pytest.raises(LeaseLost), db.unit_of_work() as session:
        streams.advance(session, first, 2_000, now=later, lease=LEASE)
    with db.unit_of_work() as session:
        assert streams.positions(session, "bluesky") == {0: 1_000, 1: None}
    streams.release(db, taken)
    assert streams.acquire(db, "bluesky", 0, "a", now=later, lease=LEASE) is not None
