"""The notification outbox: rows written in the same transaction as their cause.

Only the kind and the key numbers are stored; the notify job renders the message from the
ledger at delivery time. A dedupe key makes every notification happen at most once.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.models import timed

KINDS = (
    "statement",  # a creator's monthly statement
    "month_closed",  # a person's month: what went where
    "new_flattrs",  # a creator's digest of new flattrs
    "needs_reconnect",
    "wallet_low",
    "no_budget",  # a bot's activity in a period the person set no budget for (once a period)
    "escrow_returned",
    "claim_invitation",
    "announce_flattr",  # one per flattr (its dedupe key): folded into the day's post
    "announce_day",  # "announce my flattrs": at most one post per person per day
)


def enqueue(
    session: Session,
    kind: str,
    dedupe_key: str,
    *,
    now: datetime,
    person_id: int | None = None,
    identity: str | None = None,
    payload: dict[str, Any] | None = None,
    due: datetime | None = None,
) -> None:
    """Add one notification unless one with the same dedupe key exists; it is due at `due`
    (default: now)."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    session.execute(
        timed(
            "INSERT INTO notifications (dedupe_key, kind, person_id, identity, payload, status,"
            " attempts, next_attempt_at, created_at)"
            " VALUES (:key, :kind, :person_id, :identity, :payload, 'pending', 0, :due, :now)"
            " ON CONFLICT (dedupe_key) DO NOTHING",
            "now", "due",
        ),
        {"key": dedupe_key, "kind": kind, "person_id": person_id, "identity": identity,
         "payload": json.dumps(payload or {}, sort_keys=True), "now": now,
         "due": due or now},
    )
