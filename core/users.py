"""Local sign-in: salted scrypt password hashes, constant-time checks, sign-up.

Hash format: `scrypt$n$r$p$<salt b64>$<hash b64>`, so the cost can be raised later and
old hashes still verify.

Guessing is slowed per name, not per address (behind a TLS proxy every request comes from
the proxy): after SIGN_IN_ATTEMPTS failures within SIGN_IN_WINDOW, that name's sign-ins are
refused, without a password check, until the oldest of them is older than the window.
Unknown names count the same, so a refusal says nothing about whether a name exists.
Anyone can pause a name that way, so the pause does not apply to a browser that signed in
as that person before (the web app's signed "known device" cookie, `known_device`): the
person gets in from their usual browser while the name is paused for everyone else, who
must wait SIGN_IN_WINDOW (or ask an operator: `flattr users unpause NAME`).

Sessions end server-side: `Person.session_generation` is signed into every session cookie
and compared on every request; `end_sessions` raises it (sign-out, a password change, an
operator's `flattr users signout NAME`), so every copy of every cookie stops working.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.errors import UserError
from core.models import Person, SignInFailure
from core.people import add_person
from core.rules import Rules

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
SIGN_IN_ATTEMPTS = 5
SIGN_IN_WINDOW = timedelta(minutes=15)
# Verified against when the name is unknown, so that a miss costs as much as a hit.
_DUMMY_HASH: str | None = None


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return "$".join(["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P),
                     _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or len(password) > MAX_PASSWORD:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def sign_up(session: Session, rules: Rules, name: str, password: str, *, now: datetime,
            email: str | None = None, budget: int | None = None) -> Person:
    """A new person with an empty wallet and `budget` (the minimum when not given) in force
    from the current month."""
    check_password(password)
    person = add_person(session, rules, name,
                        rules.min_monthly_budget if budget is None else budget, 0, now=now,
                        email=email or None)
    person.password_hash = hash_password(password)
    return person


class TooManySignIns(UserError):
    pass


def authenticate(session: Session, name: str, password: str, *, now: datetime,
                 known_device: Callable[[Person], bool] = lambda person: False,
                 ) -> Person | None:
    """The person, or None for a wrong name or password (recorded as a failure: the caller
    commits it even though the request fails). Raises TooManySignIns while paused, unless
    `known_device(person)` says this browser signed in as that person before."""
    key = name[:64]  # the column's width; names longer than that exist nowhere anyway
    since = now - SIGN_IN_WINDOW
    recent = session.execute(
        select(SignInFailure.failed_at).where(SignInFailure.name == key,
                                              SignInFailure.failed_at > since)
        .order_by(SignInFailure.failed_at.desc()).limit(SIGN_IN_ATTEMPTS)).scalars().all()
    person = session.execute(select(Person).where(Person.name == name)).scalar_one_or_none()
    paused = len(recent) >= SIGN_IN_ATTEMPTS
    if paused and (person is None or not known_device(person)):
        again = recent[-1] + SIGN_IN_WINDOW
        raise TooManySignIns("too many failed sign-ins for this name: try again after"
                             " %(time)s UTC, or sign in from a browser you signed in"
                             " with before", time=f"{again:%H:%M}")
    if person is None or not person.password_hash:
        verify_password(password, _dummy_hash())  # same cost as a real check
        person = None
    elif not verify_password(password, person.password_hash):
        person = None
    if person is None:
        session.execute(delete(SignInFailure).where(SignInFailure.failed_at <= since))
        session.add(SignInFailure(name=key, failed_at=now))
    elif not paused:  # a known browser let in during a pause leaves the pause to the others
        session.execute(delete(SignInFailure).where(SignInFailure.name == key))
    return person


def set_password(person: Person, password: str) -> None:
    check_password(password)
    person.password_hash = hash_password(password)


def check_current_password(session: Session, person: Person, password: str, *,
                           now: datetime) -> bool:
    """A signed-in person's password check (before a change of e-mail or password, or a
    deletion). A wrong one counts as a failed sign-in of that name (the caller commits it
    even though the request fails), and past the same limit no check is made at all
    (TooManySignIns): a stolen session cannot guess the password without limit."""
    key = person.name[:64]
    since = now - SIGN_IN_WINDOW
    recent = session.execute(
        select(SignInFailure.failed_at).where(SignInFailure.name == key,
                                              SignInFailure.failed_at > since)
        .order_by(SignInFailure.failed_at.desc()).limit(SIGN_IN_ATTEMPTS)).scalars().all()
    if len(recent) >= SIGN_IN_ATTEMPTS:
        raise TooManySignIns("too many wrong passwords for this name: try again after"
                             " %(time)s UTC", time=f"{recent[-1] + SIGN_IN_WINDOW:%H:%M}")
    if verify_password(password, person.password_hash):
        return True
    session.add(SignInFailure(name=key, failed_at=now))
    return False


def replace_password(session: Session, person: Person, new: str) -> None:
    """A new password (the caller checked the current one); every session ends."""
    set_password(person, new)
    end_sessions(session, person)


def end_sessions(session: Session, person: Person) -> int:
    """End every web session of the person (every copy of every cookie); the new
    generation, which a session started from now on carries."""
    session.flush()
    generation = session.execute(
        update(Person).where(Person.id == person.id)
        .values(session_generation=Person.session_generation + 1)
        .returning(Person.session_generation)).scalar_one()
    person.session_generation = generation
    return generation


def unpause(session: Session, name: str) -> int:
    """Forget the recent failed sign-ins of a name (an operator's help); how many."""
    return len(session.execute(delete(SignInFailure).where(SignInFailure.name == name[:64])
                               .returning(SignInFailure.id)).all())


def check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise UserError("choose a password of at least %(n)s characters", n=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise UserError("a password must be at most %(n)s characters", n=MAX_PASSWORD)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=128 * r * n * 2, dklen=32)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASH
