"""Keeping tokens alive and keys current: the `refresh` job of `flattr run`.

A network whose linking flow can refresh tokens (NetworkSpec.link.refresh: X, whose access
tokens live two hours) has every token expiring within a margin renewed by
`refresh_tokens`, which stores the new (rotated) refresh token. It never holds a
transaction while it talks to the network. Many workers may run it at once: each account
is first claimed with a compare-and-swap on its expiry (pushed past the margin for
`lease`), so one worker calls the network per account; the write is a compare-and-swap on
the old refresh token, so a worker that lost its claim (stalled past the lease) cannot
overwrite a newer refresh token. A refusal marks the account `needs_reconnect` (and tells
the person once); a network that does not answer gives the claim back, to be tried again
next run. Facebook long-lived tokens cannot be refreshed without the person: when one
lapses, the poll marks the account `needs_reconnect` and the person page asks to reconnect.

`reseal_all` re-encrypts every stored token under the first key of FLATTR_TOKEN_KEYS: the
second half of a key rotation, after which the old key can be dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from bots import registry
from bots.oauth import OAuthFailed, OAuthUnavailable
from config import Settings
from core import accounts, crypto, notifications
from core.db import Database, rows_affected
from core.models import SocialAccount
from runtime import logs
from runtime.keys import key_ring

REFRESH_MARGIN = timedelta(minutes=15)
CLAIM_LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class RefreshSummary:
    refreshed: int = 0
    failed: int = 0  # refused: the account needs reconnecting
    raced: int = 0  # another worker had it (claimed, or stored first)
    deferred: int = 0  # the network did not answer: tried again next run


def refresh_tokens(db: Database, settings: Settings, *, now: datetime,
                   margin: timedelta = REFRESH_MARGIN, lease: timedelta = CLAIM_LEASE,
                   account_id: int | None = None) -> RefreshSummary:
    refreshers = {spec.name: spec.link.refresh for spec in registry.all_networks()
                  if spec.link is not None and spec.link.refresh is not None}
    query = select(SocialAccount.id, SocialAccount.person_id, SocialAccount.refresh_ciphertext,
                   SocialAccount.token_expires_at, SocialAccount.network
                   ).where(SocialAccount.network.in_(sorted(refreshers)),
                           SocialAccount.status == "active",
                           SocialAccount.refresh_ciphertext.is_not(None),
                           SocialAccount.token_expires_at <= now + margin)
    if account_id is not None:
        query = query.where(SocialAccount.id == account_id)
    keys = key_ring(settings)
    with db.unit_of_work() as session:
        due = session.execute(query.order_by(SocialAccount.token_expires_at)).all()
    refreshed = failed = raced = deferred = 0
    for row_id, person_id, old_sealed, expires_at, network in due:
        assert old_sealed is not None  # selected IS NOT NULL
        claimed_until = now + margin + lease
        if not _claim(db, row_id, old_sealed, expires_at, claimed_until):
            raced += 1
            continue
        try:
            tokens = refreshers[network](settings, accounts.open_token(keys, old_sealed), now)
        except OAuthUnavailable as exc:
            _unclaim(db, row_id, old_sealed, expires_at, claimed_until)
            logs.event("tokens.refresh_deferred", account=row_id, error=str(exc))
            deferred += 1
            continue
        except (OAuthFailed, crypto.TokenUnreadable) as exc:
            failed += _give_up(db, row_id, person_id, network, old_sealed, str(exc), now)
            continue
        with db.unit_of_work() as session:
            stored = rows_affected(session.execute(
                update(SocialAccount)
                .where(SocialAccount.id == row_id,
                       SocialAccount.refresh_ciphertext == old_sealed)
                .values(token_ciphertext=accounts.seal_token(keys, tokens.access_token),
                        refresh_ciphertext=(accounts.seal_token(keys, tokens.refresh_token)
                                            if tokens.refresh_token else None),
                        token_expires_at=tokens.expires_at, last_error=None)
            ))
        logs.event("tokens.refreshed" if stored else "tokens.refresh_raced", account=row_id,
                   expires_at=tokens.expires_at)
        if stored:
            refreshed += 1
        else:
            raced += 1
    return RefreshSummary(refreshed, failed, raced, deferred)


def _claim(db: Database, row_id: int, old_sealed: str, expires_at: datetime | None,
           until: datetime) -> bool:
    """Take the account for this worker: its expiry moves past the margin until `until`,
    so other workers do not see it as due; one worker wins the compare-and-swap."""
    with db.unit_of_work() as session:
        return bool(rows_affected(session.execute(
            update(SocialAccount)
            .where(SocialAccount.id == row_id, SocialAccount.status == "active",
                   SocialAccount.refresh_ciphertext == old_sealed,
                   SocialAccount.token_expires_at == expires_at)
            .values(token_expires_at=until)
        )))


def _unclaim(db: Database, row_id: int, old_sealed: str, expires_at: datetime | None,
             claimed_until: datetime) -> None:
    """Give the claim back (the network did not answer): the real expiry, due again next
    run."""
    with db.unit_of_work() as session:
        session.execute(
            update(SocialAccount)
            .where(SocialAccount.id == row_id, SocialAccount.refresh_ciphertext == old_sealed,
                   SocialAccount.token_expires_at == claimed_until)
            .values(token_expires_at=expires_at))


def _give_up(db: Database, row_id: int, person_id: int, network: str, old_sealed: str,
             reason: str, now: datetime) -> int:
    """A refused refresh token: the person must reconnect (unless another process just
    refreshed it, in which case the stored token is newer than ours)."""
    with db.unit_of_work() as session:
        changed = rows_affected(session.execute(
            update(SocialAccount)
            .where(SocialAccount.id == row_id, SocialAccount.refresh_ciphertext == old_sealed)
            .values(status=accounts.STATUS_RECONNECT, last_error=reason[:500])
        ))
        logs.event("tokens.refresh_refused", account=row_id, error=reason)
        if changed:
            notifications.enqueue(session, "needs_reconnect",
                                  f"needs_reconnect:{row_id}:{now:%Y-%m-%dT%H}", now=now,
                                  person_id=person_id, payload={"network": network})
    return int(bool(changed))


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
