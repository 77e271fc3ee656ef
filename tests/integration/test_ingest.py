"""The batched ingestion path (core.ingest) against the one-by-one reference path
(reference_flattring.record_each): same outcomes, same rows, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import replace

import pytest
from sqlalchemy import select, text

from core import accounts, flattring, ingest, people, settlement, things
from core.activity import Activity, Target
from core.db import Database
from core.models import ActivityRecord, Person, Settlement, SocialAccount
from core.rules import Rules
from tests.integration import reference_flattring
from tests.integration.helpers import add_person, at, link_activity, wipe

Recorder = Callable[..., list[flattring.FlattrOutcome]]


def _post(n: int, identity: str, *links: str, key: str | None = None,
          when: int = 5) -> Activity:
    """An X post that may link out: links first, the post itself last."""
    targets = tuple(Target(url=u, identity=None) for u in links)
    targets += (Target(url=f"https://x.com/i/status/{n}", identity=identity, title=f"post {n}"),)
    return Activity("x", "like", key or f"post-{n}", "twitter:1", at(when), targets)


def _world(db: Database, rules: Rules) -> dict[str, int]:
    ids = {name: add_person(db, rules, name) for name in ("alice", "carol", "erin")}
    ids["poor"] = add_person(db, rules, "poor", budget=300, funds=150)
    ids["late"] = add_person(db, rules, "late", now=at(1, month=11))  # budget from November
    with db.unit_of_work() as session:
        alice = people.find_person(session, "alice")
        alice.announce_flattrs = True
        things.add_thing(session, rules, "https://alice.example/post", alice, now=at(1))
        session.add(SocialAccount(person_id=alice.id, network="x", external_user_id="77",
                                  identity="twitter:77", status=accounts.ACTIVE,
                                  created_at=at(1)))
        things.claim(session, rules, people.find_person(session, "carol"),
                     "https://carol.example/blog/", now=at(1))
        things.claim(session, rules, people.find_person(session, "erin"), "twitter:555",
                     now=at(1))
    settlement.settle(db, rules, "2026-09", now=at(1))
    return ids


def _mixed(actor: str = "twitter:1") -> list[Activity]:
    return [_as(actor, a) for a in [
        link_activity("https://example.org/a", key="k1"),
        link_activity("https://example.org/a", key="k1"),  # the same activity again
        link_activity("https://example.org/a?utm_source=tw", key="k2"),  # already this month
        link_activity("https://example.org/old", key="k0"),  # recorded by an earlier batch
        link_activity("https://alice.example/post", key="own-thing"),
        _post(5, "twitter:77"),  # a post of an account alice linked
        _post(9, "twitter:9", "https://carol.example/blog/post-1"),  # under a claimed prefix
        _post(10, "twitter:10", "https://example.org/unknown"),  # the post itself, new
        _post(11, "twitter:11", "https://x.com/i/status/10", key="links-to-10"),  # now known
        _post(10, "twitter:10", key="post-10-again"),  # already, in the same batch
        _post(555, "twitter:555"),  # an identity erin claimed: her thing
        link_activity("https://example.org/late", key="sept", when=at(20, month=9)),  # closed
        link_activity("https://example.org/a", key="nov", when=at(3, month=11)),
        Activity("x", "like", "nothing", "twitter:1", at(5), ()),
        Activity("x", "like", "no-url", "twitter:1", at(5), (Target(None, "twitter:3"),)),
        Activity("x", "like", "bad-url", "twitter:1", at(5), (Target("not a url", None),)),
        Activity("web", "manual", "by-hand", "person:1", at(6),
                 (Target("https://example.org/b", "url:https://example.org/b"),)),
    ]]


def _as(actor: str, activity: Activity) -> Activity:
    return Activity(activity.network, activity.action, activity.external_id, actor,
                    activity.occurred_at, activity.targets)


def _run(db: Database, rules: Rules, record: Recorder) -> tuple[list, list]:
    ids = _world(db, rules)
    outcomes = []
    with db.unit_of_work() as session:
        outcomes += record(session, rules, ids["alice"],
                           [link_activity("https://example.org/old", key="k0")], now=at(5))
    november = [_as("twitter:3", a) for a in _mixed()[-6:]]  # "late" has a budget by now
    for name, batch, now in (
            ("alice", _mixed(), at(6)), ("poor", _mixed("twitter:2")[:8], at(6)),
            ("late", _mixed("twitter:3")[:4], at(6)),
            ("alice", _mixed()[:3] + [_post(12, "twitter:12")], at(6)),
            ("late", november, at(4, month=11)), ("alice", _mixed("twitter:4"), at(4, month=11))):
        with db.unit_of_work() as session:
            outcomes += record(session, rules, ids[name], batch, now=now)
    return _dump(db, outcomes)


def _dump(db: Database, outcomes: list[flattring.FlattrOutcome]) -> tuple[list, list]:
    """The outcomes and the rows written, with every flattr and thing named by its natural
    key: the batch writes rows in key order (so that two workers never deadlock), so it may
    hand out ids in another order than one activity at a time does."""
    with db.engine.connect() as connection:
        def rows(sql: str) -> list[tuple]:
            return [tuple(row) for row in connection.execute(text(sql))]

        flattr_key = {row[0]: row[1:] for row in rows(
            "SELECT f.id, f.person_id, t.url, f.period FROM flattrs f"
            " JOIN things t ON t.id = f.thing_id")}
        tables = [
            rows("SELECT url, title, owner_id, identity FROM things"),
            rows("SELECT f.person_id, t.url, f.period, f.source, f.occurred_at, f.withdrawn_at"
                 " FROM flattrs f JOIN things t ON t.id = f.thing_id"),
            [(*row[:5], flattr_key.get(row[5]), row[6]) for row in rows(
                "SELECT a.key, a.network, a.action, a.person_id, t.url, a.flattr_id, a.outcome"
                " FROM activities a LEFT JOIN things t ON t.id = a.thing_id")],
            [(kind, person, None if "flattr_id" in payload else key,
              _by_natural_key(payload, flattr_key)) for key, kind, person, payload
             in rows("SELECT dedupe_key, kind, person_id, payload FROM notifications")],
        ]
    named = [(replace(o, flattr_id=None), flattr_key.get(o.flattr_id)) for o in outcomes]
    return named, [sorted(table, key=repr) for table in tables]


def _by_natural_key(payload: str, flattr_key: dict) -> dict:
    fields = json.loads(payload)
    if "flattr_id" in fields:
        fields["flattr_id"] = flattr_key.get(fields["flattr_id"])
    return fields


def test_a_mixed_batch_ends_as_one_activity_at_a_time_would(db, rules):
    reference, reference_rows = _run(db, rules, reference_flattring.record_each)
    wipe(db)
    batched, batched_rows = _run(db, rules, ingest.record_batch)
    assert batched == reference
    for got, want in zip(batched_rows, reference_rows, strict=True):
        assert got == want
    assert {o.outcome for o, _ in batched} == set(flattring.OUTCOMES)
    assert sum(o.outcome == "flattred" for o, _ in batched) >= 8


def test_the_production_path_is_the_batch(db, rules):
    ids = _world(db, rules)
    with db.unit_of_work() as session:
        outcomes = flattring.record_activities(session, rules, ids["alice"], _mixed(),
                                               now=at(6))
    assert [o.outcome for o in outcomes][:4] == ["flattred", "duplicate", "already", "flattred"]
    with db.unit_of_work() as session:
        alice = session.get(Person, ids["alice"])
        manual = flattring.flattr_url(session, rules, alice, "https://example.org/b", at=at(6),
                                      now=at(6))
    assert manual.outcome == "already"


def test_a_period_whose_settlement_begins_mid_batch_sends_its_flattrs_on(db, rules, monkeypatch):
    alice = add_person(db, rules, "alice")
    resolve = ingest._resolve

    def settlement_starts(session, items, now):  # after the batch read the open periods
        session.add(Settlement(period="2026-10", stage="started", started_at=now))
        session.flush()
        return resolve(session, items, now)

    monkeypatch.setattr(ingest, "_resolve", settlement_starts)
    with db.unit_of_work() as session:
        outcomes = ingest.record_batch(session, rules, alice, [
            link_activity("https://example.org/a", key="1"),
            link_activity("https://example.org/b", key="2"),
            link_activity("https://example.org/a", key="3", when=at(2, month=11)),
        ], now=at(5, month=11))
    # One activity at a time would credit key 1 rather than key 3 with the flattr of
    # https://example.org/a: in a race with a settlement, either is right; once is the rule.
    assert sorted((o.outcome, o.thing_url, o.period) for o in outcomes) == [
        ("already", "https://example.org/a", "2026-11"),
        ("flattred", "https://example.org/a", "2026-11"),
        ("flattred", "https://example.org/b", "2026-11")]
    with db.unit_of_work() as session:
        periods = session.execute(text("SELECT period FROM flattrs")).scalars().all()
    assert periods == ["2026-11", "2026-11"]


def test_an_activity_another_worker_recorded_first_gives_back_its_flattr(db, rules,
                                                                         monkeypatch):
    alice = add_person(db, rules, "alice")
    write = ingest._write_flattrs

    def other_worker_wins(session, person_id, pending, known):
        flattr_of = write(session, person_id, pending, known)
        session.add(ActivityRecord(key="x:twitter:1:like:2", network="x", action="like",
                                   person_id=person_id, occurred_at=at(5), outcome="flattred",
                                   created_at=at(5)))
        session.flush()
        return flattr_of

    monkeypatch.setattr(ingest, "_write_flattrs", other_worker_wins)
    with db.unit_of_work() as session:
        outcomes = ingest.record_batch(session, rules, alice, [
            link_activity("https://example.org/a", key="1"),
            link_activity("https://example.org/b", key="2"),
        ], now=at(5))
    assert [o.outcome for o in outcomes] == ["flattred", "duplicate"]
    assert outcomes[1].message == "recorded concurrently by another worker"
    with db.unit_of_work() as session:
        flattrs = session.execute(text("SELECT thing_id FROM flattrs")).scalars().all()
        keys = session.execute(select(ActivityRecord.key).order_by(ActivityRecord.id)).all()
    assert len(flattrs) == 1 and [k for (k,) in keys] == ["x:twitter:1:like:2",
                                                         "x:twitter:1:like:1"]


def test_two_workers_storing_the_same_new_things_in_opposite_orders_both_finish(db, rules):
    """A person's X and Facebook accounts, polled by two workers at once, liked the same new
    links; each batch lists them in the other's reverse order. Unsorted, PostgreSQL's unique
    index made them wait on each other (deadlock detected, a batch lost until the next poll)."""
    person = add_person(db, rules, "both")
    rounds, links = 20, 400
    failures: list[Exception] = []
    start = threading.Barrier(2, timeout=60)  # a stuck worker fails the test, not CI

    def worker(network: str, reverse: bool) -> None:
        for round_ in range(rounds):
            urls = [f"https://example.org/{round_}/{n:03d}" for n in range(links)]
            batch = [Activity(network, "like", url, f"{network}:1", at(5),
                              (Target(url=url, identity=None),))
                     for url in (reversed(urls) if reverse else urls)]
            start.wait()
            try:
                with db.unit_of_work() as session:
                    ingest.record_batch(session, rules, person, batch, now=at(6))
            except Exception as error:  # noqa: BLE001 - the test reports every failure
                failures.append(error)

    workers = [threading.Thread(target=worker, args=("x", False)),
               threading.Thread(target=worker, args=("facebook", True))]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert failures == []
    with db.unit_of_work() as session:
        counts = session.execute(text(
            "SELECT (SELECT COUNT(*) FROM things), (SELECT COUNT(*) FROM flattrs),"
            " (SELECT COUNT(*) FROM activities)")).one()
    assert tuple(counts) == (rounds * links, rounds * links, 2 * rounds * links)


# -- issue 11, item 2: a refused manual flattr gives its key back ---------------------------

def _manual(db: Database, rules: Rules, name: str, url: str, now):  # type: ignore[no-untyped-def]
    with db.unit_of_work() as session:
        person = people.find_person(session, name)
        return flattring.flattr_url(session, rules, person, url, at=now, now=now)


def test_a_manual_flattr_refused_for_want_of_money_works_after_a_top_up(db, rules):
    add_person(db, rules, "poor", budget=300, funds=150)
    refused = _manual(db, rules, "poor", "https://example.org/a", at(5))
    assert refused.outcome == "no_means" and "top up" in refused.message
    with db.unit_of_work() as session:
        people.topup(session, people.find_person(session, "poor"), 500, now=at(5))
    retried = _manual(db, rules, "poor", "https://example.org/a", at(6))
    assert retried.outcome == "flattred", retried.message
    assert _manual(db, rules, "poor", "https://example.org/a", at(7)).outcome == "already"


def test_a_manual_flattr_refused_for_want_of_a_budget_works_once_one_is_set(db, rules):
    late = add_person(db, rules, "late", now=at(1, month=11))  # a budget from November on
    assert _manual(db, rules, "late", "https://example.org/a", at(5)).outcome == "no_means"
    with db.engine.begin() as connection:
        connection.execute(text("INSERT INTO budgets (person_id, effective_period, cents)"
                                " VALUES (:p, '2026-10', 300)"), {"p": late})
    assert _manual(db, rules, "late", "https://example.org/a", at(6)).outcome == "flattred"


@pytest.mark.parametrize("record", [ingest.record_batch, reference_flattring.record_each])
def test_an_automatic_activity_refused_for_want_of_money_stays_refused(db, rules, record):
    poor = add_person(db, rules, "poor", budget=300, funds=150)
    late = add_person(db, rules, "late", now=at(1, month=11))
    for person in (poor, late):
        for n in range(3):
            with db.unit_of_work() as session:
                [outcome] = record(session, rules, person, [
                    link_activity(f"https://example.org/{n}", key=f"k{n}",
                                  actor=f"twitter:{person}")], now=at(5))
            assert outcome.outcome == "no_means"
    with db.unit_of_work() as session:
        people.topup(session, people.find_person(session, "poor"), 500, now=at(5))
        [again] = record(session, rules, poor, [link_activity(
            "https://example.org/0", key="k0", actor=f"twitter:{poor}")], now=at(6))
    assert again.outcome == "duplicate"
    with db.engine.connect() as connection:
        notices = connection.execute(text(
            "SELECT kind, person_id FROM notifications ORDER BY 1")).all()
    assert [tuple(n) for n in notices] == [("no_budget", late), ("wallet_low", poor)]
