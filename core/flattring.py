"""Activity -> flattr: idempotent on the activity key, once per person per thing per period,
never one's own thing, refused when the wallet cannot cover the minimum budget."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.activity import Activity, Target
from core.db import rows_affected
from core.models import (
    Person,
    Settlement,
    timed,
)
from core.money import format_cents
from core.periods import next_period, period_of
from core.rules import Rules
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
    """Record a batch of one person's activities in order, in a fixed number of statements
    (core.ingest). tests/integration/reference_flattring.py states the same rules one
    activity at a time, and the tests hold the two to each other."""
    from core.ingest import record_batch

    return record_batch(session, rules, person_id, activities, now=now)


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


def withdraw(session: Session, person_id: int, flattr_id: int, *, now: datetime) -> bool:
    """Take back a flattr before its period starts closing; True when it was withdrawn."""
    withdrawn = rows_affected(session.execute(
        timed("UPDATE flattrs SET withdrawn_at = :now WHERE id = :id AND person_id = :person"
              " AND withdrawn_at IS NULL AND NOT EXISTS"
              " (SELECT 1 FROM settlements WHERE settlements.period = flattrs.period)", "now"),
        {"now": now, "id": flattr_id, "person": person_id},
    ))
    return bool(withdrawn)
