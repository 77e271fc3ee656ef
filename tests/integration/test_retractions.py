"""Undoing activities (core.retractions): a flattr goes only when nothing of that person
still supports it in its open month, and comes back with new support; on SQLite and
PostgreSQL."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core import flattring, settlement
from core.activity import Activity, Target
from core.models import ActivityRecord, Flattr, Thing
from core.retractions import Retraction, retract
from tests.integration.helpers import add_person, at

PAGE = "https://example.org/page"  # two posts link it: the same creation by two records
POSTS = {"p1": PAGE, "p2": PAGE, "p3": "https://example.org/other"}


def _activity(person: str, action: str, record: str, post: str,
              when: datetime | None = None) -> Activity:
    url = POSTS[post]
    return Activity("bluesky", action, f"at://{person}/{action}/{record}", f"bluesky:{person}",
                    when or at(5), targets=(Target(url=url, identity=f"url:{url}"),))


def _record(db, rules, person_id: int, *activities: Activity,  # type: ignore[no-untyped-def]
            now: datetime | None = None) -> list[flattring.FlattrOutcome]:
    with db.unit_of_work() as session:
        return flattring.record_activities(session, rules, person_id, activities,
                                           now=now or at(6))


def _undo(db, person_id: int, *activities: Activity,  # type: ignore[no-untyped-def]
          now: datetime | None = None) -> int:
    with db.unit_of_work() as session:
        return retract(session, [Retraction(person_id, a.key, a.network, a.action,
                                            a.occurred_at) for a in activities],
                       now=now or at(7))


def _open(db, person_id: int) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(url, period) of the person's flattrs that stand."""
    with db.unit_of_work() as session:
        return {(row.url, row.period) for row in session.execute(
            select(Thing.url, Flattr.period).join(Thing, Thing.id == Flattr.thing_id).where(
                Flattr.person_id == person_id, Flattr.withdrawn_at.is_(None)))}


def test_deleting_a_like_keeps_the_flattr_a_repost_of_the_same_post_still_supports(db, rules):
    ann = add_person(db, rules, "ann")
    like, repost = _activity("ann", "like", "1", "p1"), _activity("ann", "repost", "2", "p1")
    assert [o.outcome for o in _record(db, rules, ann, like, repost)] == ["flattred", "already"]
    assert _undo(db, ann, like) == 0 and _open(db, ann) == {(PAGE, "2026-10")}
    assert _undo(db, ann, repost) == 1 and _open(db, ann) == set()


def test_another_post_linking_the_same_page_or_an_explicit_request_supports_it_too(db, rules):
    ann = add_person(db, rules, "ann")
    like = _activity("ann", "like", "1", "p1")
    other, explicit = _activity("ann", "like", "2", "p2"), _activity("ann", "explicit", "3", "p1")
    _record(db, rules, ann, like)
    _record(db, rules, ann, other, explicit)  # a later batch joins the flattr
    assert _undo(db, ann, like, other) == 0 and _open(db, ann) == {(PAGE, "2026-10")}
    assert _undo(db, ann, explicit) == 1


def test_a_flattr_undone_comes_back_with_a_new_like_but_not_one_withdrawn_by_hand(db, rules):
    ann, bob = add_person(db, rules, "ann"), add_person(db, rules, "bob")
    first = _record(db, rules, ann, _activity("ann", "like", "1", "p1"))[0]
    _undo(db, ann, _activity("ann", "like", "1", "p1"))
    again = _record(db, rules, ann, _activity("ann", "like", "2", "p2"))[0]
    assert again.outcome == "already" and again.flattr_id == first.flattr_id
    assert _open(db, ann) == {(PAGE, "2026-10")}
    mine = _record(db, rules, bob, _activity("bob", "like", "1", "p1"))[0]
    with db.unit_of_work() as session:
        assert flattring.withdraw(session, bob, mine.flattr_id, now=at(6))  # type: ignore[arg-type]
    _record(db, rules, bob, _activity("bob", "repost", "2", "p1"))
    assert _open(db, bob) == set()


def test_an_undo_seen_before_its_like_leaves_a_tombstone_so_the_like_flattrs_nothing(db, rules):
    ann = add_person(db, rules, "ann")
    like = _activity("ann", "like", "1", "p1")
    assert _undo(db, ann, like) == 0
    assert [o.outcome for o in _record(db, rules, ann, like)] == ["duplicate"]
    assert _open(db, ann) == set()
    assert _undo(db, ann, like) == 0  # an undo replayed changes nothing


def test_an_undo_after_the_month_closed_leaves_its_flattr(db, rules):
    ann = add_person(db, rules, "ann")
    like = _activity("ann", "like", "1", "p1")
    _record(db, rules, ann, like)
    settlement.settle(db, rules, "2026-10", now=at(1, month=11))
    assert _undo(db, ann, like, now=at(2, month=11)) == 0
    assert _open(db, ann) == {(PAGE, "2026-10")}


# -- a property: whatever the order, the flattrs are those of the surviving records ---------

RECORDS = [("like", "1", "p1"), ("like", "2", "p2"), ("repost", "3", "p1"),
           ("explicit", "4", "p3"), ("like", "5", "p3")]
EVENTS = st.lists(st.tuples(st.sampled_from(["create", "delete"]),
                            st.integers(0, len(RECORDS) - 1)), max_size=14)
_names = itertools.count()


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=EVENTS, batch=st.integers(1, 4))
def test_any_sequence_of_creates_deletes_and_replays_ends_as_the_surviving_records_say(
        db, rules, events, batch):
    name = f"p{next(_names)}"
    person = add_person(db, rules, name)
    created, deleted = set(), set()
    for start in range(0, len(events), batch):  # a batch: its creates, then its deletes
        chunk = events[start:start + batch]
        creates = [_activity(name, *RECORDS[n]) for op, n in chunk if op == "create"]
        deletes = [_activity(name, *RECORDS[n]) for op, n in chunk if op == "delete"]
        if creates:
            _record(db, rules, person, *creates)
        if deletes:
            _undo(db, person, *deletes)
        created |= {n for op, n in chunk if op == "create"}
        deleted |= {n for op, n in chunk if op == "delete"}
    # A record deleted is gone for good (record keys are never reused), whatever came first.
    surviving = {POSTS[RECORDS[n][2]] for n in created - deleted}
    assert _open(db, person) == {(url, "2026-10") for url in surviving}
    with db.unit_of_work() as session:
        standing = session.execute(select(ActivityRecord.key).where(
            ActivityRecord.person_id == person, ActivityRecord.retracted_at.is_(None))).scalars()
        assert {k.rsplit("/", 1)[1] for k in standing} == {RECORDS[n][1]
                                                           for n in created - deleted}


# -- a race (PostgreSQL: row locks; SQLite has one writer) -----------------------------------


def _race(db, rules, first_undoes: bool) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """One transaction undoes the like while another records a repost of the same post;
    the first holds its transaction open while the second starts, then commits."""
    name = f"r{next(_names)}"
    person = add_person(db, rules, name)
    like, repost = _activity(name, "like", "1", "p1"), _activity(name, "repost", "2", "p1")
    _record(db, rules, person, like)
    errors: list[BaseException] = []

    def second() -> None:
        try:
            if first_undoes:
                _record(db, rules, person, repost)
            else:
                _undo(db, person, like)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    with db.unit_of_work() as session:
        if first_undoes:
            retract(session, [Retraction(person, like.key, like.network, like.action,
                                         like.occurred_at)], now=at(7))
        else:
            flattring.record_activities(session, rules, person, [repost], now=at(6))
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(0.5)  # it waits for this transaction's row lock
    thread.join(10)
    assert not errors and not thread.is_alive()
    return _open(db, person)


def test_an_undo_and_new_support_at_the_same_time_leave_the_flattr_standing(db, rules):
    if not db.is_postgres:
        return  # one writer at a time: no interleaving to test
    assert _race(db, rules, first_undoes=True) == {(PAGE, "2026-10")}
    assert _race(db, rules, first_undoes=False) == {(PAGE, "2026-10")}
