"""Issue 11, item 8: leftover cents depend on what was flattred, never on the order it was
discovered in; a period split in the old order (by thing id) still reads back exactly what
it wrote. On SQLite and PostgreSQL."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from core import reports, settlement, shares
from core.identity import url as identity_of_url
from core.periods import period_index
from core.rules import Rules
from core.split import rank_key
from core.urls import canonicalize
from tests.integration.helpers import add_person, at, flattr, wipe
from tests.oracles import even_split, split_by_url

PERIOD, CLOSE = "2026-10", at(1, month=11, hour=0)
RULES = Rules()
# Budgets that leave leftover cents over these counts of flattrs (and odd rotations).
DONORS = {"ann": 500, "ben": 701, "cat": 1003}
URLS = [f"https://site{n}.example/p/{n * 7}" for n in range(7)]
FLATTRS = [(donor, url) for i, donor in enumerate(DONORS) for url in URLS[i:i + 5]]


def _settle_in_order(db, order: list[tuple[str, str]]) -> None:
    wipe(db)
    ids = {name: add_person(db, RULES, name, budget=budget, funds=5000)
           for name, budget in DONORS.items()}
    for n, (donor, url) in enumerate(order):
        flattr(db, RULES, ids[donor], url, key=f"{donor}-{n}")
    settlement.settle(db, RULES, PERIOD, now=CLOSE)


def _expected() -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    by_identity: dict[str, int] = {}
    by_flattr = {}
    for donor, budget in DONORS.items():
        urls = [url for who, url in FLATTRS if who == donor]
        for url, cents in split_by_url(budget, urls, PERIOD).items():
            identity = str(identity_of_url(canonicalize(url)))
            by_identity[identity] = by_identity.get(identity, 0) + cents
            by_flattr[(donor, canonicalize(url))] = cents
    return by_identity, by_flattr


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(FLATTRS))
def test_the_same_flattrs_in_any_order_give_every_identity_the_same_cents(db, order):
    _settle_in_order(db, order)
    with db.unit_of_work() as session:
        escrow = {e["identity"]: e["cents"]
                  for e in reports.report(session, RULES, PERIOD)["escrow"]}
        written = {(name, url): cents for name, url, cents in session.execute(text(
            "SELECT p.name, t.url, s.share_cents FROM shares s"
            " JOIN people p ON p.id = s.person_id JOIN things t ON t.id = s.thing_id"))}
    by_identity, by_flattr = _expected()
    assert escrow == by_identity
    assert written == by_flattr


def test_a_period_split_by_thing_id_still_recomputes_what_it_wrote(db):
    # Discovered in an order whose thing ids disagree with the URLs' rank keys.
    ann = add_person(db, RULES, "ann", budget=500, funds=5000)
    urls = sorted(URLS[:3], key=lambda url: -rank_key(canonicalize(url)))
    for n, url in enumerate(urls):
        flattr(db, RULES, ann, url, key=f"ann-{n}")
    with db.unit_of_work() as session:  # the period began before migration 0004
        session.execute(text(
            "INSERT INTO settlements (period, stage, started_at, split_order)"
            " VALUES (:p, 'begun', '2026-11-01', 'thing_id')"), {"p": PERIOD})
    settlement.settle(db, RULES, PERIOD, now=CLOSE)
    by_thing_id = dict(zip(urls, even_split(500, 3, period_index(PERIOD)), strict=True))
    assert by_thing_id != split_by_url(500, urls, PERIOD)  # the two orders differ here
    with db.unit_of_work() as session:
        written = {url: cents for url, cents in session.execute(text(
            "SELECT t.url, s.share_cents FROM shares s JOIN things t ON t.id = s.thing_id"))}
        recomputed = {s.url: s.cents for s in shares.person_shares(session, ann, PERIOD)}
    assert written == recomputed == {canonicalize(u): c for u, c in by_thing_id.items()}
