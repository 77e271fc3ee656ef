"""Closing a period, on SQLite and PostgreSQL: the split, the fee, escrow, exactly once,
resumable after a crash at any stage."""

import random
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from core import escrow, ledger, outbox, people, reports, settlement, shares, things
from core.errors import PeriodNotOver
from core.ledger import Account
from core.periods import period_index
from core.rules import Rules
from core.split import fee_of
from jobs.templates import render
from tests.integration.helpers import add_person, at, flattr, ledger_dump, wipe
from tests.oracles import charge_for, even_split, split_by_url

NOV_1 = at(1, month=11, hour=0)
BOB, TWEET, UNCLAIMED = ("https://bob.example/post", "https://x.com/i/status/7",
                         "https://unclaimed.example/p")
ALICE = split_by_url(500, [BOB, TWEET, UNCLAIMED], "2026-10")  # alice's shares in _month


def _month(db, rules):
    """alice (5.00) flattrs bob's post and two unclaimed links; dave (3.00, wallet 2.50)
    flattrs bob's post; erin flattrs nothing."""
    alice = add_person(db, rules, "alice", budget=500, funds=2000)
    add_person(db, rules, "bob", budget=200, funds=0)
    dave = add_person(db, rules, "dave", budget=300, funds=250)
    add_person(db, rules, "erin", budget=400, funds=1000)
    with db.unit_of_work() as session:
        bob = people.find_person(session, "bob")
        things.add_thing(session, rules, "https://bob.example/post", bob, now=at(1))
    flattr(db, rules, alice, "https://bob.example/post", key="a1")
    flattr(db, rules, alice, "https://x.com/i/status/7", key="a2", identity="twitter:70")
    flattr(db, rules, alice, "https://unclaimed.example/p", key="a3")
    flattr(db, rules, dave, "https://bob.example/post", key="d1")


def _report(db, rules, period="2026-10"):
    with db.unit_of_work() as session:
        return reports.report(session, rules, period)


def _check(db):
    with db.unit_of_work() as session:
        return ledger.self_check(session)


def test_a_month_is_split_evenly_with_the_fee_and_escrow(db, rules):
    _month(db, rules)
    result = settlement.settle(db, rules, "2026-10", now=NOV_1)
    assert result.status == "settled"
    report = _report(db, rules)
    charged = {p["name"]: (p["charged_cents"], p["flattrs"]) for p in report["people"]}
    assert charged == {"alice": (500, 3), "bob": (0, 0), "dave": (250, 1), "erin": (0, 0)}
    bob_gross = ALICE[BOB] + 250
    assert report["creators"] == [{
        "name": "bob", "gross_cents": bob_gross,
        "fee_cents": fee_of(ALICE[BOB], 1000) + fee_of(250, 1000),
        "net_cents": bob_gross - fee_of(ALICE[BOB], 1000) - fee_of(250, 1000),
        "flattrs": 2}]
    unnamed = {"display_name": None, "handle": None}  # no network showed their names
    assert report["escrow"] == [
        {"identity": "twitter:70", "cents": ALICE[TWEET], **unnamed},
        {"identity": "url:https://unclaimed.example/p", "cents": ALICE[UNCLAIMED], **unnamed},
    ]
    assert _check(db).ok
    with db.unit_of_work() as session:
        assert people.wallet_balance(session, 1) == 1500
        assert reports.payouts(session) == [{"name": "bob", "owed_cents": report["creators"][0]
                                             ["net_cents"]}]


def test_the_sql_charges_and_split_are_the_oracles(db, rules):
    rng = random.Random(7)
    expected = {}
    for i in range(12):
        budget, n = rng.randint(200, 997), rng.randint(1, 9)
        funds = rng.choice((250, 450, 5000))  # some wallets hold less than the budget
        person = add_person(db, rules, f"p{i}", budget=budget, funds=funds)
        for j in range(n):
            flattr(db, rules, person, f"https://example.org/{i}/{j}", key=f"{i}-{j}")
        expected[f"p{i}"] = even_split(charge_for(budget, funds), n, period_index("2026-10"))
    settlement.settle(db, rules, "2026-10", now=NOV_1)
    with db.engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT p.name, s.share_cents FROM shares s JOIN people p ON p.id = s.person_id"
            " JOIN flattrs f ON f.id = s.flattr_id"
            " ORDER BY s.person_id, f.rank_key, f.thing_id")).all()
    got: dict[str, list[int]] = {}
    for name, share in rows:
        got.setdefault(name, []).append(share)
    assert got == expected


def test_a_persons_recomputed_shares_are_the_shares_settlement_wrote(db, rules):
    rng = random.Random(11)
    for i in range(8):
        person = add_person(db, rules, f"p{i}", budget=rng.randint(200, 997),
                            funds=rng.choice((0, 150, 5000)))
        for j in range(rng.randint(1, 7)):
            flattr(db, rules, person, f"https://example.org/{j}", key=f"{i}-{j}")
    settlement.settle(db, rules, "2026-10", now=NOV_1)
    with db.unit_of_work() as session:
        written = {(who, thing): cents for who, thing, cents in session.execute(text(
            "SELECT person_id, thing_id, share_cents FROM shares"))}
        recomputed = {(who, s.thing_id): s.cents for who in {w for w, _ in written}
                      for s in shares.person_shares(session, who, "2026-10")}
    assert recomputed == written


def test_settling_twice_changes_nothing(db, rules):
    _month(db, rules)
    settlement.settle(db, rules, "2026-10", now=NOV_1)
    before = ledger_dump(db)
    again = settlement.settle(db, rules, "2026-10", now=NOV_1)
    assert again.status == "already" and ledger_dump(db) == before


def test_a_period_that_is_not_over_cannot_be_closed(db, rules):
    with pytest.raises(PeriodNotOver):
        settlement.settle(db, rules, "2026-10", now=at(31, hour=23))


@pytest.mark.parametrize("stage", settlement.STAGES[1:-1])
def test_a_crash_after_any_stage_then_a_rerun_gives_the_same_ledger(db, stage):
    rules = Rules(idle_budget_policy="charity")
    _month(db, rules)
    settlement.settle(db, rules, "2026-10", now=NOV_1)
    uninterrupted = ledger_dump(db)
    wipe(db)
    _month(db, rules)
    with pytest.raises(settlement.SimulatedCrash):
        settlement.settle(db, rules, "2026-10", now=NOV_1, crash_after=stage)
    resumed = settlement.settle(db, rules, "2026-10", now=NOV_1)
    assert resumed.stages_run[0] == settlement.STAGES[settlement.STAGES.index(stage) + 1]
    assert ledger_dump(db) == uninterrupted
    assert _check(db).ok


def test_idle_budgets_go_to_charity_when_the_policy_says_so(db):
    rules = Rules(idle_budget_policy="charity")
    _month(db, rules)
    settlement.settle(db, rules, "2026-10", now=NOV_1)
    report = _report(db, rules)
    # bob has no funds, erin gives min(4.00, 10.00)
    assert report["charity_cents"] == 400
    assert _check(db).ok


def test_a_budget_change_takes_effect_from_the_next_period(db, rules):
    alice = add_person(db, rules, "alice", budget=500, funds=5000)
    with db.unit_of_work() as session:
        person = people.find_person(session, "alice")
        assert people.set_budget(session, rules, person, 900, now=at(10)) == "2026-11"
    flattr(db, rules, alice, "https://example.org/a", key="1")
    flattr(db, rules, alice, "https://example.org/b", key="2", when=at(3, month=11),
           now=at(3, month=11))
    settlement.settle(db, rules, "2026-10", now=NOV_1)
    settlement.settle(db, rules, "2026-11", now=at(1, month=12, hour=0))
    charged = [_report(db, rules, p)["people"][0]["charged_cents"] for p in ("2026-10", "2026-11")]
    assert charged == [500, 900]


def test_escrow_is_released_to_a_creator_who_claims_within_the_window(db, rules):
    _month(db, rules)
    settlement.settle(db, rules, "2026-10", now=NOV_1)
    add_person(db, rules, "tess", budget=200, funds=0)
    with db.unit_of_work() as session:
        tess = people.find_person(session, "tess")
        result = things.claim(session, rules, tess, "twitter:70", now=at(20, month=11))
    share = ALICE[TWEET]
    assert (result.released_shares, result.released_cents) == (1, share)
    with db.unit_of_work() as session:
        assert ledger.balance(session, Account.earnings(5)) == share - fee_of(share, 1000)
        assert ledger.balance(session, Account.escrow("twitter:70")) == 0
    assert _check(db).ok


def test_escrow_goes_back_to_the_donor_when_the_window_passes(db, rules):
    _month(db, rules)
    settlement.settle(db, rules, "2026-10", now=NOV_1)
    returned = ALICE[TWEET] + ALICE[UNCLAIMED]
    with db.unit_of_work() as session:
        assert escrow.return_expired(session, now=at(29, month=1, year=2027)).shares == 0
        result = escrow.return_expired(session, now=at(1, month=2, year=2027))
        assert (result.shares, result.cents, result.donors) == (2, returned, 1)
        assert people.wallet_balance(session, 1) == 1500 + returned
        kinds = session.execute(text("SELECT kind FROM notifications")).scalars().all()
    assert "escrow_returned" in kinds
    late_claim = None
    add_person(db, rules, "tess", budget=200, funds=0, now=at(2, month=2, year=2027))
    with db.unit_of_work() as session:
        tess = people.find_person(session, "tess")
        late_claim = things.claim(session, rules, tess, "twitter:70", now=at(2, month=2, year=2027))
    assert late_claim.released_shares == 0
    assert _check(db).ok


def test_a_return_notice_queued_before_the_amount_rode_in_it_still_renders(db, rules):
    _month(db, rules)
    settlement.settle(db, rules, "2026-10", now=NOV_1)
    with db.unit_of_work() as session:
        returned = escrow.return_expired(session, now=at(1, month=2, year=2027))
        txn, key = session.execute(text(
            "SELECT transaction_id, account FROM entries"
            " WHERE account LIKE 'wallet:%' AND amount_cents > 0"
            " AND transaction_id = (SELECT MAX(id) FROM transactions)")).one()
        who = Account.parse(key).person_id
        old = outbox.escrow_returned_data(session, who, txn)  # as 0001 queued it
    assert old == {"cents": returned.cents, "shares": None}
    text_ = render("escrow_returned", old, name="alice", currency="EUR").text
    assert "came back to your wallet" in text_ and "flattr(s)" not in text_


def test_a_claim_made_while_the_period_closes_is_paid_by_the_closing(db, rules):
    _month(db, rules)
    with pytest.raises(settlement.SimulatedCrash):
        settlement.settle(db, rules, "2026-10", now=NOV_1, crash_after="shares")
    add_person(db, rules, "tess", budget=200, funds=0, now=NOV_1)
    with db.unit_of_work() as session:
        tess = people.find_person(session, "tess")
        assert things.claim(session, rules, tess, "twitter:70", now=NOV_1).released_shares == 0
    settlement.settle(db, rules, "2026-10", now=NOV_1)
    report = _report(db, rules)
    assert [c["name"] for c in report["creators"]] == ["bob", "tess"]
    assert [e["identity"] for e in report["escrow"]] == ["url:https://unclaimed.example/p"]
    assert _check(db).ok


@pytest.mark.parametrize("claimed_after", ["charges", "shares"])
def test_a_donor_who_claims_while_the_period_closes_gets_their_own_share_back(
        db, rules, claimed_after):
    _month(db, rules)  # alice flattred twitter:70 while nobody owned it
    with pytest.raises(settlement.SimulatedCrash):
        settlement.settle(db, rules, "2026-10", now=NOV_1, crash_after=claimed_after)
    with db.unit_of_work() as session:
        alice = people.find_person(session, "alice")
        things.claim(session, rules, alice, "twitter:70", now=NOV_1)
    settlement.settle(db, rules, "2026-10", now=NOV_1)
    with db.unit_of_work() as session:
        assert people.wallet_balance(session, alice.id) == 2000 - 500 + ALICE[TWEET]
        assert ledger.balance(session, Account.earnings(alice.id)) == 0
        assert ledger.balance(session, Account.escrow("twitter:70")) == 0
    assert "alice" not in [c["name"] for c in _report(db, rules)["creators"]]
    assert _check(db).ok


def test_an_owner_held_back_for_their_own_flattr_is_paid_even_when_closing_late(db, rules):
    _month(db, rules)
    with db.unit_of_work() as session:
        dave = people.find_person(session, "dave")
    flattr(db, rules, dave.id, "https://x.com/i/status/7", key="d2", identity="twitter:70")
    late = datetime(2027, 2, 15, tzinfo=UTC)  # past the claim window of 2026-10
    with pytest.raises(settlement.SimulatedCrash):
        settlement.settle(db, rules, "2026-10", now=late, crash_after="charges")
    with db.unit_of_work() as session:
        alice = people.find_person(session, "alice")
        things.claim(session, rules, alice, "twitter:70", now=late)
    settlement.settle(db, rules, "2026-10", now=late)
    with db.unit_of_work() as session:
        escrow.return_expired(session, now=late)  # alice's unclaimed link goes back
    dave_share = split_by_url(250, [BOB, TWEET], "2026-10")[TWEET]
    with db.unit_of_work() as session:
        assert ledger.balance(session, Account.earnings(alice.id)) == \
            dave_share - fee_of(dave_share, rules.fee_bps)
        assert ledger.balance(session, Account.escrow("twitter:70")) == 0
    assert _check(db).ok


def test_a_claim_releases_escrow_at_the_fee_fixed_when_the_month_closed(db):
    _month(db, Rules(fee_bps=0))
    with db.unit_of_work() as session:
        dave = people.find_person(session, "dave")
    flattr(db, Rules(fee_bps=0), dave.id, "https://x.com/i/status/7", key="d2",
           identity="twitter:70")
    settlement.settle(db, Rules(fee_bps=0), "2026-10", now=NOV_1)
    with db.unit_of_work() as session:
        alice = people.find_person(session, "alice")
        claimed = things.claim(session, Rules(fee_bps=1000), alice, "twitter:70",
                               now=at(3, month=11))
        assert ledger.balance(session, ledger.FEES) == 0
        assert ledger.balance(session, Account.earnings(alice.id)) == claimed.released_cents > 0
    assert claimed.released_shares == 1
    assert _check(db).ok


def test_concurrent_closings_settle_the_period_exactly_once(db, rules):
    _month(db, rules)
    results = []

    def close() -> None:
        results.append(settlement.settle(db, rules, "2026-10", now=NOV_1).status)

    workers = [threading.Thread(target=close) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert results.count("settled") == 1
    with db.engine.connect() as connection:
        assert connection.execute(text(
            "SELECT COUNT(*) FROM transactions WHERE kind = 'settle'")).scalar_one() == 1
    assert _check(db).ok


def test_the_self_check_finds_an_unbalanced_transaction_and_a_negative_wallet(db, rules):
    add_person(db, rules, "alice", budget=500, funds=100)
    with db.unit_of_work() as session:
        ledger.post(session, "deposit", [(Account.wallet(1), -300), (ledger.DEPOSITS, 300)],
                    now=at(2))
        session.execute(text("INSERT INTO transactions (kind, created_at) VALUES ('bad', :t)"),
                        {"t": "2026-10-02 00:00:00"})
        txn = session.execute(text("SELECT MAX(id) FROM transactions")).scalar_one()
        session.execute(text("INSERT INTO entries (transaction_id, account, amount_cents)"
                             " VALUES (:t, 'fees', 5)"), {"t": txn})
    problems = _check(db).problems
    assert any("does not balance" in p for p in problems)
    assert any("wallet:1 is negative" in p for p in problems)
    assert any("does not add up" in p for p in problems)


def test_a_month_resumed_after_the_next_one_closed_never_overdraws_a_wallet(db, rules):
    alice = add_person(db, rules, "alice", budget=500, funds=600, now=at(1))
    flattr(db, rules, alice, "https://example.org/oct", key="o")
    flattr(db, rules, alice, "https://example.org/nov", key="n", when=at(3, month=11),
           now=at(3, month=11))
    with pytest.raises(settlement.SimulatedCrash):
        settlement.settle(db, rules, "2026-10", now=at(1, month=12), crash_after="charges")
    settlement.settle(db, rules, "2026-11", now=at(1, month=12))
    settlement.settle(db, rules, "2026-10", now=at(1, month=12))
    charged = [_report(db, rules, p)["people"][0]["charged_cents"] for p in ("2026-10", "2026-11")]
    assert charged == [500, 100]
    assert _check(db).ok


def test_expiry_leaves_escrow_alone_until_the_settlement_posted_it(db, rules):
    _month(db, rules)
    with pytest.raises(settlement.SimulatedCrash):
        settlement.settle(db, rules, "2026-10", now=NOV_1, crash_after="shares")
    with db.unit_of_work() as session:
        assert escrow.return_expired(session, now=at(1, month=3, year=2027)).shares == 0
    settlement.settle(db, rules, "2026-10", now=NOV_1)
    assert _check(db).ok


def test_a_claim_pays_only_escrow_of_things_the_claimer_now_owns(db, rules):
    _month(db, rules)  # alice's escrow: twitter:70 and url:https://unclaimed.example/p
    settlement.settle(db, rules, "2026-10", now=NOV_1)
    with db.unit_of_work() as session:
        bob = people.find_person(session, "bob")
        things.add_thing(session, rules, "https://unclaimed.example/p", bob, now=at(3, month=11))
        alice = people.find_person(session, "alice")
        wallet_before = people.wallet_balance(session, alice.id)
        own = things.claim(session, rules, alice, "twitter:70", now=at(3, month=11))
        wallet_after = people.wallet_balance(session, alice.id)
    add_person(db, rules, "carol", now=at(3, month=11))
    with db.unit_of_work() as session:
        carol = people.find_person(session, "carol")
        late = things.claim(session, rules, carol, "https://unclaimed.example/",
                            now=at(4, month=11))
    # Never paid for one's own thing: alice's share of twitter:70 comes back to her wallet.
    assert (own.released_shares, own.released_cents) == (0, 0)
    assert wallet_after - wallet_before == ALICE[TWEET]
    assert late.released_shares == 0  # bob registered that thing first, and was paid
    with db.unit_of_work() as session:
        assert ledger.balance(session, Account.escrow("url:https://unclaimed.example/p")) == 0
        assert ledger.balance(session, Account.escrow("twitter:70")) == 0
    assert _check(db).ok
