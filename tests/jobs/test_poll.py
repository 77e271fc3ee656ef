"""Leasing, fencing and the poll job against the sandbox (real adapters, over HTTP)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text

from core.accounts import lease_due, release_leases, store_poll
from core.models import ActivityRecord, Flattr, Notification, SocialAccount
from tests.jobs.conftest import Rig, link_people

LEASE = timedelta(minutes=2)


def test_two_workers_never_lease_the_same_account(rig: Rig) -> None:
    link_people(rig.app, rig.scenario)
    db, now = rig.app.db, rig.app.now()
    first = lease_due(db, "a", now=now, limit=3, lease=LEASE)
    second = lease_due(db, "b", now=now, limit=100, lease=LEASE)
    assert len(first) == 3 and len(second) == 5
    assert not {a.id for a in first} & {a.id for a in second}
    assert lease_due(db, "c", now=now, limit=100, lease=LEASE) == []
    # A crashed worker's leases come back by themselves once they run out.
    later = lease_due(db, "c", now=now + LEASE + timedelta(seconds=1), limit=100, lease=LEASE)
    assert len(later) == 8


def test_a_lost_lease_writes_nothing(rig: Rig) -> None:
    link_people(rig.app, rig.scenario)
    db, now = rig.app.db, rig.app.now()
    mine = lease_due(db, "slow", now=now, limit=100, lease=LEASE)[0]
    taken = lease_due(db, "fast", now=now + LEASE * 2, limit=100, lease=LEASE)
    [theirs] = [a for a in taken if a.id == mine.id]
    with db.unit_of_work() as session:
        lost = store_poll(session, rig.app.rules, mine, now=now, activities=[], cursor={"x": 1},
                          next_poll_at=now, status="ok", error=None)
        kept = store_poll(session, rig.app.rules, theirs, now=now, activities=[],
                          cursor={"y": 2}, next_poll_at=now + timedelta(hours=1), status="ok",
                          error=None)
    assert not lost.stored and kept.stored
    with db.unit_of_work() as session:
        account = session.get(SocialAccount, mine.id)
        assert account is not None and account.cursor == '{"y": 2}'
        assert account.lease_owner is None


def test_poll_job_flattrs_each_activity_once(rig: Rig) -> None:
    link_people(rig.app, rig.scenario)
    worker = rig.worker(ordered=True)
    try:
        first = worker.poll()  # records watermarks: nothing older is flattred
        assert first.polled == 8 and first.flattrs == 0
        rig.clock.advance(days=4)  # type: ignore[attr-defined]
        found = worker.poll()
        assert found.polled == 8 and found.activities > 0 and found.flattrs > 0
        assert worker.poll().polled == 0  # nothing due at the same instant
        rig.clock.advance(days=10)  # type: ignore[attr-defined]
        worker.poll()
    finally:
        worker.close()
    with rig.app.db.unit_of_work() as session:
        activities = session.execute(select(func.count()).select_from(ActivityRecord)).scalar()
        flattred = session.execute(select(func.count()).where(
            ActivityRecord.outcome == "flattred")).scalar()
        flattrs = session.execute(select(func.count()).select_from(Flattr)).scalar()
        leased = session.execute(select(func.count()).where(
            SocialAccount.lease_owner.is_not(None))).scalar()
    assert activities and flattred == flattrs and leased == 0


def test_revoked_token_asks_the_person_to_reconnect(rig: Rig) -> None:
    link_people(rig.app, rig.scenario)
    worker = rig.worker()
    try:
        worker.poll()
        rig.sandbox.revoke_token(rig.scenario["people"][0]["x"]["token"])
        rig.clock.advance(days=3)  # past any idle pacing  # type: ignore[attr-defined]
        stats = worker.poll()
    finally:
        worker.close()
    assert stats.statuses.get("needs_reconnect") == 1
    with rig.app.db.unit_of_work() as session:
        statuses = session.execute(select(SocialAccount.status)).scalars().all()
        kinds = session.execute(select(Notification.kind)).scalars().all()
    assert statuses.count("needs_reconnect") == 1
    assert "needs_reconnect" in kinds
    # An account that needs reconnecting is not polled again until it is reconnected.
    rig.clock.advance(days=9)  # type: ignore[attr-defined]
    due = lease_due(rig.app.db, "z", now=rig.app.now(), limit=100, lease=LEASE)
    assert len(due) == 7


def test_stopping_releases_leases_not_stored(rig: Rig) -> None:
    link_people(rig.app, rig.scenario)
    db, now = rig.app.db, rig.app.now()
    leased = lease_due(db, "leaving", now=now, limit=4, lease=LEASE)
    assert release_leases(db, "leaving", now=now) == len(leased) == 4
    with db.unit_of_work() as session:
        held = session.execute(text(
            "SELECT COUNT(*) FROM social_accounts WHERE lease_owner IS NOT NULL")).scalar()
    assert held == 0
    assert len(lease_due(db, "next", now=now, limit=100, lease=LEASE)) == 8
