"""Deleting one's account: the money rules, then the personal details go.

The rules (the settings page states them, docs/web.md too):
- flattrs of every month not closed yet are withdrawn: nothing is charged for them and
  their creators get nothing from them;
- months already closed stay as they were: creators keep what they were paid, escrow
  already held for creators who have not joined stays held for them (claimed in time, it
  is paid to them; if the claim window passes, it goes to charity, since there is nobody
  to give it back to: `sweep_deleted_wallets`, run by the expire job);
- the wallet balance is refunded (a payout to the person), and so are earnings not paid
  out yet;
- claims end: escrow for the identities they had claimed is held for that identity again,
  as for anyone who has not joined; their things have no owner any more;
- then the personal details are removed: e-mail, password, name (replaced by an anonymous
  one), linked accounts and their tokens, the activities seen on them, notifications,
  e-mail links, OAuth states, failed sign-ins. The `people` row stays, anonymous, so that
  the ledger's `wallet:<id>` and `earnings:<id>` keys still name someone and
  `flattr check` holds.

Refused while a month is closing (its charges are fixed against the wallet).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from core import ledger
from core.db import rows_affected
from core.errors import UserError
from core.models import (
    AccountToken,
    ActivityRecord,
    Claim,
    IdentityName,
    Notification,
    OAuthState,
    OptOut,
    Person,
    Settlement,
    SignInFailure,
    SocialAccount,
    Thing,
    timed,
)
from core.settlement import CHARGING_LOCK_ID

REFUND, PAYOUT, UNCLAIMED = "refund", "payout", "unreturnable"


class MonthClosing(UserError):
    """A settlement is running: the wallet is being charged."""


@dataclass(frozen=True)
class Deletion:
    withdrawn_flattrs: int
    refunded_cents: int
    paid_out_cents: int
    claims_ended: int
    accounts_removed: int


def anonymous_name(person_id: int) -> str:
    """Not a name anyone can sign up with (names start with a letter or digit)."""
    return f"~deleted-{person_id}"


def delete_account(session: Session, person: Person, *, now: datetime) -> Deletion:
    """Apply the rules above in the caller's transaction."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # Settlement fixes charges under this lock: take turns with it.
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHARGING_LOCK_ID})
    if session.execute(select(Settlement.period).where(Settlement.stage != "done")).first():
        raise MonthClosing("a month is being closed right now: try again in a few minutes")
    pid = person.id
    withdrawn = rows_affected(session.execute(
        timed("UPDATE flattrs SET withdrawn_at = :now, withdrawn_by = 'deleted'"
              " WHERE person_id = :person AND withdrawn_at IS NULL AND NOT EXISTS"
              " (SELECT 1 FROM settlements WHERE settlements.period = flattrs.period)", "now"),
        {"now": now, "person": pid}))
    # An undone flattr would come back with new support (core.retractions): not any more.
    session.execute(text(
        "UPDATE flattrs SET withdrawn_by = 'deleted' WHERE person_id = :person"
        " AND withdrawn_by = 'undone' AND NOT EXISTS"
        " (SELECT 1 FROM settlements WHERE settlements.period = flattrs.period)"),
        {"person": pid})
    refunded = _empty(session, ledger.wallet(pid), REFUND, pid, now)
    paid = _empty(session, ledger.earnings(pid), PAYOUT, pid, now)
    identities = [i for (i,) in session.execute(
        select(SocialAccount.identity).where(SocialAccount.person_id == pid))]
    claimed = [v for (v,) in session.execute(
        select(Claim.value).where(Claim.person_id == pid, Claim.kind == "identity"))]
    claims = rows_affected(session.execute(delete(Claim).where(Claim.person_id == pid)))
    session.execute(update(Thing).where(Thing.owner_id == pid).values(owner_id=None))
    accounts = rows_affected(session.execute(
        delete(SocialAccount).where(SocialAccount.person_id == pid)))
    if identities or claimed:
        session.execute(delete(IdentityName).where(
            IdentityName.identity.in_(identities + claimed)))
    session.execute(delete(ActivityRecord).where(ActivityRecord.person_id == pid))
    session.execute(delete(Notification).where(Notification.person_id == pid))
    session.execute(delete(OAuthState).where(OAuthState.person_id == pid))
    session.execute(delete(AccountToken).where(AccountToken.person_id == pid))
    session.execute(delete(SignInFailure).where(SignInFailure.name == person.name[:64]))
    if session.get(OptOut, f"person:{pid}") is None:
        session.add(OptOut(subject=f"person:{pid}", created_at=now))
    session.execute(update(Person).where(Person.id == pid).values(
        name=anonymous_name(pid), email=None, password_hash=None, is_admin=False,
        announce_flattrs=False, digest_enabled=False, notify_channels="", deleted_at=now,
        session_generation=Person.session_generation + 1))
    session.refresh(person)
    return Deletion(withdrawn, refunded, paid, claims, accounts)


def sweep_deleted_wallets(session: Session, *, now: datetime) -> int:
    """Escrow returned to someone who deleted their account has nobody to go back to: it
    goes to charity. Returns the cents moved."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # Two workers' expire runs take turns (and with deletion and settlement), so each
        # reads the balance the other left: a wallet is never swept twice.
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHARGING_LOCK_ID})
    moved = 0
    for pid, held, last in session.execute(text(_DELETED_WALLETS)).all():
        # the ref names the wallet's last entry, not the clock: the same state swept twice
        # would break the unique ref instead of moving the money twice
        ledger.post(session, UNCLAIMED, [(ledger.wallet(int(pid)), -int(held)),
                                         (ledger.CHARITY, int(held))],
                    now=now, ref=f"{UNCLAIMED}:{pid}:after:{last}")
        moved += int(held)
    return moved


# People first, then their wallet's entries by whole key (see core.settlement_sql).
_DELETED_WALLETS = f"""
SELECT p.id, SUM(e.amount_cents), MAX(e.id) FROM people p
JOIN entries e ON e.account = {ledger.key_sql(ledger.AccountKind.WALLET, "p.id")}
WHERE p.deleted_at IS NOT NULL
GROUP BY p.id HAVING SUM(e.amount_cents) > 0
"""


def _empty(session: Session, account: ledger.Account, kind: str, pid: int,
           now: datetime) -> int:
    held = ledger.balance(session, account)
    if held > 0:
        ledger.post(session, kind, [(account, -held), (ledger.PAYOUTS, held)], now=now,
                    ref=f"{kind}:{pid}:{now.isoformat()}")
    return max(held, 0)
