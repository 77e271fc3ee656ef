"""People: wallets, budgets (effective from the next period), top-ups."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import inputs, ledger
from core.errors import BudgetTooLow, UnknownPerson, UserError
from core.models import Budget, Person
from core.money import Amount
from core.periods import next_period, period_of
from core.rules import Rules

# ASCII only, matched whole (fullmatch: `$` would let a trailing newline through).
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")


def find_person(session: Session, name: str) -> Person:
    person = (session.execute(select(Person).where(Person.name == name)).scalar_one_or_none()
              if isinstance(name, str) and _NAME.fullmatch(name) else None)
    if person is None:
        raise UnknownPerson("unknown person: %(name)s", name=inputs.shown(str(name)))
    return person


def add_person(
    session: Session, rules: Rules, name: str, budget: int, funds: int, *, now: datetime,
    email: str | None = None,
) -> Person:
    """A new person whose budget counts from the current period."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise UserError(
            "bad name %(name)s: use 1-64 letters, digits, '.', '_' or '-',"
            " starting with a letter or digit", name=inputs.shown(str(name))
        )
    _check_budget(rules, budget)
    if funds < 0:
        raise UserError("funds must not be negative")
    if session.execute(select(Person.id).where(Person.name == name)).first():
        raise UserError("a person named %(name)r already exists", name=name)
    person = Person(name=name, email=inputs.email(email), announce_flattrs=False,
                    created_at=now)
    try:
        with session.begin_nested():
            session.add(person)
    except IntegrityError:
        raise UserError("a person named %(name)r already exists", name=name) from None
    session.add(Budget(person_id=person.id, effective_period=period_of(now), cents=budget))
    if funds:
        topup(session, person, funds, now=now)
    return person


def topup(session: Session, person: Person, amount: int, *, now: datetime,
          ref: str | None = None) -> int:
    """Money in from outside: deposits -> wallet. `ref` makes a provider's top-up happen once."""
    if amount <= 0:
        raise UserError("a top-up must be a positive amount")
    # the row lock waits for a deletion in progress, whose money must not arrive after it
    deleted = session.execute(select(Person.deleted_at).where(Person.id == person.id)
                              .with_for_update()).scalar_one_or_none()
    if deleted is not None:
        raise UserError("this account is deleted: the top-up is refused")
    ledger.post(
        session, "deposit", [(ledger.DEPOSITS, -amount), (ledger.wallet(person.id), amount)],
        now=now, ref=ref,
    )
    return wallet_balance(session, person.id)


def set_budget(session: Session, rules: Rules, person: Person, budget: int, *,
               now: datetime) -> str:
    """Change the budget from the next period on; returns that period."""
    _check_budget(rules, budget)
    effective = next_period(period_of(now))
    row = session.execute(
        select(Budget).where(Budget.person_id == person.id, Budget.effective_period == effective)
    ).scalar_one_or_none()
    if row is None:
        session.add(Budget(person_id=person.id, effective_period=effective, cents=budget))
    else:
        row.cents = budget
    return effective


def budget_for(session: Session, person_id: int, period: str) -> int | None:
    """The budget in force for a period: the newest change effective at or before it."""
    return session.execute(
        select(Budget.cents)
        .where(Budget.person_id == person_id, Budget.effective_period <= period)
        .order_by(Budget.effective_period.desc())
        .limit(1)
    ).scalar_one_or_none()


def wallet_balance(session: Session, person_id: int) -> int:
    return ledger.balance(session, ledger.wallet(person_id))


def _check_budget(rules: Rules, budget: int) -> None:
    if budget < rules.min_monthly_budget:
        raise BudgetTooLow(
            "budget %(budget)s is below the minimum of %(minimum)s",
            budget=Amount(budget, rules.currency),
            minimum=Amount(rules.min_monthly_budget, rules.currency),
        )
