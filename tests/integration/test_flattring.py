"""Activity -> flattr rules, on SQLite and PostgreSQL."""

from core import accounts, flattring, people, settlement, things
from core.models import SocialAccount
from tests.integration.helpers import add_person, at, flattr, link_activity


def test_an_activity_is_recorded_once_whatever_how_often_it_is_seen(db, rules):
    alice = add_person(db, rules, "alice")
    first = flattr(db, rules, alice, "https://example.org/a", key="like-1")
    again = flattr(db, rules, alice, "https://example.org/a", key="like-1")
    assert first.flattred and again.outcome == "duplicate"


def test_a_thing_is_flattred_once_per_person_per_period(db, rules):
    alice = add_person(db, rules, "alice")
    assert flattr(db, rules, alice, "https://example.org/a", key="like").flattred
    assert flattr(db, rules, alice, "https://example.org/a?utm_source=tw", key="share").outcome \
        == "already"
    november = flattr(db, rules, alice, "https://example.org/a", when=at(3, month=11), key="n")
    assert november.flattred and november.period == "2026-11"


def test_nobody_flattrs_their_own_thing_or_a_post_of_an_account_they_linked(db, rules):
    alice = add_person(db, rules, "alice")
    with db.unit_of_work() as session:
        owner = people.find_person(session, "alice")
        things.add_thing(session, rules, "https://alice.example/post", owner, now=at(1))
        session.add(SocialAccount(person_id=alice, network="x", external_user_id="77",
                                  identity="twitter:77", status=accounts.ACTIVE,
                                  created_at=at(1)))
    assert flattr(db, rules, alice, "https://alice.example/post").outcome == "own"
    mine = flattr(db, rules, alice, "https://x.com/i/status/5", identity="twitter:77")
    assert mine.outcome == "own"


def test_a_wallet_below_the_minimum_budget_is_refused_with_a_reason(db, rules):
    poor = add_person(db, rules, "poor", budget=300, funds=150)
    outcome = flattr(db, rules, poor, "https://example.org/a")
    assert outcome.outcome == "no_means"
    assert "1.50 EUR" in outcome.message and "top up" in outcome.message


def test_activity_of_a_closed_period_counts_in_the_next_open_one(db, rules):
    alice = add_person(db, rules, "alice")
    settlement.settle(db, rules, "2026-10", now=at(1, month=11))
    late = flattr(db, rules, alice, "https://example.org/late", when=at(30), now=at(1, month=11))
    assert late.flattred and late.period == "2026-11"


def test_a_registered_link_beats_the_post_and_a_claimed_prefix_makes_a_thing(db, rules):
    alice = add_person(db, rules, "alice")
    add_person(db, rules, "carol")
    with db.unit_of_work() as session:
        carol = people.find_person(session, "carol")
        things.claim(session, rules, carol, "https://carol.example/blog/", now=at(1))
        activity = link_activity("https://carol.example/blog/post-1")
        activity = type(activity)(**{**activity.__dict__, "targets": (
            activity.targets[0],
            flattring.Target(url="https://x.com/i/status/9", identity="twitter:9"),
        )})
        [outcome] = flattring.record_activities(session, rules, alice, [activity], now=at(5))
    assert outcome.thing_url == "https://carol.example/blog/post-1"


def test_a_flattr_can_be_withdrawn_until_its_period_closes(db, rules):
    alice = add_person(db, rules, "alice")
    one = flattr(db, rules, alice, "https://example.org/one")
    two = flattr(db, rules, alice, "https://example.org/two", key="2")
    with db.unit_of_work() as session:
        assert flattring.withdraw(session, alice, one.flattr_id, now=at(6))
        assert not flattring.withdraw(session, alice, one.flattr_id, now=at(6))
    settlement.settle(db, rules, "2026-10", now=at(1, month=11))
    with db.unit_of_work() as session:
        assert not flattring.withdraw(session, alice, two.flattr_id, now=at(2, month=11))


def test_a_creator_who_claims_a_thing_they_flattred_no_longer_flattrs_it(db, rules):
    alice = add_person(db, rules, "alice")
    flattr(db, rules, alice, "https://alice.example/blog/1")
    with db.unit_of_work() as session:
        person = people.find_person(session, "alice")
        things.claim(session, rules, person, "https://alice.example/blog/", now=at(6))
    settlement.settle(db, rules, "2026-10", now=at(1, month=11))
    with db.unit_of_work() as session:
        from core.reports import report
        assert report(session, rules, "2026-10")["people"][0]["charged_cents"] == 0
