"""Linked social accounts: linking, leasing the due ones, storing what a poll found.

The poll cycle is three steps, and only the first and the last touch the database:
1. `lease_due` claims due accounts in one statement (`FOR UPDATE SKIP LOCKED` on
   PostgreSQL, so many workers never take the same account; SQLite's BEGIN IMMEDIATE
   serialises the same statement). A lease moves `next_poll_at` past the lease's end, so the
   accounts of a crashed worker come back by themselves once the lease runs out.
2. the caller talks to the network, outside any transaction;
3. `store_poll` writes activities, flattrs, the cursor and the next poll time in one short
   transaction, fenced on the lease: a worker whose lease was taken over writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core import identity, notifications
from core.activity import Activity
from core.crypto import KeyRing
from core.db import Database, rows_affected
from core.errors import UserError
from core.flattring import record_activities
from core.models import SocialAccount, timed
from core.outcomes import FlattrOutcome
from core.rules import Rules

STATUS_ACTIVE = "active"
STATUS_RECONNECT = "needs_reconnect"


# -- tokens: the one place that seals and opens them ------------------------------------


def seal_token(keys: KeyRing, plaintext: str) -> str:
    """Encrypt a token for storage (Fernet under the token keys: runtime.keys). Every
    write of a token goes through here, every read through `open_token`."""
    return keys.seal(plaintext)


def open_token(keys: KeyRing, ciphertext: str | None) -> str:
    """The plaintext token; raises ValueError (crypto.TokenUnreadable) when no key opens it."""
    if not ciphertext:
        raise ValueError("no token stored")
    return keys.open(ciphertext)


# -- linking ------------------------------------------------------------------------------


def account_identity(network: str, external_user_id: str) -> str:
    """The identity a linked account stands for (its network registered the scheme)."""
    return str(identity.account(network, external_user_id))


def link_account(session: Session, keys: KeyRing, *, person_id: int, network: str,
                 external_user_id: str, token: str, now: datetime, handle: str | None = None,
                 triggers: Iterable[str] | None = None) -> SocialAccount:
    """Connect (or reconnect) an account: a new token, active, due now, cursor kept."""
    who = account_identity(network, external_user_id)
    account = session.execute(select(SocialAccount).where(
        SocialAccount.network == network, SocialAccount.external_user_id == external_user_id,
    )).scalar_one_or_none()
    if account is not None and account.person_id != person_id:
        raise UserError(f"{who} is already linked to someone else")
    if account is None:
        account = SocialAccount(person_id=person_id, network=network,
                                external_user_id=external_user_id, identity=who,
                                created_at=now)
        session.add(account)
    account.handle = handle or account.handle
    account.token_ciphertext = seal_token(keys, token)
    account.status = STATUS_ACTIVE
    account.triggers = ",".join(sorted(triggers)) if triggers is not None else account.triggers
    account.next_poll_at = now
    account.last_error = None
    session.flush()
    return account


# -- leasing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeasedAccount:
    id: int
    person_id: int
    network: str
    external_user_id: str
    handle: str | None
    token_ciphertext: str | None
    cursor: dict | None
    triggers: frozenset[str] | None
    lease_owner: str


_LEASE = """
UPDATE social_accounts SET lease_owner = :owner, lease_until = :until, next_poll_at = :until
WHERE id IN (
    SELECT id FROM social_accounts
    WHERE status = 'active' AND next_poll_at <= :now
    ORDER BY next_poll_at, id LIMIT :n{lock}
)
RETURNING id, person_id, network, external_user_id, handle, token_ciphertext, cursor, triggers
"""


def lease_due(db: Database, owner: str, *, now: datetime, limit: int,
              lease: timedelta) -> list[LeasedAccount]:
    """Claim up to `limit` due accounts for `lease`; oldest due first."""
    if limit <= 0:
        return []
    sql = _LEASE.format(lock=" FOR UPDATE SKIP LOCKED" if db.is_postgres else "")
    with db.unit_of_work() as session:
        rows = session.execute(timed(sql, "now", "until"),
                               {"owner": owner, "until": now + lease, "now": now, "n": limit}).all()
    leased = [
        LeasedAccount(id=r.id, person_id=r.person_id, network=r.network,
                      external_user_id=r.external_user_id, handle=r.handle,
                      token_ciphertext=r.token_ciphertext,
                      cursor=json.loads(r.cursor) if r.cursor else None,
                      triggers=frozenset(t for t in r.triggers.split(",") if t)
                      if r.triggers is not None else None,
                      lease_owner=owner)
        for r in rows
    ]
    return sorted(leased, key=lambda a: a.id)


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
    the schedule, the activities and their flattrs. A lost lease writes nothing."""
    reconnect = status == STATUS_RECONNECT
    fenced = rows_affected(session.execute(
        timed("UPDATE social_accounts SET cursor = :cursor, next_poll_at = :next,"
              " last_polled_at = :now, last_error = :error, status = :status,"
              " lease_owner = NULL, lease_until = NULL,"
              " last_activity_at = CASE WHEN :found > 0 THEN :now ELSE last_activity_at END"
              " WHERE id = :id AND lease_owner = :owner", "now", "next"),
        {"cursor": json.dumps(cursor, sort_keys=True), "next": next_poll_at, "now": now,
         "error": (error or None) and error[:500], "id": account.id, "owner": account.lease_owner,
         "status": STATUS_RECONNECT if reconnect else STATUS_ACTIVE, "found": len(activities)},
    ))
    if not fenced:
        return PollOutcome(stored=False)
    if reconnect:
        notifications.enqueue(
            session, "needs_reconnect",
            f"needs_reconnect:{account.id}:{now:%Y-%m-%dT%H}", now=now,
            person_id=account.person_id,
            payload={"network": account.network, "handle": account.handle})
    outcomes = record_activities(session, rules, account.person_id, activities, now=now)
    return PollOutcome(stored=True, outcomes=tuple(outcomes))


# -- waking up: a webhook says an account changed ----------------------------------------

# How often a webhook may make one account due: verified events can still come in floods
# (a busy account, a replay of many distinct events), and each wake-up costs API calls.
WAKE_EVERY = timedelta(minutes=1)


def wake(session: Session, network: str, external_ids: Iterable[str], *, now: datetime,
         due_cursor: Callable[[str | None], str | None] = lambda cursor: cursor,
         every: timedelta = WAKE_EVERY) -> int:
    """Make the network's active accounts with these external ids due now, each at most
    once per `every` (`woken_at`); how many were. An account leased by a worker is being
    polled already and is left alone. `due_cursor` rewrites the stored cursor so that every
    stream of it is due (the network's business: bots.polling.make_due)."""
    wanted = sorted({str(i) for i in external_ids})
    if not wanted:
        return 0
    free = (SocialAccount.lease_until.is_(None)) | (SocialAccount.lease_until <= now)
    rested = (SocialAccount.woken_at.is_(None)) | (SocialAccount.woken_at <= now - every)
    rows = session.execute(
        select(SocialAccount.id, SocialAccount.cursor)
        .where(SocialAccount.network == network, SocialAccount.external_user_id.in_(wanted),
               SocialAccount.status == STATUS_ACTIVE, free, rested)
        .order_by(SocialAccount.id)).all()
    woken = 0
    for account_id, cursor in rows:
        woken += rows_affected(session.execute(
            update(SocialAccount).where(SocialAccount.id == account_id, free, rested)
            .values(next_poll_at=now, woken_at=now, cursor=due_cursor(cursor))))
    return woken


# -- operations ---------------------------------------------------------------------------


def status_counts(session: Session, *, now: datetime) -> dict[str, int]:
    row = session.execute(timed("""
        SELECT
          COUNT(*),
          COALESCE(SUM(CASE WHEN status = 'active' AND next_poll_at <= :now THEN 1 ELSE 0 END), 0),
          COALESCE(SUM(CASE WHEN lease_owner IS NOT NULL AND lease_until > :now
                            THEN 1 ELSE 0 END), 0),
          COALESCE(SUM(CASE WHEN status = 'needs_reconnect' THEN 1 ELSE 0 END), 0)
        FROM social_accounts""", "now"), {"now": now}).one()
    return {"accounts": int(row[0]), "due": int(row[1]), "leased": int(row[2]),
            "needs_reconnect": int(row[3])}


def next_due_at(session: Session) -> datetime | None:
    """The earliest `next_poll_at` of an active account (the demo's clock jumps to it)."""
    return session.execute(select(func.min(SocialAccount.next_poll_at)).where(
        SocialAccount.status == STATUS_ACTIVE)).scalar()
