"""Escrow whose claim window passed goes back to the donors, who are told."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from core import ledger
from core.db import rows_affected
from core.models import timed
from core.settlement_sql import RETURN_EXPIRED_SQL, RETURN_LEDGER_SQL


@dataclass(frozen=True)
class ExpiryResult:
    shares: int
    cents: int
    donors: int


def return_expired(session: Session, *, now: datetime) -> ExpiryResult:
    """One balanced transaction returning every expired escrowed share; idempotent (a share
    leaves the escrow state in the same transaction)."""
    txn = ledger.open_transaction(session, "return", now=now)
    returned = rows_affected(
        session.execute(timed(RETURN_EXPIRED_SQL, "now"), {"txn": txn, "now": now}))
    if not returned:
        session.execute(text("DELETE FROM transactions WHERE id = :txn"), {"txn": txn})
        return ExpiryResult(0, 0, 0)
    session.execute(text(RETURN_LEDGER_SQL), {"txn": txn})
    session.execute(
        timed("""
        INSERT INTO notifications (dedupe_key, kind, person_id, identity, payload, status,
                                   attempts, next_attempt_at, created_at)
        SELECT 'escrow_returned:' || CAST(:txn AS TEXT) || ':' || CAST(person_id AS TEXT),
               'escrow_returned', person_id, NULL,
               '{"transaction_id": ' || CAST(:txn AS TEXT) || '}', 'pending', 0, :now, :now
        FROM shares WHERE resolution_txn_id = :txn GROUP BY person_id
        ON CONFLICT (dedupe_key) DO NOTHING
        """, "now"),
        {"txn": txn, "now": now},
    )
    cents, donors = session.execute(
        text("SELECT COALESCE(SUM(share_cents), 0), COUNT(DISTINCT person_id) FROM shares"
             " WHERE resolution_txn_id = :txn"), {"txn": txn},
    ).one()
    return ExpiryResult(returned, int(cents), int(donors))
