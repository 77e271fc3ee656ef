"""Escrow leaves in two ways: released to a creator who claimed, or, once the claim window
passed, returned to the donors, who are told."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from core import ledger
from core.db import rows_affected
from core.ledger import AccountKind, like_sql
from core.models import timed
from core.settlement_sql import (
    RELEASE_LEDGER_SQL,
    RELEASED_OWN_FLATTRS_SQL,
    RETURN_EXPIRED_SQL,
    RETURN_LEDGER_SQL,
    RETURN_NOTICES_SQL,
)
from core.shares import share_of_flattr
from core.split import fee_of


@dataclass(frozen=True)
class ExpiryResult:
    shares: int
    cents: int
    donors: int


def post_release(session: Session, txn: int) -> tuple[int, int]:
    """Post the escrow the caller just marked released under `txn`: the claimer gets it
    less the fee fixed when its period closed, except a share of their own flattr, which
    goes back to their wallet.
    Returns the flattrs and cents released to the claimer (their own not counted)."""
    for period, claimer, thing_id in session.execute(text(RELEASED_OWN_FLATTRS_SQL),
                                                     {"txn": txn}).all():
        own = share_of_flattr(session, claimer, period, thing_id)
        rate = session.execute(text(
            "SELECT fee_bps FROM thing_totals WHERE period = :p AND thing_id = :t"),
            {"p": period, "t": thing_id}).scalar_one()
        session.execute(text(
            "UPDATE thing_totals SET refund_cents = :own, own_flattrs = 1,"
            " fee_cents = fee_cents - :own_fee WHERE period = :p AND thing_id = :t"),
            {"own": own, "own_fee": fee_of(own, rate), "p": period, "t": thing_id})
    session.execute(text(RELEASE_LEDGER_SQL), {"txn": txn})
    flattrs, cents = session.execute(text(
        "SELECT COALESCE(SUM(flattrs - own_flattrs), 0),"
        " COALESCE(SUM(gross_cents - refund_cents), 0) FROM thing_totals"
        " WHERE resolution_txn_id = :txn"), {"txn": txn}).one()
    return int(flattrs), int(cents)


def return_expired(session: Session, *, now: datetime) -> ExpiryResult:
    """One balanced transaction returning every expired escrow to its donors; idempotent
    (a thing's escrow leaves the escrow state in the same transaction)."""
    txn = ledger.open_transaction(session, "return", now=now)
    if not rows_affected(session.execute(timed(RETURN_EXPIRED_SQL, "now"),
                                         {"txn": txn, "now": now})):
        session.execute(text("DELETE FROM transactions WHERE id = :txn"), {"txn": txn})
        return ExpiryResult(0, 0, 0)
    session.execute(text(RETURN_LEDGER_SQL), {"txn": txn})
    # The amount rides in the notice: looking it up later would scan the shares again.
    session.execute(timed(RETURN_NOTICES_SQL, "now"), {"txn": txn, "now": now})
    flattrs, cents = session.execute(text(
        "SELECT COALESCE(SUM(flattrs), 0), COALESCE(SUM(gross_cents), 0) FROM thing_totals"
        " WHERE resolution_txn_id = :txn"), {"txn": txn}).one()
    donors = session.execute(text(
        "SELECT COUNT(*) FROM entries WHERE transaction_id = :txn"
        f" AND account LIKE {like_sql(AccountKind.WALLET)}"), {"txn": txn}).scalar_one()
    return ExpiryResult(int(flattrs), int(cents), int(donors))
