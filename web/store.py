"""What the OAuth flows keep in the database: one-use states, the accounts they link
(through core.accounts, which owns the linked account and seals its tokens), and a
federated network's apps, one per server."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bots import registry
from bots.oauth import AccountInfo, Tokens
from bots.registry import InstanceApp as App
from config import Settings
from core import accounts
from core.db import rows_affected
from core.errors import UserError
from core.models import InstanceApp, OAuthState, SocialAccount, timed
from runtime.keys import key_ring

STATE_TTL = timedelta(minutes=15)


class BadState(UserError):
    """An OAuth callback whose state is unknown, spent, expired, or someone else's."""


def new_state(session: Session, *, person_id: int, network: str, purpose: str, now: datetime,
              state: str | None = None, verifier: str | None = None,
              instance: str | None = None) -> str:
    state = state or secrets.token_urlsafe(32)
    session.add(OAuthState(state=state, person_id=person_id, network=network, purpose=purpose,
                           code_verifier=verifier, created_at=now, instance=instance))
    session.flush()
    return state


def take_state(session: Session, state: str, *, person_id: int, network: str,
               now: datetime, ttl: timedelta = STATE_TTL) -> OAuthState:
    """Spend a state exactly once: a replayed or forged callback finds nothing to spend."""
    spent = rows_affected(session.execute(
        timed("UPDATE oauth_states SET used_at = :now WHERE state = :state"
              " AND used_at IS NULL AND person_id = :person AND network = :network"
              " AND created_at > :oldest", "now", "oldest"),
        {"now": now, "state": state or "", "person": person_id, "network": network,
         "oldest": now - ttl},
    ))
    if spent != 1:
        raise BadState("This sign-in link is not valid any more (expired, already used, or "
                       "not started here). Please start again.")
    row = session.get(OAuthState, state)
    assert row is not None
    return row


def forget_old_states(session: Session, *, now: datetime, ttl: timedelta = STATE_TTL) -> int:
    return rows_affected(session.execute(
        delete(OAuthState).where(OAuthState.created_at < now - ttl)))


def link(session: Session, settings: Settings, *, person_id: int, network: str,
         identity: AccountInfo, tokens: Tokens, now: datetime) -> SocialAccount:
    return accounts.link_account(
        session, key_ring(settings), person_id=person_id, network=network,
        external_user_id=identity.external_user_id, token=tokens.access_token, now=now,
        handle=identity.handle, refresh_token=tokens.refresh_token,
        expires_at=tokens.expires_at)


def claim_value(network: str, account: AccountInfo) -> str:
    """What signing in to an account proves: its network's account identity."""
    return str(registry.get(network).account_identity(account.external_user_id))


# -- a federated network's apps, one per server ------------------------------------------


def instance_app(session: Session, settings: Settings, network: str, host: str) -> App | None:
    """The service's app on `host`, as registered there (its secret opened)."""
    row = session.execute(select(InstanceApp).where(
        InstanceApp.network == network, InstanceApp.host == host)).scalar_one_or_none()
    if row is None:
        return None
    return App(row.host, row.client_id, accounts.open_token(key_ring(settings),
                                                            row.secret_ciphertext))


def keep_instance_app(session: Session, settings: Settings, network: str, app: App,
                      redirect_uri: str, now: datetime) -> App:
    """Keep a newly registered app; when another request kept one for the same server
    first, that one wins (and is returned)."""
    session.execute(
        timed("INSERT INTO instance_apps (network, host, client_id, secret_ciphertext,"
              " redirect_uri, created_at) VALUES (:network, :host, :client_id, :secret,"
              " :redirect, :now) ON CONFLICT (network, host) DO NOTHING", "now"),
        {"network": network, "host": app.host, "client_id": app.client_id,
         "secret": accounts.seal_token(key_ring(settings), app.client_secret),
         "redirect": redirect_uri, "now": now})
    kept = instance_app(session, settings, network, app.host)
    assert kept is not None
    return kept
