"""Issue 11, item 1: a month is charged once, however its period is spelled, and
`flattr check` (ledger.self_check) finds a person charged twice and any period that is not
spelled YYYY-MM. On SQLite and PostgreSQL."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from core import ledger, reports, settlement
from core.ledger import CHARITY, Account
from core.periods import InvalidPeriod
from core.rules import Rules
from tests.integration.helpers import add_person, at, flattr, ledger_dump

CHARITY_RULES = Rules(idle_budget_policy="charity")
LATER = datetime(2027, 6, 1, tzinfo=UTC)
LOOK_ALIKES = ["٢٠٢٦-10", "２٠٢٦-10", "２０２６-１０", "2026-1٠", "2026-10\n", "2026-10 "]


def _month(db) -> dict[str, int]:
    """alice flattrs one link; erin flattrs nothing (an idle budget, given to charity)."""
    alice = add_person(db, CHARITY_RULES, "alice", budget=500, funds=2000)
    erin = add_person(db, CHARITY_RULES, "erin", budget=400, funds=1000)
    flattr(db, CHARITY_RULES, alice, "https://example.org/a", key="a1")
    return {"alice": alice, "erin": erin}


def _problems(db) -> list[str]:
    with db.unit_of_work() as session:
        return ledger.self_check(session).problems


@pytest.mark.parametrize("spelling", [*LOOK_ALIKES, "0000-01", "9999-12", "1999-12"])
def test_settling_a_month_again_under_another_spelling_charges_nobody_twice(db, spelling):
    who = _month(db)
    settlement.settle(db, CHARITY_RULES, "2026-10", now=at(1, month=11, hour=0))
    settled = ledger_dump(db)
    with pytest.raises(InvalidPeriod):
        settlement.settle(db, CHARITY_RULES, spelling, now=LATER)
    assert ledger_dump(db) == settled
    with db.unit_of_work() as session:
        assert ledger.balance(session, Account.wallet(who["erin"])) == 1000 - 400
        assert ledger.balance(session, CHARITY) == 400
    assert _problems(db) == []


@pytest.mark.parametrize("spelling", LOOK_ALIKES[:3])
def test_reports_refuse_a_look_alike_period(db, spelling):
    _month(db)
    with db.unit_of_work() as session, pytest.raises(InvalidPeriod):
        reports.report(session, CHARITY_RULES, spelling)


def _charity_again(db, period: str, person_id: int, cents: int) -> None:
    """What the lenient parser let happen: the idle stage of `period` charged the person
    once more (a charge row and a charity posting)."""
    with db.unit_of_work() as session:
        session.execute(text(
            "INSERT INTO charges (period, person_id, flattrs, budget_cents, charged_cents)"
            " VALUES (:p, :who, 0, :c, :c) ON CONFLICT DO NOTHING"),
            {"p": period, "who": person_id, "c": cents})
        ledger.post(session, "charity", [(Account.wallet(person_id), -cents), (CHARITY, cents)],
                    now=LATER, ref=f"charity-again:{person_id}", period=period)


def test_the_check_finds_a_person_charged_again_under_a_look_alike_period(db):
    who = _month(db)
    settlement.settle(db, CHARITY_RULES, "2026-10", now=at(1, month=11, hour=0))
    with db.unit_of_work() as session:
        session.execute(text("INSERT INTO settlements (period, stage, started_at)"
                             " VALUES ('٢٠٢٦-10', 'done', '2027-06-01')"))
    _charity_again(db, "٢٠٢٦-10", who["erin"], 400)
    problems = _problems(db)
    assert f"person {who['erin']} was charged more than once for 2026-10:" \
        " 2 wallet posting(s) and 2 charge(s)" in problems
    assert "settlements.period holds '٢٠٢٦-10', not a period YYYY-MM" in problems
    assert "charges.period holds '٢٠٢٦-10', not a period YYYY-MM" in problems
    assert "transactions.period holds '٢٠٢٦-10', not a period YYYY-MM" in problems


def test_the_check_finds_two_charges_of_one_person_in_one_period(db):
    who = _month(db)
    settlement.settle(db, CHARITY_RULES, "2026-10", now=at(1, month=11, hour=0))
    _charity_again(db, "2026-10", who["erin"], 400)  # the charge row exists: a posting only
    problems = _problems(db)
    assert f"person {who['erin']} was charged more than once for 2026-10:" \
        " 2 wallet posting(s) and 1 charge(s)" in problems
    assert any(p.startswith(f"wallet:{who['erin']} in 2026-10: the ledger took 800 but the"
                            " charge was 400") for p in problems)


def test_the_check_finds_a_key_that_belongs_to_nobody(db):
    _month(db)
    with db.unit_of_work() as session:
        txn = ledger.open_transaction(session, "deposit", now=at(2))
        session.execute(text(
            "INSERT INTO entries (transaction_id, account, amount_cents) VALUES"
            " (:t, 'wallet:999', 5), (:t, 'wallet:01', 5), (:t, 'wallet:١', 5),"
            " (:t, 'deposits', -15)"), {"t": txn})
    problems = _problems(db)
    for key in ("wallet:999", "wallet:01", "wallet:١"):
        assert f"account {key} belongs to nobody: not an account key, or no such person" \
            in problems
