"""Double-entry postings over text account keys, and the self-check.

Accounts: wallet:<person id>, earnings:<person id>, escrow:<identity>, fees, charity,
and the two outside-world accounts deposits (money in) and payouts (money out).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from core.models import Entry, Transaction

FEES = "fees"
CHARITY = "charity"
DEPOSITS = "deposits"
PAYOUTS = "payouts"


def wallet(person_id: int) -> str:
    return f"wallet:{person_id}"


def earnings(person_id: int) -> str:
    return f"earnings:{person_id}"


def escrow(identity: str) -> str:
    return f"escrow:{identity}"


class UnbalancedTransaction(ValueError):
    pass


def post(
    session: Session,
    kind: str,
    legs: Iterable[tuple[str, int]],
    *,
    now: datetime,
    ref: str | None = None,
    period: str | None = None,
) -> int:
    """Write one balanced transaction; returns its id. Zero legs are left out."""
    legs = [(account, amount) for account, amount in legs if amount != 0]
    if sum(amount for _, amount in legs) != 0:
        raise UnbalancedTransaction(f"{kind} {ref}: legs sum to {sum(a for _, a in legs)}")
    txn_id = open_transaction(session, kind, now=now, ref=ref, period=period)
    if legs:
        session.execute(
            insert(Entry),
            [{"transaction_id": txn_id, "account": a, "amount_cents": v} for a, v in legs],
        )
    return txn_id


def open_transaction(
    session: Session, kind: str, *, now: datetime, ref: str | None = None,
    period: str | None = None,
) -> int:
    """A transaction row whose entries a set-based statement will add (same unit of work)."""
    return session.execute(
        insert(Transaction)
        .values(kind=kind, ref=ref, period=period, created_at=now)
        .returning(Transaction.id)
    ).scalar_one()


def balance(session: Session, account: str) -> int:
    return int(
        session.execute(
            select(func.coalesce(func.sum(Entry.amount_cents), 0)).where(Entry.account == account)
        ).scalar_one()
    )


def transaction_exists(session: Session, ref: str) -> bool:
    return session.execute(select(Transaction.id).where(Transaction.ref == ref)).first() is not None


@dataclass(frozen=True)
class CheckResult:
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


# Each query returns rows that are problems; every one is bounded and set-based.
_CHECKS: list[tuple[str, str]] = [
    (
        "transaction {0} does not balance (sums to {1})",
        "SELECT transaction_id, SUM(amount_cents) FROM entries "
        "GROUP BY transaction_id HAVING SUM(amount_cents) <> 0",
    ),
    (
        "account {0} is negative ({1})",
        "SELECT account, SUM(amount_cents) FROM entries "
        "WHERE account LIKE 'wallet:%' OR account LIKE 'earnings:%' "
        "OR account LIKE 'escrow:%' OR account IN ('fees', 'charity') "
        "GROUP BY account HAVING SUM(amount_cents) < 0",
    ),
    (
        "person {0} was charged {2} in {1}, more than the budget {3}",
        "SELECT person_id, period, charged_cents, budget_cents FROM charges"
        " WHERE charged_cents > budget_cents OR charged_cents < 0",
    ),
    (
        "person {0} in {1}: the ledger took {2} but the charge was {3}",
        """
        SELECT person_id, period, SUM(posted), SUM(fixed) FROM (
            SELECT CAST(SUBSTR(e.account, 8) AS INTEGER) AS person_id, t.period,
                   -e.amount_cents AS posted, 0 AS fixed
            FROM entries e JOIN transactions t ON t.id = e.transaction_id
            WHERE t.kind IN ('settle', 'charity') AND e.account LIKE 'wallet:%'
            UNION ALL
            SELECT person_id, period, 0, charged_cents FROM charges
        ) both_sides GROUP BY person_id, period HAVING SUM(posted) <> SUM(fixed)
        """,
    ),
    (
        "person {0} in {1}: the shares add up to {2} but the charge was {3}",
        """
        SELECT person_id, period, SUM(split), SUM(fixed) FROM (
            SELECT person_id, period, share_cents AS split, 0 AS fixed FROM shares
            UNION ALL
            SELECT person_id, period, 0, charged_cents FROM charges
            WHERE flattrs > 0 AND period IN (SELECT period FROM settlements
                WHERE stage IN ('shares', 'ledger', 'release', 'idle', 'notices', 'done'))
        ) both_sides GROUP BY person_id, period HAVING SUM(split) <> SUM(fixed)
        """,
    ),
    (
        "thing {0} in {1}: its shares add up to {2} but its total is {3}",
        """
        SELECT thing_id, period, SUM(split), SUM(total) FROM (
            SELECT thing_id, period, share_cents AS split, 0 AS total FROM shares
            UNION ALL
            SELECT thing_id, period, 0, gross_cents FROM thing_totals
        ) both_sides GROUP BY thing_id, period HAVING SUM(split) <> SUM(total)
        """,
    ),
    (
        "money does not add up: accounts hold {0} but {1} was deposited and {2} paid out",
        "SELECT held, deposited, paid FROM (SELECT "
        " COALESCE(SUM(CASE WHEN account NOT IN ('deposits', 'payouts') "
        "   THEN amount_cents ELSE 0 END), 0) AS held,"
        " -COALESCE(SUM(CASE WHEN account = 'deposits' THEN amount_cents ELSE 0 END), 0)"
        "   AS deposited,"
        " COALESCE(SUM(CASE WHEN account = 'payouts' THEN amount_cents ELSE 0 END), 0) AS paid"
        " FROM entries) totals WHERE held + paid <> deposited",
    ),
    (
        # A UNION and one GROUP BY: a join of two derived tables is quadratic on SQLite.
        "escrow for {0} holds {1} but its things in escrow hold {2}",
        """
        SELECT identity, SUM(held), SUM(owed) FROM (
            SELECT SUBSTR(account, 8) AS identity, amount_cents AS held, 0 AS owed
            FROM entries WHERE account LIKE 'escrow:%'
            UNION ALL
            SELECT identity, 0, gross_cents FROM thing_totals WHERE state = 'escrow'
        ) both_sides GROUP BY identity HAVING SUM(held) <> SUM(owed)
        """,
    ),
]


def self_check(session: Session, limit: int = 20) -> CheckResult:
    """Every transaction balances, no wallet/earnings/escrow is negative, no period charged
    anyone more than their budget, and all money held equals all money deposited less
    payouts."""
    problems: list[str] = []
    for template, sql in _CHECKS:
        for row in session.execute(text(sql + f" LIMIT {int(limit)}")):
            problems.append(template.format(*row))
    return CheckResult(problems)
