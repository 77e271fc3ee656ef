"""Activity -> flattr: idempotent on the activity key, once per person per thing per period,
never one's own thing, refused when the wallet cannot cover the minimum budget."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from core import identity
from core.activity import Activity, Target
from core.db import rows_affected
from core.ingest import record_batch
from core.models import Person, timed
from core.outcomes import OUTCOMES, FlattrOutcome
from core.periods import period_of
from core.rules import Rules
from core.urls import canonicalize

__all__ = ["OUTCOMES", "FlattrOutcome", "flattr_url", "record_activities", "withdraw"]


def record_activities(session: Session, rules: Rules, person_id: int,
                      activities: Iterable[Activity], *, now: datetime) -> list[FlattrOutcome]:
    """Record a batch of one person's activities in order, in a fixed number of statements
    (core.ingest). tests/integration/reference_flattring.py states the same rules one
    activity at a time, and the tests hold the two to each other."""
    return record_batch(session, rules, person_id, activities, now=now)


def flattr_url(session: Session, rules: Rules, person: Person, url: str, *, at: datetime,
               now: datetime) -> FlattrOutcome:
    """A manual flattr, as from a button on the thing's page."""
    canonical = canonicalize(url)
    period = period_of(min(at, now))
    activity = Activity(
        network="web", action="manual", external_id=f"{canonical}@{period}",
        actor=f"person:{person.id}", occurred_at=at,
        targets=(Target(url=canonical, identity=str(identity.url(canonical))),),
    )
    [outcome] = record_activities(session, rules, person.id, [activity], now=now)
    if outcome.outcome == "duplicate":
        return FlattrOutcome("already", f"{person.name} already flattred {canonical} in {period}")
    return outcome


def withdraw(session: Session, person_id: int, flattr_id: int, *, now: datetime) -> bool:
    """Take back a flattr by hand before its period starts closing (no new activity brings
    it back: core.retractions); True when it was withdrawn."""
    withdrawn = rows_affected(session.execute(
        timed("UPDATE flattrs SET withdrawn_at = :now, withdrawn_by = 'person'"
              " WHERE id = :id AND person_id = :person"
              " AND withdrawn_at IS NULL AND NOT EXISTS"
              " (SELECT 1 FROM settlements WHERE settlements.period = flattrs.period)", "now"),
        {"now": now, "id": flattr_id, "person": person_id},
    ))
    return bool(withdrawn)
