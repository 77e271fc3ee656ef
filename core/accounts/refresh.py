"""The token-refresh claim: which worker renews which account's token, and storing it.

A claim (core.leases) takes active accounts of the given networks whose token expires
within the horizon, for a lease of their own (`refresh_owner`/`refresh_until`: a poll may
run meanwhile). The new tokens are stored with a compare-and-swap on the old refresh
token, not on the claim: a network that rotates refresh tokens (X) has spent the old one
once it answered, so the newest tokens must be kept even if this worker's claim lapsed;
another worker that tried the same refresh token is refused and finds the row changed. A
refusal moves the account to needs_reconnect (states.needs_reconnect, the same episode
and notice as a refused poll); a network that did not answer gives the claim back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core import leases
from core.accounts import states
from core.crypto import KeyRing
from core.db import Database


@dataclass(frozen=True)
class RefreshClaim:
    id: int
    person_id: int
    network: str
    refresh_ciphertext: str
    owner: str


def claim_refresh(db: Database, owner: str, *, networks: Sequence[str], now: datetime,
                  horizon: datetime, lease: timedelta, limit: int = 1000,
                  account_id: int | None = None) -> list[RefreshClaim]:
    """Claim accounts whose token expires by `horizon` (soonest first) for `lease`."""
    names = sorted(set(networks))
    if not names:
        return []
    marks = ", ".join(f":net{i}" for i in range(len(names)))
    only = " AND id = :account_id" if account_id is not None else ""
    lease_kind = leases.Lease(
        table="social_accounts",
        due=(f"status = :active AND network IN ({marks}) AND refresh_ciphertext IS NOT NULL"
             " AND token_expires_at <= :horizon"
             f" AND (refresh_until IS NULL OR refresh_until <= :now){only}"),
        take="refresh_owner = :owner, refresh_until = :until",
        returning="id, person_id, network, refresh_ciphertext",
        order="token_expires_at, id",
        times=("now", "until", "horizon"),
    )
    params = {"owner": owner, "active": states.ACTIVE, "horizon": horizon,
              "account_id": account_id, **{f"net{i}": n for i, n in enumerate(names)}}
    rows = leases.claim(db, lease_kind, now=now, duration=lease, limit=limit, params=params)
    return [RefreshClaim(r.id, r.person_id, r.network, r.refresh_ciphertext, owner)
            for r in rows]


def store_refreshed(session: Session, keys: KeyRing, claim: RefreshClaim, *,
                    access_token: str, refresh_token: str | None,
                    expires_at: datetime | None) -> bool:
    """Keep the new tokens, unless another worker stored newer ones first (False)."""
    return leases.finish(
        session, "social_accounts", claim.id, fence="refresh_ciphertext = :old",
        assignments="token_ciphertext = :access, refresh_ciphertext = :refresh,"
                    " token_expires_at = :expires, last_error = NULL,"
                    " refresh_owner = NULL, refresh_until = NULL",
        params={"old": claim.refresh_ciphertext,
                "access": states.seal_token(keys, access_token),
                "refresh": states.seal_token(keys, refresh_token) if refresh_token else None,
                "expires": expires_at},
        times=("expires",))


def give_back(session: Session, claim: RefreshClaim) -> bool:
    """The network did not answer: the claim ends, the account is due again next run."""
    return leases.finish(session, "social_accounts", claim.id, fence="refresh_owner = :owner",
                         assignments="refresh_owner = NULL, refresh_until = NULL",
                         params={"owner": claim.owner})


def refused(session: Session, claim: RefreshClaim, *, now: datetime, reason: str) -> bool:
    """The network refused the refresh token: needs_reconnect (unless another worker just
    refreshed it, in which case the stored token is newer than ours: False)."""
    return states.needs_reconnect(session, claim.id, now=now, reason=reason,
                                  refresh_sealed=claim.refresh_ciphertext)
