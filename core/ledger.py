"""Double-entry postings over ledger accounts, and the self-check.

An account is an `Account` value: wallet and earnings of a person (by id), escrow of an
identity (`twitter:12345`, `url:https://...`), and the fixed accounts fees, charity,
deposits (money in from outside) and payouts (money out). Its key, the text stored in
`entries.account`, has one format (`str(account)`, e.g. `wallet:42`) and one parse
(`Account.parse`). SQL never cuts a key apart: statements build the key of an owning row
with `key_sql` (the SQL twin of `str`) and match or group on whole keys.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from core.models import Entry, Transaction
from core.periods import calendar_month, is_period


class AccountKind(StrEnum):
    WALLET = "wallet"  # a person's prepaid money
    EARNINGS = "earnings"  # what a creator is owed
    ESCROW = "escrow"  # shares held for an identity nobody claimed yet
    FEES = "fees"
    CHARITY = "charity"
    DEPOSITS = "deposits"
    PAYOUTS = "payouts"


PERSON_KINDS = frozenset({AccountKind.WALLET, AccountKind.EARNINGS})
FIXED_KINDS = frozenset({AccountKind.FEES, AccountKind.CHARITY, AccountKind.DEPOSITS,
                         AccountKind.PAYOUTS})
# A person id as the databases print it: CAST(id AS TEXT) has no sign and no leading zero.
_PERSON_ID = re.compile(r"[1-9][0-9]{0,18}")


class InvalidAccount(ValueError):
    """Text that is not the key of a ledger account."""


@dataclass(frozen=True, slots=True)
class Account:
    """One ledger account: `kind` plus its owner (a person id for wallet and earnings, an
    identity for escrow, None for the fixed accounts)."""

    kind: AccountKind
    owner: int | str | None = None

    def __post_init__(self) -> None:
        kind, owner = self.kind, self.owner
        if not isinstance(kind, AccountKind):
            raise InvalidAccount(f"not an account kind: {kind!r}")
        if kind in PERSON_KINDS:
            ok = isinstance(owner, int) and not isinstance(owner, bool) and 0 < owner < 2**63
        elif kind is AccountKind.ESCROW:
            ok = isinstance(owner, str) and owner != "" and owner.isprintable()
        else:
            ok = owner is None
        if not ok:
            raise InvalidAccount(f"a {kind} account cannot be owned by {owner!r}")

    @classmethod
    def wallet(cls, person_id: int) -> Account:
        return cls(AccountKind.WALLET, person_id)

    @classmethod
    def earnings(cls, person_id: int) -> Account:
        return cls(AccountKind.EARNINGS, person_id)

    @classmethod
    def escrow(cls, identity: str) -> Account:
        return cls(AccountKind.ESCROW, identity)

    @classmethod
    def parse(cls, key: str) -> Account:
        """The account whose key is `key` (exactly: `parse(str(a)) == a`)."""
        name, colon, owner = key.partition(":")
        try:
            kind = AccountKind(name)
        except ValueError:
            raise InvalidAccount(f"not an account: {key[:200]!r}") from None
        if kind in FIXED_KINDS and not colon:
            return cls(kind)
        if kind in PERSON_KINDS and _PERSON_ID.fullmatch(owner):
            return cls(kind, int(owner))
        if kind is AccountKind.ESCROW and colon:
            return cls(kind, owner)
        raise InvalidAccount(f"not an account: {key[:200]!r}")

    @property
    def person_id(self) -> int:
        """The owner of a wallet or earnings account."""
        if not isinstance(self.owner, int):
            raise InvalidAccount(f"{self} is not a person's account")
        return self.owner

    def __str__(self) -> str:
        return self.kind.value if self.owner is None else f"{self.kind.value}:{self.owner}"


FEES = Account(AccountKind.FEES)
CHARITY = Account(AccountKind.CHARITY)
DEPOSITS = Account(AccountKind.DEPOSITS)
PAYOUTS = Account(AccountKind.PAYOUTS)
wallet = Account.wallet
earnings = Account.earnings
escrow = Account.escrow


def key_sql(kind: AccountKind, owner: str | None = None) -> str:
    """The SQL expression of the key of the `kind` account owned by the SQL expression
    `owner` (a person id or an identity column): the twin of str(Account), for statements
    that join or group entries with the rows that own them, on both databases."""
    if kind in FIXED_KINDS:
        if owner is not None:
            raise InvalidAccount(f"the {kind} account has no owner")
        return f"'{kind.value}'"
    if owner is None:
        raise InvalidAccount(f"a {kind} account needs an owner")
    if kind in PERSON_KINDS:
        return f"'{kind.value}:' || CAST({owner} AS VARCHAR(20))"
    return f"'{kind.value}:' || {owner}"


def like_sql(kind: AccountKind) -> str:
    """A LIKE pattern (SQL literal) matching the keys of every account of `kind`."""
    return f"'{kind.value}'" if kind in FIXED_KINDS else f"'{kind.value}:%'"


class UnbalancedTransaction(ValueError):
    pass


def post(
    session: Session,
    kind: str,
    legs: Iterable[tuple[Account, int]],
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
            [{"transaction_id": txn_id, "account": str(a), "amount_cents": v} for a, v in legs],
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


def balance(session: Session, account: Account) -> int:
    return int(
        session.execute(
            select(func.coalesce(func.sum(Entry.amount_cents), 0))
            .where(Entry.account == str(account))
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


_WALLET, _EARNINGS, _ESCROW = AccountKind.WALLET, AccountKind.EARNINGS, AccountKind.ESCROW
_FIXED = ", ".join(key_sql(kind) for kind in sorted(FIXED_KINDS))

# Each query returns rows that are problems; every one is bounded and set-based. Keys are
# grouped or matched whole (built from the owning rows with key_sql), never cut apart.
_CHECKS: list[tuple[str, str]] = [
    (
        "transaction {0} does not balance (sums to {1})",
        "SELECT transaction_id, SUM(amount_cents) FROM entries "
        "GROUP BY transaction_id HAVING SUM(amount_cents) <> 0",
    ),
    (
        "account {0} is negative ({1})",
        "SELECT account, SUM(amount_cents) FROM entries"
        f" WHERE account LIKE {like_sql(_WALLET)} OR account LIKE {like_sql(_EARNINGS)}"
        f" OR account LIKE {like_sql(_ESCROW)}"
        f" OR account IN ({key_sql(AccountKind.FEES)}, {key_sql(AccountKind.CHARITY)})"
        " GROUP BY account HAVING SUM(amount_cents) < 0",
    ),
    (
        "account {0} belongs to nobody: not an account key, or no such person",
        # The keys in use against every key that may exist: one UNION and one GROUP BY (a
        # NOT EXISTS on a built key would scan the people once per entry on SQLite).
        f"""
        SELECT account FROM (
            SELECT account, 0 AS known FROM entries
            WHERE account NOT LIKE 'escrow:_%' AND account NOT IN ({_FIXED})
            UNION ALL
            SELECT {key_sql(_WALLET, "id")}, 1 FROM people
            UNION ALL
            SELECT {key_sql(_EARNINGS, "id")}, 1 FROM people
        ) keys GROUP BY account HAVING SUM(known) = 0
        """,
    ),
    (
        "person {0} was charged {2} in {1}, more than the budget {3}",
        "SELECT person_id, period, charged_cents, budget_cents FROM charges"
        " WHERE charged_cents > budget_cents OR charged_cents < 0",
    ),
    (
        "{0} in {1}: the ledger took {2} but the charge was {3}",
        f"""
        SELECT account, period, SUM(posted), SUM(fixed) FROM (
            SELECT e.account, t.period, -e.amount_cents AS posted, 0 AS fixed
            FROM entries e JOIN transactions t ON t.id = e.transaction_id
            WHERE t.kind IN ('settle', 'charity') AND e.account LIKE {like_sql(_WALLET)}
            UNION ALL
            SELECT {key_sql(_WALLET, "person_id")}, period, 0, charged_cents FROM charges
        ) both_sides GROUP BY account, period HAVING SUM(posted) <> SUM(fixed)
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
        "SELECT held, deposited, paid FROM (SELECT"
        f" COALESCE(SUM(CASE WHEN account NOT IN ({key_sql(AccountKind.DEPOSITS)},"
        f" {key_sql(AccountKind.PAYOUTS)}) THEN amount_cents ELSE 0 END), 0) AS held,"
        f" -COALESCE(SUM(CASE WHEN account = {key_sql(AccountKind.DEPOSITS)}"
        " THEN amount_cents ELSE 0 END), 0) AS deposited,"
        f" COALESCE(SUM(CASE WHEN account = {key_sql(AccountKind.PAYOUTS)}"
        " THEN amount_cents ELSE 0 END), 0) AS paid"
        " FROM entries) totals WHERE held + paid <> deposited",
    ),
    (
        # A UNION and one GROUP BY: a join of two derived tables is quadratic on SQLite.
        "{0} holds {1} but its things in escrow hold {2}",
        f"""
        SELECT account, SUM(held), SUM(owed) FROM (
            SELECT account, amount_cents AS held, 0 AS owed
            FROM entries WHERE account LIKE {like_sql(_ESCROW)}
            UNION ALL
            SELECT {key_sql(_ESCROW, "identity")}, 0, gross_cents FROM thing_totals
            WHERE state = 'escrow'
        ) both_sides GROUP BY account HAVING SUM(held) <> SUM(owed)
        """,
    ),
    (
        "{0} {1} has no rank key, so its place in a split is unknown",
        "SELECT 'thing', id FROM things WHERE rank_key IS NULL"
        " UNION ALL SELECT 'flattr', id FROM flattrs WHERE rank_key IS NULL",
    ),
]

# Every column that names a period, each read as its few distinct values: where an index
# leads with it (and its filter matches a partial one), one index probe per value, else
# one GROUP BY.
_PERIOD_COLUMNS = (("settlements", "period", ""), ("charges", "period", ""),
                   ("transactions", "period", ""), ("thing_totals", "period", ""),
                   ("flattrs", "period", " AND withdrawn_at IS NULL"),
                   ("budgets", "effective_period", None))
_DISTINCT = "SELECT {column} FROM {table} WHERE {column} IS NOT NULL GROUP BY {column}"
_DISTINCT_BY_INDEX = """
WITH RECURSIVE seen (value) AS (
    SELECT MIN({column}) FROM {table} WHERE {column} IS NOT NULL{where}
    UNION ALL
    SELECT (SELECT MIN(x.{column}) FROM {table} x WHERE x.{column} > seen.value{where})
    FROM seen WHERE seen.value IS NOT NULL
) SELECT value FROM seen WHERE value IS NOT NULL
"""

# Wallet postings of settle and charity transactions, and charges, per person and calendar
# month ({month} maps stored spellings to their month): more than one of either is a
# person charged twice for one month.
_CHARGED_TWICE = f"""
SELECT account, month, SUM(posted), SUM(fixed) FROM (
    SELECT account, {{month}} AS month, posted, fixed FROM (
        SELECT e.account, t.period, 1 AS posted, 0 AS fixed
        FROM entries e JOIN transactions t ON t.id = e.transaction_id
        WHERE t.kind IN ('settle', 'charity') AND e.account LIKE {like_sql(_WALLET)}
        UNION ALL
        SELECT {key_sql(_WALLET, "person_id")}, period, 0, 1 FROM charges
    ) legs
) months GROUP BY account, month HAVING SUM(posted) > 1 OR SUM(fixed) > 1
"""


def self_check(session: Session, limit: int = 20) -> CheckResult:
    """Every transaction balances, every account key belongs to someone, no wallet/earnings/
    escrow is negative, no period charged anyone more than their budget or twice for one
    month, every period is spelled YYYY-MM, and all money held equals all money deposited
    less payouts."""
    problems: list[str] = []
    for template, sql in _CHECKS:
        for row in session.execute(text(sql + f" LIMIT {int(limit)}")):
            problems.append(template.format(*row))
    problems += _check_periods(session, limit)
    return CheckResult(problems)


def _check_periods(session: Session, limit: int) -> list[str]:
    problems, months = [], {}
    for table, column, where in _PERIOD_COLUMNS:
        sql = _DISTINCT if where is None else _DISTINCT_BY_INDEX
        for (value,) in session.execute(text(
                sql.format(table=table, column=column, where=where or ""))):
            if not is_period(value):
                problems.append(f"{table}.{column} holds {value!r}, not a period YYYY-MM")
                months[value] = calendar_month(value) or value
    # Map each non-canonical spelling to the month it names (a lenient parser settled it
    # as that month); canonical spellings are their own month.
    params: dict[str, str] = {}
    cases = []
    for n, (spelling, month) in enumerate(sorted(months.items())):
        params |= {f"s{n}": spelling, f"m{n}": month}
        cases.append(f" WHEN :s{n} THEN :m{n}")
    month_sql = f"CASE period{''.join(cases)} ELSE period END" if cases else "period"
    sql = _CHARGED_TWICE.format(month=month_sql) + f" LIMIT {int(limit)}"
    for key, month, posted, fixed in session.execute(text(sql), params):
        problems.append(f"{_owner(key)} was charged more than once for {month}:"
                        f" {posted} wallet posting(s) and {fixed} charge(s)")
    return problems[:limit]


def _owner(key: str) -> str:
    try:
        return f"person {Account.parse(key).person_id}"
    except InvalidAccount:
        return f"account {key}"
