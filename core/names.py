"""The names of network identities: what the networks' responses said a creator, an
author or a Page is called (display name and handle), kept so that pages can say
"Creator 0 (@creator0 on X)" rather than `twitter:800000001`. Filled by the poll's store
step from the parsers' Target.holder_name/holder_handle; a later sighting replaces what it
says again, and keeps what it leaves out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import identity
from core.activity import Activity
from core.models import IdentityName, timed

MAX_NAME, MAX_HANDLE, MAX_IDENTITY = 200, 100, 320

_UPSERT = timed(
    "INSERT INTO identity_names (identity, display_name, handle, seen_at)"
    " VALUES (:identity, :name, :handle, :now)"
    " ON CONFLICT (identity) DO UPDATE SET"
    " display_name = COALESCE(excluded.display_name, identity_names.display_name),"
    " handle = COALESCE(excluded.handle, identity_names.handle), seen_at = excluded.seen_at",
    "now")


@dataclass(frozen=True)
class Name:
    display_name: str | None
    handle: str | None


def seen(activities: Iterable[Activity]) -> dict[str, Name]:
    """The names the activities' targets carry, by identity (network identities only: a
    URL names itself)."""
    found: dict[str, Name] = {}
    for activity in activities:
        for target in activity.targets:
            held = target.identity
            name, handle = _clean(target.holder_name, MAX_NAME), _clean(target.holder_handle,
                                                                          MAX_HANDLE)
            if not held or len(held) > MAX_IDENTITY or not (name or handle):
                continue
            parsed = identity.try_parse(held)
            if parsed is None or parsed.is_url:
                continue
            found[held] = Name(name, handle)
    return found


def remember(session: Session, activities: Iterable[Activity], *, now: datetime) -> int:
    """Keep the names the activities show; returns how many identities were written."""
    names = seen(activities)
    for held in sorted(names):  # a fixed order: two workers never deadlock on it
        name = names[held]
        session.execute(_UPSERT, {"identity": held, "name": name.display_name,
                                  "handle": name.handle, "now": now})
    return len(names)


def keep(session: Session, held: str, *, display_name: str | None, handle: str | None,
         now: datetime) -> None:
    """One identity's names, as a sign-in showed them (a linked or claimed account)."""
    name, short = _clean(display_name, MAX_NAME), _clean(handle, MAX_HANDLE)
    if (name or short) and len(held) <= MAX_IDENTITY:
        session.execute(_UPSERT, {"identity": held, "name": name, "handle": short,
                                  "now": now})


def lookup(session: Session, identities: Iterable[str]) -> dict[str, Name]:
    wanted = sorted({i for i in identities if i and len(i) <= MAX_IDENTITY})
    found: dict[str, Name] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(select(IdentityName).where(
            IdentityName.identity.in_(wanted[start:start + 500]))).scalars()
        found.update((row.identity, Name(row.display_name, row.handle)) for row in rows)
    return found


def _clean(value: str | None, limit: int) -> str | None:
    """One line of printable text, cut to the column (names come from the networks)."""
    if not isinstance(value, str):
        return None
    text = " ".join("".join(c if c.isprintable() else " " for c in value).split())
    return text[:limit] or None
