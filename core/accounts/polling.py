"""Polling a linked account: the lease, "poll it now" (a webhook's wake-up), storing a poll.

The poll cycle is three steps, and only the first and the last touch the database:
1. `lease_due` claims due active accounts (core.leases: `FOR UPDATE SKIP LOCKED` on
   PostgreSQL, so many workers never take the same account; SQLite's BEGIN IMMEDIATE
   serialises the same statement). A lease moves `next_poll_at` past the lease's end, so the
   accounts of a crashed worker come back by themselves once the lease runs out.
2. the caller talks to the network, outside any transaction;
3. `store_poll` writes activities, flattrs, the cursor and the next poll time in one short
   transaction, fenced on the lease: a worker whose lease was taken over (or whose account
   was relinked, disconnected or revoked meanwhile) writes nothing.

`wake` is how a webhook asks for a poll now: the accounts become due, and the time is
kept in `wake_requested_at`; the lease reports a poll as `woken` when a wake came after the
last poll, and the poller tells the adapter (LinkedAccount.wake) to read every stream, not
only those its pacing made due. Nobody outside the adapters reads or edits their cursor.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from core import leases
from core.accounts import states
from core.activity import Activity
from core.db import Database, rows_affected
from core.flattring import record_activities
from core.models import UtcDateTime, timed
from core.outcomes import FlattrOutcome
from core.rules import Rules

RECONNECT_RESULT = "needs_reconnect"  # bots.base.FetchResult.status: the token was refused


@dataclass(frozen=True)
class LeasedAccount:
    id: int
    person_id: int
    network: str
    external_user_id: str
    handle: str | None
    token_ciphertext: str | None
    cursor: dict | None
    triggers: frozenset[str] | None  # the person's choice (None: the deployment's)
    lease_owner: str
    woken: bool = False  # a webhook asked for this poll: read every stream


POLL = leases.Lease(
    table="social_accounts",
    due="status = :active AND next_poll_at <= :now",
    take="lease_owner = :owner, lease_until = :until, next_poll_at = :until",
    returning="id, person_id, network, external_user_id, handle, token_ciphertext, cursor,"
              " triggers, wake_requested_at, last_polled_at",
    order="next_poll_at, id",
    result_types={"wake_requested_at": UtcDateTime(), "last_polled_at": UtcDateTime()},
)


def lease_due(db: Database, owner: str, *, now: datetime, limit: int,
              lease: timedelta) -> list[LeasedAccount]:
    """Claim up to `limit` due accounts for `lease`; oldest due first, returned by id."""
    rows = leases.claim(db, POLL, now=now, duration=lease, limit=limit,
                        params={"owner": owner, "active": states.ACTIVE})
    return [
        LeasedAccount(id=r.id, person_id=r.person_id, network=r.network,
                      external_user_id=r.external_user_id, handle=r.handle,
                      token_ciphertext=r.token_ciphertext,
                      cursor=json.loads(r.cursor) if r.cursor else None,
                      triggers=frozenset(t for t in r.triggers.split(",") if t)
                      if r.triggers is not None else None,
                      lease_owner=owner,
                      woken=r.wake_requested_at is not None and (
                          r.last_polled_at is None or r.wake_requested_at > r.last_polled_at))
        for r in rows
    ]


def release_leases(db: Database, owner: str, *, now: datetime,
                   ids: Sequence[int] | None = None) -> int:
    """Give back leases not stored (shutdown): due again at once, for any worker."""
    sql = ("UPDATE social_accounts SET lease_owner = NULL, lease_until = NULL, next_poll_at = :now"
           " WHERE lease_owner = :owner AND lease_until > :now")
    params: dict[str, Any] = {"owner": owner, "now": now}
    if ids is not None:
        if not ids:
            return 0
        sql += " AND id IN (" + ", ".join(str(int(i)) for i in ids) + ")"
    with db.unit_of_work() as session:
        return rows_affected(session.execute(timed(sql, "now"), params))


def wake(session: Session, network: str, external_user_ids: Sequence[str], *, now: datetime,
         min_interval: timedelta | None = None) -> int:
    """Make these active accounts due now, every stream included (a webhook said they
    changed). One being polled already (leased) is left alone. `min_interval` caps how
    often a webhook may wake one account (None: no cap). Returns how many were woken."""
    ids = sorted(set(external_user_ids))
    if not ids:
        return 0
    marks = ", ".join(f":u{i}" for i in range(len(ids)))
    sql = ("UPDATE social_accounts SET next_poll_at = :now, wake_requested_at = :now"
           f" WHERE network = :network AND external_user_id IN ({marks})"
           " AND status = :active AND (lease_until IS NULL OR lease_until <= :now)")
    params: dict[str, Any] = {"now": now, "network": network, "active": states.ACTIVE,
                              **{f"u{i}": user for i, user in enumerate(ids)}}
    if min_interval is not None:
        sql += " AND (wake_requested_at IS NULL OR wake_requested_at <= :last)"
        params["last"] = now - min_interval
    return rows_affected(session.execute(timed(sql, *(t for t in ("now", "last")
                                                      if t in params)), params))


# -- storing a poll -----------------------------------------------------------------------


@dataclass(frozen=True)
class PollOutcome:
    stored: bool  # False: the lease was lost, nothing written
    outcomes: tuple[FlattrOutcome, ...] = ()

    @property
    def flattrs(self) -> int:
        return sum(1 for o in self.outcomes if o.flattred)


def store_poll(session: Session, rules: Rules, account: LeasedAccount, *, now: datetime,
               activities: Sequence[Activity], cursor: dict, next_poll_at: datetime,
               status: str, error: str | None) -> PollOutcome:
    """One transaction (the caller's unit of work): fence on the lease, then the cursor,
    the schedule, the activities and their flattrs; a refused token moves the account to
    needs_reconnect (states.needs_reconnect: the episode's notice). A lost lease writes
    nothing."""
    fenced = leases.finish(
        session, "social_accounts", account.id, fence="lease_owner = :owner",
        assignments="cursor = :cursor, next_poll_at = :next, last_polled_at = :now,"
                    " last_error = :error, lease_owner = NULL, lease_until = NULL,"
                    " last_activity_at = CASE WHEN :found > 0 THEN :now"
                    " ELSE last_activity_at END",
        params={"cursor": json.dumps(cursor, sort_keys=True), "next": next_poll_at, "now": now,
                "error": (error or None) and error[:500], "owner": account.lease_owner,
                "found": len(activities)},
        times=("now", "next"))
    if not fenced:
        return PollOutcome(stored=False)
    if status == RECONNECT_RESULT:
        states.needs_reconnect(session, account.id, now=now, reason=error)
    outcomes = record_activities(session, rules, account.person_id, activities, now=now)
    return PollOutcome(stored=True, outcomes=tuple(outcomes))
