"""Things (creations by canonical URL) and creators' claims on identities and URL prefixes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import identity, ledger
from core.activity import Target
from core.db import rows_affected
from core.errors import AlreadyClaimed, UnknownThing
from core.escrow import post_release
from core.models import Claim, Person, Thing, timed
from core.rules import Rules
from core.settlement_sql import POSTED_PERIODS
from core.split import rank_key
from core.urls import InvalidURL, canonicalize

OWNERSHIP_LOCK_ID = 0x0C1A1D  # any constant shared by every worker


def add_thing(session: Session, rules: Rules, url: str, owner: Person, *, now: datetime,
              title: str | None = None) -> Thing:
    """Register a creation; an unclaimed thing at the same URL is handed to the owner, with
    the escrow still waiting for it."""
    canonical = canonicalize(url)
    _serialise_ownership(session)
    thing = _find_or_create(session, canonical, str(identity.url(canonical)), title, owner.id,
                           now)
    if thing.owner_id not in (None, owner.id):
        raise AlreadyClaimed("%(what)s already belongs to someone else", what=canonical)
    thing.owner_id = owner.id
    if title:
        thing.title = title[:300]
    session.flush()
    withdraw_own_flattrs(session, owner.id, now=now)
    if thing.identity:
        release_owned_escrow(session, rules, owner.id, "identity = :value",
                             {"value": thing.identity}, now)
    return thing


def find_thing(session: Session, canonical_url: str) -> Thing | None:
    return session.execute(select(Thing).where(Thing.url == canonical_url)).scalar_one_or_none()


def get_thing(session: Session, url: str) -> Thing:
    thing = find_thing(session, canonicalize(url))
    if thing is None:
        raise UnknownThing("unknown thing: %(url)s", url=url)
    return thing


def resolve_target(session: Session, targets: tuple[Target, ...], *, now: datetime) -> Thing | None:
    """The thing an activity flattrs: the first link that is a registered thing or lies under
    a claimed URL prefix; otherwise the last target (the post itself), created if new."""
    targets = tuple(_canonical(t) for t in targets)
    linked = [t for t in targets if t.url]
    for target in linked:
        assert target.url is not None
        thing = find_thing(session, target.url)
        if thing is not None:
            return thing
        claimer = prefix_claimer(session, target.url)
        if claimer is not None:
            return _find_or_create(session, target.url, str(identity.url(target.url)),
                                   target.title, claimer, now)
    if not targets:
        return None
    fallback = targets[-1]
    if fallback.url is None:
        return None
    held_by = fallback.identity or str(identity.url(fallback.url))
    return _find_or_create(session, fallback.url, held_by, fallback.title,
                           identity_claimer(session, held_by), now)


def _canonical(target: Target) -> Target:
    """Bots hand canonical URLs; this keeps a careless caller from splitting a thing in two."""
    if not target.url:
        return target
    try:
        return replace(target, url=canonicalize(target.url))
    except InvalidURL:
        return replace(target, url=None)


def canonical_targets(targets: tuple[Target, ...]) -> tuple[Target, ...]:
    """The targets as resolve_target sees them (for a caller resolving a batch itself)."""
    return tuple(_canonical(t) for t in targets)


def longest_prefix_claimer(prefixes: dict[str, int], canonical_url: str) -> int | None:
    """prefix_claimer over claims already loaded ({prefix: person id})."""
    matches = [value for value in prefixes if canonical_url.startswith(value)]
    return prefixes[max(matches, key=len)] if matches else None


def prefix_claimer(session: Session, canonical_url: str) -> int | None:
    return session.execute(
        select(Claim.person_id)
        .where(Claim.kind == "prefix",
               func.substr(canonical_url, 1, func.length(Claim.value)) == Claim.value)
        .order_by(func.length(Claim.value).desc())
        .limit(1)
    ).scalar_one_or_none()


def identity_claimer(session: Session, identity: str) -> int | None:
    return session.execute(
        select(Claim.person_id).where(Claim.kind == "identity", Claim.value == identity)
    ).scalar_one_or_none()


def _find_or_create(session: Session, url: str, identity: str, title: str | None,
                    owner_id: int | None, now: datetime) -> Thing:
    # ON CONFLICT: another worker may create the same thing at the same moment.
    session.execute(
        timed("INSERT INTO things (url, title, owner_id, identity, rank_key, created_at)"
              " VALUES (:url, :title, :owner, :identity, :rank, :now)"
              " ON CONFLICT (url) DO NOTHING", "now"),
        {"url": url, "title": (title or None) and title[:300], "owner": owner_id,
         "identity": identity, "rank": rank_key(url), "now": now},
    )
    thing = find_thing(session, url)
    assert thing is not None
    return thing


@dataclass(frozen=True)
class ClaimResult:
    kind: str
    value: str
    things: int
    released_cents: int
    released_shares: int


def claim(session: Session, rules: Rules, person: Person, identity_or_prefix: str, *,
          now: datetime) -> ClaimResult:
    """Give a creator an identity or a URL prefix: its unowned things, and the escrow still
    waiting for them within the claim window."""
    raw = (identity_or_prefix or "").strip()
    if raw[:8].lower().startswith(("http://", "https://")):
        kind, value = "prefix", canonicalize(raw)
    else:
        kind, value = "identity", str(identity.parse(raw))
    _serialise_ownership(session)
    if kind == "prefix":
        _refuse_overlapping_prefix(session, person, value)
    existing = session.execute(select(Claim).where(Claim.value == value)).scalar_one_or_none()
    if existing is not None and existing.person_id != person.id:
        raise AlreadyClaimed("%(what)s is already claimed by someone else", what=value)
    if existing is None:
        try:
            with session.begin_nested():
                session.add(Claim(person_id=person.id, kind=kind, value=value, created_at=now))
        except IntegrityError:
            raise AlreadyClaimed("%(what)s was claimed by someone else just now",
                                 what=value) from None

    params: dict[str, object]
    if kind == "identity":
        match, params = "identity = :value", {"value": value}
    else:  # things held as url:<canonical url> under the prefix
        match = "SUBSTR(identity, 1, :n) = :value"
        params = {"value": identity.url_prefix(value), "n": len(identity.url_prefix(value))}
    things = rows_affected(session.execute(
        text(f"UPDATE things SET owner_id = :person WHERE owner_id IS NULL AND {match}"),
        {"person": person.id, **params},
    ))
    withdraw_own_flattrs(session, person.id, now=now)
    released, cents = release_owned_escrow(session, rules, person.id, match, params, now)
    return ClaimResult(kind, value, things, cents, released)


def _serialise_ownership(session: Session) -> None:
    """On PostgreSQL, claims and registrations take turns (so two overlapping claims cannot
    both pass their checks), and wait for any settlement stage in progress, which takes
    its locks in the same order."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        session.execute(text("SELECT period FROM settlements WHERE finished_at IS NULL FOR SHARE"))
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": OWNERSHIP_LOCK_ID})


def withdraw_own_flattrs(session: Session, person_id: int, *, now: datetime) -> int:
    """A creator who gains a thing they flattred this month no longer flattrs their own."""
    return rows_affected(session.execute(
        timed("UPDATE flattrs SET withdrawn_at = :now, withdrawn_by = 'own'"
              " WHERE person_id = :person"
              " AND withdrawn_at IS NULL"
              " AND thing_id IN (SELECT id FROM things WHERE owner_id = :person)"
              " AND NOT EXISTS (SELECT 1 FROM settlements s WHERE s.period = flattrs.period)",
              "now"),
        {"person": person_id, "now": now},
    ))


def _refuse_overlapping_prefix(session: Session, person: Person, prefix: str) -> None:
    other = session.execute(
        select(Claim.value).where(
            Claim.kind == "prefix", Claim.person_id != person.id,
            (func.substr(prefix, 1, func.length(Claim.value)) == Claim.value)
            | (func.substr(Claim.value, 1, len(prefix)) == prefix),
        ).limit(1)
    ).scalar_one_or_none()
    if other is not None:
        raise AlreadyClaimed("%(what)s overlaps %(other)s, which someone else claimed",
                             what=prefix, other=other)


def release_owned_escrow(session: Session, rules: Rules, person_id: int, match: str,
                         params: dict[str, object], now: datetime) -> tuple[int, int]:
    """Pay a creator the escrow of things they now own (among those `match` selects, for the
    index), in periods whose settlement has posted it; a share of their own flattr goes
    back to them rather than being paid to them."""
    txn = ledger.open_transaction(session, "release", now=now)
    released = rows_affected(session.execute(
        timed("UPDATE thing_totals SET state = 'released', creator_id = :person,"
              " resolution_txn_id = :txn"
              f" WHERE state = 'escrow' AND escrow_until > :now AND {match}"
              " AND thing_id IN (SELECT id FROM things WHERE owner_id = :person)"
              f" AND {POSTED_PERIODS}", "now"),
        {"person": person_id, "txn": txn, "now": now, **params},
    ))
    if not released:
        session.execute(text("DELETE FROM transactions WHERE id = :txn"), {"txn": txn})
        return 0, 0
    return post_release(session, txn)
