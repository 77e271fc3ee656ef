"""Review finding 8: money left in a deleted person's wallet goes to charity once, however
many workers sweep at the same time, and no top-up reaches a deleted account."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from core import ledger, people
from core.account_deletion import sweep_deleted_wallets
from core.errors import UserError
from core.models import Person
from tests.integration.helpers import add_person, at


def _deleted_with_money(db, rules) -> int:  # type: ignore[no-untyped-def]
    pid = add_person(db, rules, "alice", funds=700)
    with db.unit_of_work() as session:
        session.execute(update(Person).where(Person.id == pid).values(deleted_at=at(2)))
    return pid


def test_two_sweeps_at_once_move_a_deleted_wallet_once(db, rules) -> None:  # type: ignore[no-untyped-def]
    if not db.is_postgres:
        return  # one writer at a time: no interleaving to test
    pid = _deleted_with_money(db, rules)
    moved: list[int] = []
    with Session(db.engine) as first, first.begin():
        moved.append(sweep_deleted_wallets(first, now=at(3)))

        def second() -> None:
            with Session(db.engine) as other, other.begin():
                moved.append(sweep_deleted_wallets(other, now=at(3, hour=13)))

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(0.5)  # it waits for this transaction's lock
    thread.join(10)
    assert not thread.is_alive() and moved == [700, 0]
    with db.unit_of_work() as session:
        assert ledger.balance(session, ledger.wallet(pid)) == 0
        assert ledger.balance(session, ledger.CHARITY) == 700


def test_a_top_up_after_deletion_is_refused(db, rules) -> None:  # type: ignore[no-untyped-def]
    pid = _deleted_with_money(db, rules)
    with db.unit_of_work() as session, pytest.raises(UserError, match="deleted"):
        person = session.get(Person, pid)
        assert person is not None
        people.topup(session, person, 500, now=at(3), ref="late-webhook")
