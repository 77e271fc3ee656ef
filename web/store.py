"""What the OAuth flows keep in the database: one-use states, and the accounts they link
(through core.accounts, which owns the linked account and seals its tokens)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bots import registry
from bots.oauth import AccountInfo, Tokens
from config import Settings
from core import accounts
from core.db import rows_affected
from core.errors import UserError
from core.models import OAuthState, SocialAccount, timed
from runtime.keys import key_ring

STATE_TTL = timedelta(minutes=15)


class BadState(UserError):
    """An OAuth callback whose state is unknown, spent, expired, or someone else's."""


def new_state(session: Session, *, person_id: int, network: str, purpose: str, now: datetime,
              state: str | None = None, verifier: str | None = None) -> str:
    state = state or secrets.token_urlsafe(32)
    session.add(OAuthState(state=state, person_id=person_id, network=network, purpose=purpose,
                           code_verifier=verifier, created_at=now))
    session.flush()
    return state


def take_state(session: Session, state: str, *, person_id: int, network: str,
               now: datetime) -> OAuthState:
    """Spend a state exactly once: a replayed or forged callback finds nothing to spend."""
    spent = rows_affected(session.execute(
        timed("UPDATE oauth_states SET used_at = :now WHERE state = :state"
              " AND used_at IS NULL AND person_id = :person AND network = :network"
              " AND created_at > :oldest", "now", "oldest"),
        {"now": now, "state": state or "", "person": person_id, "network": network,
         "oldest": now - STATE_TTL},
    ))
    if spent != 1:
        raise BadState("This sign-in link is not valid any more (expired, already used, or "
                       "not started here). Please start again.")
    row = session.get(OAuthState, state)
    assert row is not None
    return row


def forget_old_states(session: Session, *, now: datetime) -> int:
    return rows_affected(session.execute(
        delete(OAuthState).where(OAuthState.created_at < now - STATE_TTL)))


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
