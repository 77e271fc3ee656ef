"""The linked account's states and every transition between them, with the notice a
transition queues. The only code that writes `social_accounts.status` (a test greps for
the state names written anywhere else).

    link ──> active ──(poll refused the token, refresh refused)──> needs_reconnect
               │  └──(the network says the person removed the app)──> revoked
               └──(the person disconnects; from any state)──> disconnected
    needs_reconnect, revoked, disconnected ──(link again)──> active

- active: polled when due, its token refreshed before it expires.
- needs_reconnect: the network refused our token; tokens kept (a refresh token may still
  be worth a look by an operator), nothing polled.
- revoked: the network told us the grant is gone (Facebook's deauthorize callback, X's
  revoke event later); tokens wiped.
- disconnected: the person disconnected it here. The row is kept, tokens wiped, lease,
  cursor and triggers forgotten, and it can be linked again (by anyone who proves it is
  theirs through the network's sign-in). Why keep it: "never flattr your own" reads the
  identities of every account a person ever linked (core/ingest_sql.py), so a post of the
  account they just disconnected must still not be flattred by them; and the `identity`
  stays unique, so nobody else can link it without the network's say-so. A network's data
  deletion request (`forget`) does delete the row: that is the law, not a choice.

Leaving `active` for needs_reconnect or revoked begins a reconnect episode: the person gets
ONE needs_reconnect notice for it, whichever of the poll, the token refresh or a webhook
noticed first, and however often: the transition is a compare-and-swap from `active`
(or, for revoked, from any linked state), and its dedupe key is the episode's
(`needs_reconnect:<account>:<linked_at>`). Every transition out of `active` drops the poll
lease, so a poll that was running stores nothing (`store_poll` is fenced on the lease).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core import identity, notifications
from core.crypto import KeyRing
from core.errors import UserError
from core.models import SocialAccount, timed
from core.words import N_

ACTIVE = "active"
NEEDS_RECONNECT = "needs_reconnect"
REVOKED = "revoked"
DISCONNECTED = "disconnected"
STATES = (ACTIVE, NEEDS_RECONNECT, REVOKED, DISCONNECTED)
LINKED = (ACTIVE, NEEDS_RECONNECT, REVOKED)  # still the person's, shown on their page
MUST_RECONNECT = (NEEDS_RECONNECT, REVOKED)  # nothing happens until the person relinks
LABELS = {ACTIVE: N_("active"), NEEDS_RECONNECT: N_("needs reconnect"),
          REVOKED: N_("revoked: needs reconnect"), DISCONNECTED: N_("disconnected")}
NOTICE = "needs_reconnect"  # the notification kind a reconnect episode queues

# Older names, kept for callers and tests of the previous layout.
STATUS_ACTIVE, STATUS_RECONNECT = ACTIVE, NEEDS_RECONNECT

_DROP_LEASE = {"lease_owner": None, "lease_until": None}
_WIPE_TOKENS = {"token_ciphertext": None, "refresh_ciphertext": None,
                "token_expires_at": None, "refresh_owner": None, "refresh_until": None}


def label(status: str) -> str:
    """How a state reads on a page."""
    return LABELS.get(status, status)


def is_active(account: SocialAccount) -> bool:
    return account.status == ACTIVE


# -- tokens: the one place that seals and opens them ------------------------------------


def seal_token(keys: KeyRing, plaintext: str) -> str:
    """Encrypt a token for storage (Fernet under the token keys: runtime.keys). Every
    write of a token goes through here, every read through `open_token`."""
    return keys.seal(plaintext)


def open_token(keys: KeyRing, ciphertext: str | None) -> str:
    """The plaintext token; raises ValueError (crypto.TokenUnreadable) when no key opens it."""
    if not ciphertext:
        raise ValueError("no token stored")
    return keys.open(ciphertext)


# -- lookups ------------------------------------------------------------------------------


def account_identity(network: str, external_user_id: str) -> str:
    """The identity a linked account stands for (its network registered the scheme)."""
    return str(identity.account(network, external_user_id))


def find(session: Session, network: str, external_user_id: str) -> SocialAccount | None:
    return session.execute(select(SocialAccount).where(
        SocialAccount.network == network, SocialAccount.external_user_id == external_user_id,
    )).scalar_one_or_none()


def linked(session: Session, person_id: int, network: str | None = None
           ) -> list[SocialAccount]:
    """A person's accounts that are still theirs (not disconnected), by network and id."""
    query = select(SocialAccount).where(SocialAccount.person_id == person_id,
                                        SocialAccount.status.in_(LINKED))
    if network is not None:
        query = query.where(SocialAccount.network == network)
    return list(session.execute(query.order_by(SocialAccount.network, SocialAccount.id))
                .scalars())


def person_account(session: Session, person_id: int, account_id: int) -> SocialAccount:
    """One of the person's linked accounts, or a UserError (someone else's, or gone)."""
    account = session.get(SocialAccount, account_id)
    if account is None or account.person_id != person_id or account.status not in LINKED:
        raise UserError("no such linked account")
    return account


# -- transitions --------------------------------------------------------------------------


def link_account(session: Session, keys: KeyRing, *, person_id: int, network: str,
                 external_user_id: str, token: str, now: datetime, handle: str | None = None,
                 triggers: Iterable[str] | None = None, refresh_token: str | None = None,
                 expires_at: datetime | None = None) -> SocialAccount:
    """Link (or relink) an account: a new grant, active, due now, a new episode. A
    relinked account keeps its cursor and triggers (unless new ones are given); one that
    was disconnected starts afresh, like a new one, and may move to another person."""
    who = account_identity(network, external_user_id)
    account = find(session, network, external_user_id)
    if account is not None and account.status == DISCONNECTED:
        account.person_id = person_id
        account.cursor = account.triggers = account.last_error = None
        account.last_polled_at = account.last_activity_at = account.wake_requested_at = None
    elif account is not None and account.person_id != person_id:
        raise UserError("%(who)s is already linked to someone else", who=str(who))
    if account is None:
        account = SocialAccount(person_id=person_id, network=network,
                                external_user_id=external_user_id, identity=who,
                                created_at=now)
        session.add(account)
    account.handle = handle or account.handle
    account.token_ciphertext = seal_token(keys, token)
    account.refresh_ciphertext = seal_token(keys, refresh_token) if refresh_token else None
    account.token_expires_at = expires_at
    account.refresh_owner = account.refresh_until = None
    account.status = ACTIVE
    account.triggers = ",".join(sorted(triggers)) if triggers is not None else account.triggers
    account.next_poll_at = account.linked_at = now
    account.lease_owner = account.lease_until = None  # a running poll used the old grant
    account.last_error = None
    session.flush()
    return account


def needs_reconnect(session: Session, account_id: int, *, now: datetime, reason: str | None,
                    refresh_sealed: str | None = None) -> bool:
    """active -> needs_reconnect (the network refused our token), and the episode's notice.
    `refresh_sealed`: only if this is still the stored refresh token (a refresh refused;
    another worker may have refreshed meanwhile). False: not active any more, or raced."""
    query = update(SocialAccount).where(SocialAccount.id == account_id,
                                        SocialAccount.status == ACTIVE)
    if refresh_sealed is not None:
        query = query.where(SocialAccount.refresh_ciphertext == refresh_sealed)
    return _transition(session, query.values(
        status=NEEDS_RECONNECT, last_error=_short(reason), refresh_owner=None,
        refresh_until=None, **_DROP_LEASE), now=now) > 0


def revoke(session: Session, network: str, external_user_id: str, *, now: datetime,
           reason: str) -> int:
    """The network says the person removed the app: revoked, tokens wiped, the episode's
    notice (one, if the account needed reconnecting already). Returns how many changed."""
    return _transition(session, update(SocialAccount).where(
        SocialAccount.network == network, SocialAccount.external_user_id == external_user_id,
        SocialAccount.status.in_(LINKED),
    ).values(status=REVOKED, last_error=_short(reason), **_WIPE_TOKENS, **_DROP_LEASE), now=now)


def disconnect(session: Session, person_id: int, account_id: int) -> SocialAccount:
    """The person disconnects an account: kept as disconnected (see the module's note),
    tokens wiped, nothing polled; no notice (they did it)."""
    account = person_account(session, person_id, account_id)
    account.status = DISCONNECTED
    account.cursor = account.triggers = account.last_error = account.wake_requested_at = None
    for column, value in {**_WIPE_TOKENS, **_DROP_LEASE}.items():
        setattr(account, column, value)
    session.flush()
    return account


def forget(session: Session, network: str, external_user_id: str) -> int:
    """A data deletion request: the account's row is deleted (what it flattred stays, as
    the donor's own record)."""
    account = find(session, network, external_user_id)
    if account is None:
        return 0
    session.delete(account)
    session.flush()
    return 1


def set_triggers(account: SocialAccount, chosen: Iterable[str]) -> None:
    """The person's choice (already narrowed by the network's rules: core.triggers)."""
    account.triggers = ",".join(sorted(chosen))


def _transition(session: Session, query: Any, *, now: datetime) -> int:
    """Run a transition into a must-reconnect state; each account that left `active`
    queues its episode's notice (the dedupe key makes it once, wherever it came from)."""
    rows = session.execute(query.returning(
        SocialAccount.id, SocialAccount.person_id, SocialAccount.network,
        SocialAccount.handle, SocialAccount.linked_at, SocialAccount.created_at)).all()
    for row in rows:
        episode = row.linked_at or row.created_at
        notifications.enqueue(
            session, NOTICE, f"{NOTICE}:{row.id}:{episode:%Y-%m-%dT%H:%M:%S}", now=now,
            person_id=row.person_id, payload={"network": row.network, "handle": row.handle})
    return len(rows)


def _short(reason: str | None) -> str | None:
    return reason[:500] if reason else None


# -- operations ---------------------------------------------------------------------------


def status_counts(session: Session, *, now: datetime) -> dict[str, int]:
    """What `flattr status` shows: accounts (not disconnected), due, leased, and those
    waiting for their person to reconnect (needs_reconnect or revoked)."""
    row = session.execute(timed("""
        SELECT
          COALESCE(SUM(CASE WHEN status <> :gone THEN 1 ELSE 0 END), 0),
          COALESCE(SUM(CASE WHEN status = :active AND next_poll_at <= :now THEN 1 ELSE 0 END), 0),
          COALESCE(SUM(CASE WHEN lease_owner IS NOT NULL AND lease_until > :now
                            THEN 1 ELSE 0 END), 0),
          COALESCE(SUM(CASE WHEN status IN (:reconnect, :revoked) THEN 1 ELSE 0 END), 0)
        FROM social_accounts""", "now"),
        {"now": now, "gone": DISCONNECTED, "active": ACTIVE, "reconnect": NEEDS_RECONNECT,
         "revoked": REVOKED}).one()
    return {"accounts": int(row[0]), "due": int(row[1]), "leased": int(row[2]),
            "needs_reconnect": int(row[3])}


def next_due_at(session: Session) -> datetime | None:
    """The earliest `next_poll_at` of an active account (the demo's clock jumps to it)."""
    return session.execute(select(func.min(SocialAccount.next_poll_at)).where(
        SocialAccount.status == ACTIVE)).scalar()
