"""Undoing an activity (a like or a repost deleted), and what that does to flattrs.

A flattr (person, thing, period) is supported by every activity record of that person that
made or joined it (`activities.flattr_id`: the one that flattred, and each "already" after
it: a repost of the post they liked, an explicit `#flattr` request, another post linking
the same page). Undoing one marks its record retracted; the flattr is withdrawn only when no
unretracted record supports it any more and its period is still open (`withdrawn_by =
'undone'`). A new supporting activity later in that open period brings such a flattr back
(core.ingest calls `reinstate`); one withdrawn by hand or because the person came to own the
thing stays withdrawn.

An undo whose activity was never recorded leaves a tombstone (a record with outcome
"undone", already retracted), so the activity arriving afterwards (a stream replays and
reorders events around a reconnect) is a duplicate and flattrs nothing.

Races (PostgreSQL, read committed): both sides lock the flattr rows (in id order) before
they look at its support in a later statement, so a retraction and a new supporting
activity committed at the same time end consistent whichever commits first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.orm import Session

from core.db import rows_affected
from core.ingest_sql import chunks, insert
from core.models import ActivityRecord, Flattr, timed

UNDONE = "undone"  # the outcome of a tombstone, and flattrs.withdrawn_by when undone


@dataclass(frozen=True)
class Retraction:
    """An activity undone: its key (core.activity.Activity.key) and, for a tombstone, what
    it was."""

    person_id: int
    key: str
    network: str
    action: str
    occurred_at: datetime


def retract(session: Session, retractions: Iterable[Retraction], *, now: datetime) -> int:
    """Mark the activities retracted (tombstones for those never seen) and withdraw each
    flattr they supported that nothing else supports; the number of flattrs withdrawn."""
    wanted = {r.key: r for r in retractions}
    if not wanted:
        return 0
    flattrs = _mark(session, sorted(wanted), now)
    missing = sorted(set(wanted) - set(flattrs))
    if missing:
        rows = [{"key": k, "network": wanted[k].network, "action": wanted[k].action,
                 "person_id": wanted[k].person_id, "occurred_at": wanted[k].occurred_at,
                 "thing_id": None, "flattr_id": None, "outcome": UNDONE, "created_at": now,
                 "retracted_at": now} for k in missing]
        inserted = set(session.execute(
            insert(session, ActivityRecord).on_conflict_do_nothing(index_elements=["key"])
            .returning(ActivityRecord.__table__.c.key), rows).scalars())
        raced = [k for k in missing if k not in inserted]  # recorded meanwhile by another
        if raced:
            flattrs.update(_mark(session, raced, now))
    return withdraw_unsupported(session, {f for f in flattrs.values() if f is not None},
                                now=now)


def _mark(session: Session, keys: Sequence[str], now: datetime) -> dict[str, int | None]:
    """key -> flattr of each recorded activity among `keys` (retracted now or before)."""
    found: dict[str, int | None] = {}
    for chunk in chunks(list(keys)):
        session.execute(update(ActivityRecord).where(
            ActivityRecord.key.in_(chunk), ActivityRecord.retracted_at.is_(None))
            .values(retracted_at=now).execution_options(synchronize_session=False))
        found.update((row.key, row.flattr_id) for row in session.execute(
            select(ActivityRecord.key, ActivityRecord.flattr_id)
            .where(ActivityRecord.key.in_(chunk))))
    return found


def lock(session: Session, flattr_ids: Iterable[int]) -> list[int]:
    """Lock the flattrs (PostgreSQL: FOR UPDATE, in id order; SQLite has one writer)."""
    ids = sorted(set(flattr_ids))
    for chunk in chunks(ids):
        session.execute(select(Flattr.id).where(Flattr.id.in_(chunk))
                        .order_by(Flattr.id).with_for_update()).all()
    return ids


def withdraw_unsupported(session: Session, flattr_ids: Iterable[int], *,
                         now: datetime) -> int:
    """Withdraw those of the flattrs that no unretracted activity supports, in open
    periods; how many were."""
    withdrawn = 0
    for chunk in chunks(lock(session, flattr_ids)):
        withdrawn += rows_affected(session.execute(_WITHDRAW, {"now": now, "ids": chunk}))
    return withdrawn


def reinstate(session: Session, flattr_ids: Iterable[int]) -> int:
    """Bring back those of the flattrs withdrawn because they were undone (new support has
    just been recorded), in open periods; how many were."""
    back = 0
    for chunk in chunks(lock(session, flattr_ids)):
        back += rows_affected(session.execute(_REINSTATE, {"ids": chunk}))
    return back


_OPEN = " AND NOT EXISTS (SELECT 1 FROM settlements s WHERE s.period = flattrs.period)"
_WITHDRAW = timed(
    "UPDATE flattrs SET withdrawn_at = :now, withdrawn_by = 'undone'"
    " WHERE id IN :ids AND withdrawn_at IS NULL" + _OPEN
    + " AND NOT EXISTS (SELECT 1 FROM activities a WHERE a.flattr_id = flattrs.id"
    " AND a.retracted_at IS NULL)", "now").bindparams(bindparam("ids", expanding=True))
_REINSTATE = text(
    "UPDATE flattrs SET withdrawn_at = NULL, withdrawn_by = NULL"
    " WHERE id IN :ids AND withdrawn_by = 'undone'" + _OPEN
    + " AND EXISTS (SELECT 1 FROM activities a WHERE a.flattr_id = flattrs.id"
    " AND a.retracted_at IS NULL)").bindparams(bindparam("ids", expanding=True))
