"""The shared streams in the database (X's search groups and mentions): planned once for
many workers, leased so one worker reads each, their reads counted per month and paced
under the deployment's cap; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import text

from core import streams, usage
from core.models import SocialAccount
from tests.jobs.conftest import Rig, link_people

EXPLICIT_ONLY = {"x_triggers": frozenset({"explicit"})}


@pytest.mark.parametrize("rig", [EXPLICIT_ONLY], indirect=True)
def test_many_workers_plan_one_set_of_streams_and_each_is_read_once(rig: Rig) -> None:
    link_people(rig.app, rig.scenario)
    workers = [rig.worker(f"w{n}") for n in range(3)]
    try:
        barrier = threading.Barrier(len(workers))

        def plan(worker) -> None:  # type: ignore[no-untyped-def]
            barrier.wait()
            for network, reader in worker.shared.readers.items():
                worker.shared.plan(network, reader, rig.app.now())

        threads = [threading.Thread(target=plan, args=(w,)) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with rig.app.db.unit_of_work() as session:
            planned = streams.plans(session, "x")
        people = {p["x"]["user_id"] for p in rig.scenario["people"]}
        assert set(planned) == {"mentions", "search:1"} and set(planned["search:1"]) == people
        # Leases are exclusive: the first worker holds both, the others get none.
        now = rig.app.now()
        first = streams.lease_due(rig.app.db, "w0", now=now, limit=10, lease=timedelta(minutes=2))
        assert [s.name for s in first] == ["mentions", "search:1"]
        assert streams.lease_due(rig.app.db, "w1", now=now, limit=10,
                                 lease=timedelta(minutes=2)) == []
        # A lease taken over: the old holder's store writes nothing.
        rig.clock.advance(minutes=3)
        taken = streams.lease_due(rig.app.db, "w1", now=rig.app.now(), limit=10,
                                  lease=timedelta(minutes=2))
        assert len(taken) == 2
        with rig.app.db.unit_of_work() as session:
            assert not streams.store(session, first[0], now=rig.app.now(), cursor={},
                                     next_poll_at=rig.app.now(), error=None)
        assert streams.release(rig.app.db, "w1", now=rig.app.now()) == 2
    finally:
        for worker in workers:
            worker.close()


@pytest.mark.parametrize("rig", [EXPLICIT_ONLY], indirect=True)
def test_the_worker_finds_requests_by_search_and_counts_what_it_read(rig: Rig) -> None:
    link_people(rig.app, rig.scenario)
    worker = rig.worker()
    try:
        for _ in range(10 * 24):  # ten days, hourly
            worker.poll()
            rig.clock.advance(hours=1)
    finally:
        worker.close()
    with rig.app.db.unit_of_work() as session:
        read, asked = usage.month(session, now=rig.app.now())["x"]
        found = session.execute(text("SELECT action, COUNT(*) FROM activities"
                                     " WHERE network = 'x' GROUP BY action")).all()
        errors = session.execute(text("SELECT last_error FROM shared_streams"
                                      " WHERE last_error IS NOT NULL")).all()
    assert errors == []
    assert dict(found)["explicit"] > 5 and set(dict(found)) == {"explicit"}
    assert read <= 1.5 * dict(found)["explicit"] and asked > 0
    # Nobody's own timeline was read: no reposts flattr here.
    assert rig.sandbox.request_counts().get("users_tweets", 0) == 0


@pytest.mark.parametrize("rig", [{**EXPLICIT_ONLY, "x_triggers": frozenset(
    {"likes", "explicit"}), "x_monthly_read_cap": 100}], indirect=True)
def test_near_the_cap_the_worker_waits_until_the_month_turns(rig: Rig) -> None:
    link_people(rig.app, rig.scenario)
    with rig.app.db.unit_of_work() as session:  # 95 of 100 read already this month
        usage.add(session, "x", now=rig.app.now(), posts_read=95, requests=10)
    worker = rig.worker()
    try:
        worker.poll()
    finally:
        worker.close()
    month_start = rig.app.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    turn = (month_start + timedelta(days=32)).replace(day=1)
    with rig.app.db.unit_of_work() as session:
        x_due = [a.next_poll_at for a in session.query(SocialAccount).filter_by(network="x")]
        fb_due = [a.next_poll_at for a in session.query(SocialAccount).filter_by(
            network="facebook")]
    assert x_due and all(due >= turn for due in x_due)
    assert all(due < turn for due in fb_due)  # Facebook has no such cap
