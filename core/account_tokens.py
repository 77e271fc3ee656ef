"""Single-use links sent by e-mail: a password reset, or the confirmation of a new e-mail
address. The link carries a random token (256 bits); only its SHA-256 is stored, so a copy
of the database opens no account. A token is spent exactly once (an UPDATE that only one
request can win), and expires: RESET_TTL for a reset, EMAIL_TTL for an address.

Asking for resets is limited per person (MAX_PER_WINDOW within WINDOW); past it, nothing
is sent, and the page answers the same as always, so nobody learns whether an address
belongs to someone.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.db import rows_affected
from core.models import AccountToken, Person

RESET, EMAIL = "reset", "email"
RESET_TTL = timedelta(hours=1)
EMAIL_TTL = timedelta(hours=24)
WINDOW = timedelta(minutes=15)
MAX_PER_WINDOW = 3
_TTL = {RESET: RESET_TTL, EMAIL: EMAIL_TTL}


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def issue(session: Session, person: Person, purpose: str, *, now: datetime,
          new_email: str | None = None) -> str | None:
    """A new token for `person` (the text to put in the link), or None when the person
    asked too often lately (the caller sends nothing and says nothing different). The
    person's row is locked first (PostgreSQL), so parallel requests count one by one."""
    session.execute(select(Person.id).where(Person.id == person.id).with_for_update())
    recent = session.execute(
        select(func.count()).select_from(AccountToken)
        .where(AccountToken.person_id == person.id, AccountToken.purpose == purpose,
               AccountToken.created_at > now - WINDOW)).scalar_one()
    if recent >= MAX_PER_WINDOW:
        return None
    token = secrets.token_urlsafe(32)
    session.add(AccountToken(person_id=person.id, purpose=purpose, token_hash=digest(token),
                             new_email=new_email, created_at=now,
                             expires_at=now + _TTL[purpose]))
    session.flush()
    return token


def peek(session: Session, token: str, purpose: str, *, now: datetime) -> AccountToken | None:
    """The token's row if it is still good (unspent, unexpired, its person not deleted),
    without spending it: what a page shows before the person confirms."""
    row = session.execute(
        select(AccountToken).join(Person, Person.id == AccountToken.person_id)
        .where(AccountToken.token_hash == digest(token), AccountToken.purpose == purpose,
               AccountToken.used_at.is_(None), AccountToken.expires_at > now,
               Person.deleted_at.is_(None))).scalar_one_or_none()
    return row


def spend(session: Session, token: str, purpose: str, *, now: datetime) -> AccountToken | None:
    """Spend a good token exactly once; None when it is unknown, spent or expired."""
    row = peek(session, token, purpose, now=now)
    if row is None:
        return None
    won = rows_affected(session.execute(
        update(AccountToken).where(AccountToken.id == row.id, AccountToken.used_at.is_(None))
        .values(used_at=now)))
    if won != 1:
        return None
    row.used_at = now
    return row


def spend_all(session: Session, person_id: int, purpose: str, *, now: datetime) -> int:
    """Spend every open token of a person (a reset used or a password changed: the other
    reset links stop working)."""
    return rows_affected(session.execute(
        update(AccountToken).where(AccountToken.person_id == person_id,
                                   AccountToken.purpose == purpose,
                                   AccountToken.used_at.is_(None))
        .values(used_at=now)))


def spend_every(session: Session, person_id: int, *, now: datetime) -> int:
    """Spend every open token of a person, resets and address changes alike (the address
    or the password just changed: no link sent before may change them again)."""
    return sum(spend_all(session, person_id, purpose, now=now) for purpose in _TTL)
