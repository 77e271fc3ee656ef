"""A person's shares of a settled period, recomputed from their flattrs and their charge.

Settlement writes the split once, set-based, into `shares`, which has no index (see
core.models.shares). Reading one person's shares back therefore recomputes them with the
pure core.split.share_of over the same rank order (their open flattrs in the order the
period recorded, core.settlement_sql.SPLIT_ORDERS): the flattrs of a settled period never
change, and the tests hold the two to each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.periods import period_index
from core.settlement_sql import SPLIT_ORDERS
from core.split import share_of

_CHARGE = "SELECT flattrs, charged_cents FROM charges WHERE period = :p AND person_id = :who"

_FLATTRS = """
SELECT f.thing_id, t.url, t.title,
       CASE WHEN tt.state = 'released' AND tt.creator_id = f.person_id THEN 'returned'
            ELSE tt.state END,
       tt.identity, p.name
FROM flattrs f JOIN things t ON t.id = f.thing_id
LEFT JOIN thing_totals tt ON tt.period = f.period AND tt.thing_id = f.thing_id
LEFT JOIN people p ON p.id = tt.creator_id
WHERE f.person_id = :who AND f.period = :p AND f.withdrawn_at IS NULL
ORDER BY {order}
"""


@dataclass(frozen=True)
class PersonShare:
    thing_id: int
    url: str
    title: str | None
    cents: int
    state: str  # paid | escrow | released | returned (also: their own, given back on claim)
    to: str  # the creator's name, or the identity the escrow waits for


def person_shares(session: Session, person_id: int, period: str) -> list[PersonShare]:
    """What each of a person's flattrs of a settled `period` got, in rank order; empty when
    the period charged them nothing or its shares are not written yet."""
    charge = session.execute(text(_CHARGE), {"p": period, "who": person_id}).one_or_none()
    order = _split_order(session, period)
    if charge is None or not charge.flattrs or order is None:
        return []
    rows = session.execute(text(_FLATTRS.format(order=SPLIT_ORDERS[order])),
                           {"p": period, "who": person_id}).all()
    if len(rows) != charge.flattrs:
        raise RuntimeError(f"person {person_id} has {len(rows)} open flattrs in settled"
                           f" period {period}, but was charged for {charge.flattrs}")
    rotation = period_index(period)
    return [
        PersonShare(thing_id, url, title,
                    share_of(charge.charged_cents, charge.flattrs, rank, rotation),
                    state or "paid", name or identity or "")
        for rank, (thing_id, url, title, state, identity, name) in enumerate(rows)
    ]


def share_of_flattr(session: Session, person_id: int, period: str, thing_id: int) -> int:
    """The share one flattr got (0 if the person did not flattr the thing that period)."""
    for share in person_shares(session, person_id, period):
        if share.thing_id == thing_id:
            return share.cents
    return 0


def _split_order(session: Session, period: str) -> str | None:
    """The order the period's shares were written in; None while they are not written."""
    row = session.execute(text("SELECT stage, split_order FROM settlements WHERE period = :p"),
                          {"p": period}).one_or_none()
    return None if row is None or row.stage in ("begun", "charges") else str(row.split_order)
