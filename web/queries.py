"""Read-only queries behind the person and creator pages (plain rows for templates)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import accounts, names
from core.models import (
    Charge,
    Claim,
    Flattr,
    OptOut,
    Person,
    Settlement,
    SocialAccount,
    Thing,
    ThingTotal,
)
from core.names import Name
from core.shares import person_shares


@dataclass(frozen=True)
class FlattrRow:
    id: int
    period: str
    url: str
    title: str | None
    source: str
    occurred_at: datetime
    withdrawn: bool
    identity: str | None = None  # who holds the thing until its creator claims it


def open_flattrs(session: Session, person_id: int) -> list[FlattrRow]:
    """Flattrs in periods that have not started closing: these can still be withdrawn."""
    settled = select(Settlement.period)
    rows = session.execute(
        select(Flattr.id, Flattr.period, Thing.url, Thing.title, Flattr.source,
               Flattr.occurred_at, Flattr.withdrawn_at, Thing.identity)
        .join(Thing, Thing.id == Flattr.thing_id)
        .where(Flattr.person_id == person_id, Flattr.period.not_in(settled))
        .order_by(Flattr.occurred_at.desc(), Flattr.id.desc())
        .limit(200))
    return [FlattrRow(i, p, u, t, s, o, w is not None, held)
            for i, p, u, t, s, o, w, held in rows]


def statements(session: Session, person_id: int) -> list[dict[str, Any]]:
    # By the person's flattrs (indexed by person), then each period's charge by its key.
    periods = select(Flattr.period).where(Flattr.person_id == person_id).distinct().subquery()
    rows = session.execute(
        select(Charge.period, Charge.flattrs, Charge.charged_cents)
        .join(periods, periods.c.period == Charge.period)
        .join(Settlement, Settlement.period == Charge.period)
        .where(Charge.person_id == person_id, Charge.flattrs > 0,
               Settlement.finished_at.is_not(None))
        .order_by(Charge.period.desc()))
    return [{"period": p, "flattrs": int(n), "charged_cents": int(c)} for p, n, c in rows]


def statement_lines(session: Session, person_id: int, period: str) -> list[dict[str, Any]]:
    return sorted(
        ({"url": s.url, "title": s.title, "cents": s.cents, "state": s.state,
          "identity": s.to if s.state == "escrow" else None}
         for s in person_shares(session, person_id, period)),
        key=lambda line: line["url"])


def linked_accounts(session: Session, person_id: int) -> list[SocialAccount]:
    """The person's accounts, disconnected ones left out (core.accounts.linked)."""
    return accounts.linked(session, person_id)


def claims(session: Session, person_id: int) -> list[Claim]:
    return list(session.execute(
        select(Claim).where(Claim.person_id == person_id).order_by(Claim.kind, Claim.value)
    ).scalars())


def things(session: Session, person_id: int) -> list[dict[str, Any]]:
    clicks = (select(Flattr.thing_id, func.count().label("n"))
              .where(Flattr.withdrawn_at.is_(None)).group_by(Flattr.thing_id).subquery())
    rows = session.execute(
        select(Thing.url, Thing.title, func.coalesce(clicks.c.n, 0), Thing.identity)
        .outerjoin(clicks, clicks.c.thing_id == Thing.id)
        .where(Thing.owner_id == person_id).order_by(Thing.url).limit(500))
    return [{"url": u, "title": t, "flattrs": int(n), "identity": i} for u, t, n, i in rows]


def earnings(session: Session, person_id: int) -> list[dict[str, Any]]:
    net_gross = ThingTotal.gross_cents - ThingTotal.refund_cents
    rows = session.execute(
        select(ThingTotal.period, func.sum(ThingTotal.flattrs - ThingTotal.own_flattrs),
               func.sum(net_gross), func.sum(ThingTotal.fee_cents))
        .join(Thing, Thing.id == ThingTotal.thing_id)
        .where(Thing.owner_id == person_id, ThingTotal.creator_id == person_id,
               ThingTotal.state.in_(("paid", "released")))
        .group_by(ThingTotal.period).order_by(ThingTotal.period.desc()))
    return [{"period": p, "flattrs": int(n), "gross_cents": int(g), "fee_cents": int(f),
             "net_cents": int(g) - int(f)} for p, n, g, f in rows]


def escrow_waiting(session: Session, identities: list[str], now: datetime
                   ) -> list[dict[str, Any]]:
    """Escrow held for identities this person could claim (their linked accounts)."""
    if not identities:
        return []
    rows = session.execute(
        select(ThingTotal.identity, func.sum(ThingTotal.flattrs),
               func.sum(ThingTotal.gross_cents), func.min(ThingTotal.escrow_until))
        .where(ThingTotal.state == "escrow", ThingTotal.identity.in_(identities),
               ThingTotal.escrow_until > now)
        .group_by(ThingTotal.identity).order_by(ThingTotal.identity))
    return [{"identity": i, "flattrs": int(n), "cents": int(c), "until": u}
            for i, n, c, u in rows]


def names_of(session: Session, identities: Iterable[str | None]) -> dict[str, Name]:
    """How the networks showed these identities (core.names), for the pages."""
    return names.lookup(session, (i for i in identities if i))


def person_names(session: Session, person_ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(person_ids))
    if not wanted:
        return {}
    rows = session.execute(select(Person.id, Person.name).where(Person.id.in_(wanted)))
    return {int(person_id): str(name) for person_id, name in rows}


def opted_out(session: Session, person_id: int) -> datetime | None:
    row = session.get(OptOut, f"person:{person_id}")
    return row.created_at if row else None
