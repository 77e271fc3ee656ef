"""Keeping tokens alive and keys current: the `refresh` job of `flattr run`.

A network whose linking flow can refresh tokens (NetworkSpec.link.refresh: X, whose access
tokens live two hours) has every token expiring within a margin renewed by
`refresh_tokens`, which stores the new (rotated) refresh token. It never holds a
transaction while it talks to the network. Many workers may run it at once: each account
is first claimed (core.accounts.claim_refresh, a lease of its own), so one worker calls
the network per account; the write is a compare-and-swap on the old refresh token, so a
worker that lost its claim cannot overwrite a newer refresh token. A refusal marks the
account `needs_reconnect` and tells the person, once per episode (core.accounts.refused);
a network that does not answer gives the claim back, to be tried again next run. Facebook
long-lived tokens cannot be refreshed without the person: when one lapses, the poll marks
the account `needs_reconnect` and the person page asks to reconnect.

`reseal_all` re-encrypts every stored token under the first key of FLATTR_TOKEN_KEYS: the
second half of a key rotation, after which the old key can be dropped.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from bots import registry
from bots.oauth import OAuthFailed, OAuthUnavailable
from config import Settings
from core import accounts, crypto
from core.db import Database
from core.models import SocialAccount
from runtime import logs
from runtime.keys import key_ring

REFRESH_MARGIN = timedelta(minutes=15)
CLAIM_LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class RefreshSummary:
    refreshed: int = 0
    failed: int = 0  # refused: the account needs reconnecting
    raced: int = 0  # another worker stored first
    deferred: int = 0  # the network did not answer: tried again next run


def refresh_tokens(db: Database, settings: Settings, *, now: datetime,
                   margin: timedelta = REFRESH_MARGIN, lease: timedelta = CLAIM_LEASE,
                   account_id: int | None = None, owner: str | None = None) -> RefreshSummary:
    refreshers = {spec.name: spec.link.refresh for spec in registry.all_networks()
                  if spec.link is not None and spec.link.refresh is not None}
    keys = key_ring(settings)
    claims = accounts.claim_refresh(db, owner or f"refresh:{secrets.token_hex(6)}",
                                    networks=list(refreshers), now=now, horizon=now + margin,
                                    lease=lease, account_id=account_id)
    refreshed = failed = raced = deferred = 0
    for claim in claims:
        try:
            tokens = refreshers[claim.network](
                settings, accounts.open_token(keys, claim.refresh_ciphertext), now)
        except OAuthUnavailable as exc:
            with db.unit_of_work() as session:
                accounts.give_back(session, claim)
            logs.event("tokens.refresh_deferred", account=claim.id, error=str(exc))
            deferred += 1
            continue
        except (OAuthFailed, crypto.TokenUnreadable) as exc:
            with db.unit_of_work() as session:
                failed += accounts.refused(session, claim, now=now, reason=str(exc))
            logs.event("tokens.refresh_refused", account=claim.id, error=str(exc))
            continue
        with db.unit_of_work() as session:
            stored = accounts.store_refreshed(session, keys, claim,
                                              access_token=tokens.access_token,
                                              refresh_token=tokens.refresh_token,
                                              expires_at=tokens.expires_at)
        logs.event("tokens.refreshed" if stored else "tokens.refresh_raced", account=claim.id,
                   expires_at=tokens.expires_at)
        if stored:
            refreshed += 1
        else:
            raced += 1
    return RefreshSummary(refreshed, failed, raced, deferred)


def reseal_all(db: Database, settings: Settings) -> int:
    """Re-encrypt every stored token under the newest key; returns the rows rewritten."""
    keys, count = key_ring(settings), 0
    with db.unit_of_work() as session:
        for account in session.execute(select(SocialAccount)).scalars():
            for column in ("token_ciphertext", "refresh_ciphertext"):
                sealed = getattr(account, column)
                if sealed:
                    setattr(account, column, keys.reseal(sealed))
            count += 1
    return count
