"""The flattring rules one activity at a time: the reference that core.ingest's batched
path is held to (tests/integration/test_ingest.py). Not used in production."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import notifications
from core.activity import Activity
from core.models import ActivityRecord, Flattr, Person, SocialAccount, Thing, timed
from core.outcomes import (
    MANUAL_NETWORK,
    FlattrOutcome,
    already,
    concurrent_duplicate,
    duplicate,
    flattred,
    keeps_key,
    no_budget,
    no_target,
    open_period,
    own,
    refusal_notice,
    wallet_too_low,
)
from core.people import budget_for, wallet_balance
from core.periods import period_end
from core.retractions import reinstate
from core.rules import Rules
from core.things import resolve_target


def record_each(session: Session, rules: Rules, person_id: int,
                activities: Iterable[Activity], *, now: datetime) -> list[FlattrOutcome]:
    """The reference path: each activity in its own savepoint (a lost race costs only it)."""
    outcomes = []
    for activity in activities:
        try:
            with session.begin_nested():
                outcomes.append(record_activity(session, rules, person_id, activity, now=now))
        except IntegrityError:
            outcomes.append(concurrent_duplicate())
    return outcomes


def record_activity(session: Session, rules: Rules, person_id: int, activity: Activity, *,
                    now: datetime) -> FlattrOutcome:
    if _seen(session, activity.key):
        return duplicate(activity.key)
    period = open_period(session, min(activity.occurred_at, now))
    thing = resolve_target(session, activity.targets, now=now)
    outcome = _decide(session, rules, person_id, thing, period, activity, now)
    if not keeps_key(activity.network, outcome):
        return outcome
    session.execute(insert(ActivityRecord).values(
        key=activity.key, network=activity.network, action=activity.action,
        person_id=person_id, occurred_at=activity.occurred_at,
        thing_id=thing.id if thing else None, flattr_id=outcome.flattr_id,
        outcome=outcome.outcome, created_at=now,
    ))
    if outcome.outcome == "already" and outcome.flattr_id is not None:
        reinstate(session, [outcome.flattr_id])  # it was undone: this one supports it again
    return outcome


def _decide(session: Session, rules: Rules, person_id: int, thing: Thing | None, period: str,
            activity: Activity, now: datetime) -> FlattrOutcome:
    if thing is None:
        return no_target()
    if _is_own(session, person_id, thing):
        return own(thing.url)
    wallet = wallet_balance(session, person_id)
    if wallet < rules.min_monthly_budget:
        _notify_refused(session, person_id, period, wallet, now)
        return wallet_too_low(rules, wallet, thing.url, period)
    if budget_for(session, person_id, period) is None:
        if activity.network != MANUAL_NETWORK:
            _notify_refused(session, person_id, period, None, now)
        return no_budget(thing.url, period)
    flattr_id = None
    for _ in range(3):  # a period may close between choosing it and writing the flattr
        existing = session.execute(select(Flattr.id).where(
            Flattr.person_id == person_id, Flattr.thing_id == thing.id, Flattr.period == period,
        )).scalar_one_or_none()
        if existing is not None:
            return already(thing.url, period, existing)
        flattr_id = session.execute(_INSERT_FLATTR, {
            "person": person_id, "thing": thing.id, "p": period, "source": activity.network,
            "at": activity.occurred_at,
        }).scalar_one_or_none()
        if flattr_id is not None:
            break
        period = open_period(session, period_end(period))
    if flattr_id is None:
        raise RuntimeError(f"no open period found for a flattr after {period}")
    announce = session.execute(
        select(Person.announce_flattrs).where(Person.id == person_id)).scalar_one()
    if announce and activity.network != "web":
        notifications.enqueue(session, "announce_flattr", f"announce:{flattr_id}", now=now,
                              person_id=person_id,
                              payload={"flattr_id": flattr_id, "url": thing.url})
    return flattred(flattr_id, thing.url, period)


# Guarded so that no flattr lands in a period whose settlement has begun.
_INSERT_FLATTR = timed(
    "INSERT INTO flattrs (person_id, thing_id, period, source, occurred_at, rank_key)"
    " SELECT :person, :thing, CAST(:p AS VARCHAR(7)), CAST(:source AS VARCHAR(16)), :at,"
    " (SELECT rank_key FROM things WHERE id = :thing)"
    " WHERE NOT EXISTS (SELECT 1 FROM settlements WHERE period = :p)"
    " RETURNING id",
    "at",
)


def _seen(session: Session, key: str) -> bool:
    return session.execute(
        select(ActivityRecord.id).where(ActivityRecord.key == key)).first() is not None


def _is_own(session: Session, person_id: int, thing: Thing) -> bool:
    if thing.owner_id == person_id:
        return True
    if thing.identity is None:
        return False
    return session.execute(select(SocialAccount.id).where(
        SocialAccount.person_id == person_id, SocialAccount.identity == thing.identity,
    )).first() is not None




def _notify_refused(session: Session, person_id: int, period: str, wallet: int | None,
                    now: datetime) -> None:
    kind, key, payload = refusal_notice(person_id, period, wallet)
    notifications.enqueue(session, kind, key, now=now, person_id=person_id, payload=payload)
