"""Activity -> flattr: idempotent on the activity key, once per person per thing per period,
never one's own thing, refused when the wallet cannot cover the minimum budget."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import notifications
from core.activity import Activity, Target
from core.db import rows_affected
from core.models import (
    ActivityRecord,
    Flattr,
    Person,
    Settlement,
    SocialAccount,
    Thing,
    timed,
)
from core.money import format_cents
from core.people import budget_for, wallet_balance
from core.periods import next_period, period_end, period_of
from core.rules import Rules
from core.things import resolve_target
from core.urls import canonicalize, url_identity

FLATTRED = "flattred"
OUTCOMES = (FLATTRED, "duplicate", "already", "own", "no_means", "no_target")


@dataclass(frozen=True)
class FlattrOutcome:
    outcome: str
    message: str
    flattr_id: int | None = None
    thing_url: str | None = None
    period: str | None = None

    @property
    def flattred(self) -> bool:
        return self.outcome == FLATTRED


def record_activities(session: Session, rules: Rules, person_id: int,
                      activities: Iterable[Activity], *, now: datetime) -> list[FlattrOutcome]:
    """A batch in a fixed number of statements (core.ingest), with record_activity's rules."""
    from core.ingest import record_batch

    return record_batch(session, rules, person_id, activities, now=now)


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
    session.execute(insert(ActivityRecord).values(
        key=activity.key, network=activity.network, action=activity.action,
        person_id=person_id, occurred_at=activity.occurred_at,
        thing_id=thing.id if thing else None, flattr_id=outcome.flattr_id,
        outcome=outcome.outcome, created_at=now,
    ))
    return outcome


def flattr_url(session: Session, rules: Rules, person: Person, url: str, *, at: datetime,
               now: datetime) -> FlattrOutcome:
    """A manual flattr, as from a button on the thing's page."""
    canonical = canonicalize(url)
    period = period_of(min(at, now))
    activity = Activity(
        network="web", action="manual", external_id=f"{canonical}@{period}",
        actor=f"person:{person.id}", occurred_at=at,
        targets=(Target(url=canonical, identity=url_identity(canonical)),),
    )
    [outcome] = record_activities(session, rules, person.id, [activity], now=now)
    if outcome.outcome == "duplicate":
        return FlattrOutcome("already", f"{person.name} already flattred {canonical} in {period}")
    return outcome


def open_period(session: Session, moment: datetime) -> str:
    """The period of `moment`, or the first one after it still open when it is closed:
    late activity counts in the next month rather than being lost."""
    period = period_of(moment)
    closed = set(session.execute(
        select(Settlement.period).where(Settlement.period >= period)).scalars())
    while period in closed:
        period = next_period(period)
    return period


def _decide(session: Session, rules: Rules, person_id: int, thing: Thing | None, period: str,
            activity: Activity, now: datetime) -> FlattrOutcome:
    if thing is None:
        return no_target()
    if _is_own(session, person_id, thing):
        return own(thing.url)
    wallet = wallet_balance(session, person_id)
    if wallet < rules.min_monthly_budget:
        notifications.enqueue(session, "wallet_low", f"wallet_low:{person_id}:{period}",
                              now=now, person_id=person_id,
                              payload={"period": period, "wallet_cents": wallet})
        return wallet_too_low(rules, wallet, thing.url, period)
    if budget_for(session, person_id, period) is None:
        return no_budget(thing.url, period)
    flattr_id = None
    for _ in range(3):  # a period may close between choosing it and writing the flattr
        existing = session.execute(select(Flattr.id).where(
            Flattr.person_id == person_id, Flattr.thing_id == thing.id, Flattr.period == period,
        )).scalar_one_or_none()
        if existing is not None:
            return already(thing.url, period)
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


# The outcomes, worded once for both paths.
def duplicate(key: str) -> FlattrOutcome:
    return FlattrOutcome("duplicate", f"activity {key} was already recorded")


def concurrent_duplicate() -> FlattrOutcome:
    return FlattrOutcome("duplicate", "recorded concurrently by another worker")


def no_target() -> FlattrOutcome:
    return FlattrOutcome("no_target", "the activity points at nothing that can be flattred")


def own(url: str) -> FlattrOutcome:
    return FlattrOutcome("own", f"{url} is your own", thing_url=url)


def wallet_too_low(rules: Rules, wallet: int, url: str, period: str) -> FlattrOutcome:
    return FlattrOutcome(
        "no_means",
        f"wallet holds {format_cents(wallet)} {rules.currency}, below the minimum budget of "
        f"{format_cents(rules.min_monthly_budget)} {rules.currency}: top up to flattr",
        thing_url=url, period=period,
    )


def no_budget(url: str, period: str) -> FlattrOutcome:
    return FlattrOutcome("no_means", f"no budget was set for {period} yet",
                         thing_url=url, period=period)


def already(url: str, period: str) -> FlattrOutcome:
    return FlattrOutcome("already", f"{url} was already flattred in {period}",
                         thing_url=url, period=period)


def flattred(flattr_id: int, url: str, period: str) -> FlattrOutcome:
    return FlattrOutcome(FLATTRED, f"flattred {url} in {period}", flattr_id=flattr_id,
                         thing_url=url, period=period)


# Guarded so that no flattr lands in a period whose settlement has begun.
_INSERT_FLATTR = timed(
    "INSERT INTO flattrs (person_id, thing_id, period, source, occurred_at)"
    " SELECT :person, :thing, CAST(:p AS VARCHAR(7)), CAST(:source AS VARCHAR(16)), :at"
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


def withdraw(session: Session, person_id: int, flattr_id: int, *, now: datetime) -> bool:
    """Take back a flattr before its period starts closing; True when it was withdrawn."""
    withdrawn = rows_affected(session.execute(
        timed("UPDATE flattrs SET withdrawn_at = :now WHERE id = :id AND person_id = :person"
              " AND withdrawn_at IS NULL AND NOT EXISTS"
              " (SELECT 1 FROM settlements WHERE settlements.period = flattrs.period)", "now"),
        {"now": now, "id": flattr_id, "person": person_id},
    ))
    return bool(withdrawn)
