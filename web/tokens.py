"""Keeping tokens alive and keys current.

X access tokens live two hours; `refresh_x_tokens` renews every one expiring within a
margin, storing the new (rotated) refresh token. It never holds a transaction while it
talks to X, and it writes with a compare-and-swap on the old refresh token, so two
processes refreshing the same account cannot lose the newest refresh token. Facebook
long-lived tokens cannot be refreshed without the person: when one lapses, the poll marks
the account `needs_reconnect` and the person page asks to reconnect.

`reseal_all` re-encrypts every stored token under the first key of FLATTR_TOKEN_KEYS: the
second half of a key rotation, after which the old key can be dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from bots.oauth import OAuthFailed, x_refresh
from config import Settings
from core import accounts, crypto, notifications
from core.db import Database
from core.models import SocialAccount
from jobs import logs
from web.store import affected

REFRESH_MARGIN = timedelta(minutes=15)


@dataclass(frozen=True)
class RefreshSummary:
    refreshed: int = 0
    failed: int = 0
    raced: int = 0


def refresh_x_tokens(db: Database, settings: Settings, *, now: datetime,
                     margin: timedelta = REFRESH_MARGIN,
                     account_id: int | None = None) -> RefreshSummary:
    query = select(SocialAccount.id, SocialAccount.person_id, SocialAccount.refresh_ciphertext
                   ).where(SocialAccount.network == "x", SocialAccount.status == "active",
                           SocialAccount.refresh_ciphertext.is_not(None),
                           SocialAccount.token_expires_at <= now + margin)
    if account_id is not None:
        query = query.where(SocialAccount.id == account_id)
    with db.unit_of_work() as session:
        due = session.execute(query).all()
    refreshed = failed = raced = 0
    for row_id, person_id, old_sealed in due:
        assert old_sealed is not None  # selected IS NOT NULL
        try:
            tokens = x_refresh(settings, accounts.open_token(settings, old_sealed), now)
        except (OAuthFailed, crypto.TokenUnreadable) as exc:
            failed += _give_up(db, row_id, person_id, old_sealed, str(exc), now)
            continue
        with db.unit_of_work() as session:
            stored = affected(session.execute(
                update(SocialAccount)
                .where(SocialAccount.id == row_id,
                       SocialAccount.refresh_ciphertext == old_sealed)
                .values(token_ciphertext=accounts.seal_token(settings, tokens.access_token),
                        refresh_ciphertext=(accounts.seal_token(settings, tokens.refresh_token)
                                            if tokens.refresh_token else None),
                        token_expires_at=tokens.expires_at, last_error=None)
            ))
        logs.event("tokens.refreshed" if stored else "tokens.refresh_raced", account=row_id,
                   expires_at=tokens.expires_at)
        if stored:
            refreshed += 1
        else:
            raced += 1
    return RefreshSummary(refreshed, failed, raced)


def _give_up(db: Database, row_id: int, person_id: int, old_sealed: str, reason: str,
             now: datetime) -> int:
    """A refused refresh token: the person must reconnect (unless another process just
    refreshed it, in which case the stored token is newer than ours)."""
    with db.unit_of_work() as session:
        changed = affected(session.execute(
            update(SocialAccount)
            .where(SocialAccount.id == row_id, SocialAccount.refresh_ciphertext == old_sealed)
            .values(status=accounts.STATUS_RECONNECT, last_error=reason[:500])
        ))
        logs.event("tokens.refresh_refused", account=row_id, error=reason)
        if changed:
            notifications.enqueue(session, "needs_reconnect",
                                  f"needs_reconnect:{row_id}:{now:%Y-%m-%dT%H}", now=now,
                                  person_id=person_id, payload={"network": "x"})
    return int(bool(changed))


def reseal_all(db: Database, settings: Settings) -> int:
    """Re-encrypt every stored token under the newest key; returns the rows rewritten."""
    count = 0
    with db.unit_of_work() as session:
        for account in session.execute(select(SocialAccount)).scalars():
            for column in ("token_ciphertext", "refresh_ciphertext"):
                sealed = getattr(account, column)
                if sealed:
                    setattr(account, column, crypto.reseal(settings, sealed))
            count += 1
    return count
