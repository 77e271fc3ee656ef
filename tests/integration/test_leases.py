"""core.leases: one claim statement and a fenced finish, on SQLite and PostgreSQL (here on
the outbox's table; the poll, token-refresh and outbox claims are tested with their jobs)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from core import leases, notifications
from core.db import Database

NOW = datetime(2026, 10, 3, 12, 0, tzinfo=UTC)
TOY = leases.Lease(
    table="notifications",
    due="status = 'pending' AND next_attempt_at <= :now",
    take="status = 'pending', next_attempt_at = :until, last_error = :owner",
    returning="id, last_error",
    order="next_attempt_at, id",
)


def _rows(db: Database, n: int) -> None:
    with db.unit_of_work() as session:
        for i in range(n):
            notifications.enqueue(session, "wallet_low", f"k{i}", now=NOW - timedelta(minutes=i))


def test_a_claim_takes_the_longest_due_first_and_hides_them_until_the_lease_ends(
        db: Database) -> None:
    _rows(db, 5)
    first = leases.claim(db, TOY, now=NOW, duration=timedelta(minutes=2), limit=3,
                         params={"owner": "a"})
    assert [r.id for r in first] == [3, 4, 5] and {r.last_error for r in first} == {"a"}
    again = leases.claim(db, TOY, now=NOW, duration=timedelta(minutes=2), limit=10,
                         params={"owner": "b"})
    assert [r.id for r in again] == [1, 2]
    assert leases.claim(db, TOY, now=NOW, duration=timedelta(minutes=2), limit=10,
                        params={"owner": "c"}) == []
    later = NOW + timedelta(minutes=2)  # a's worker died: its rows come back
    assert len(leases.claim(db, TOY, now=later, duration=timedelta(minutes=2), limit=10,
                            params={"owner": "c"})) == 5
    assert leases.claim(db, TOY, now=NOW, duration=timedelta(0), limit=0) == []


def test_a_finish_is_fenced_on_the_claim(db: Database) -> None:
    _rows(db, 1)
    (row,) = leases.claim(db, TOY, now=NOW, duration=timedelta(minutes=1), limit=1,
                          params={"owner": "a"})
    leases.claim(db, TOY, now=NOW + timedelta(minutes=1), duration=timedelta(minutes=1),
                 limit=1, params={"owner": "b"})  # a stalled past its lease; b took over
    with db.unit_of_work() as session:
        assert not leases.finish(session, "notifications", row.id, fence="last_error = :owner",
                                 assignments="status = 'sent'", params={"owner": "a"})
        assert leases.finish(session, "notifications", row.id, fence="last_error = :owner",
                             assignments="status = 'sent', sent_at = :now",
                             params={"owner": "b", "now": NOW}, times=("now",))


def test_concurrent_claims_never_share_a_row(db: Database) -> None:
    _rows(db, 60)
    got: dict[str, list[int]] = {}

    def worker(name: str) -> None:
        mine: list[int] = []
        while batch := leases.claim(db, TOY, now=NOW, duration=timedelta(minutes=5), limit=4,
                                    params={"owner": name}):
            mine += [r.id for r in batch]
        got[name] = mine

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [i for ids in got.values() for i in ids]
    assert sorted(claimed) == list(range(1, 61))  # each exactly once
