"""Activities -> flattrs for a whole batch in a fixed number of statements.

The rules are those of tests/integration/reference_flattring.py, applied to the activities
in order (a later activity sees what an earlier one did); only the reads and writes are
gathered: one read
per kind of fact, then bulk INSERT ... ON CONFLICT DO NOTHING, so that a race lost to
another worker on a unique row costs no savepoint and no error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core import identity, notifications
from core import ingest_sql as sql
from core.activity import Activity, Target
from core.ingest_sql import KnownThing, Pair
from core.models import (
    ActivityRecord,
    Claim,
    Flattr,
    Settlement,
)
from core.outcomes import (
    MANUAL_NETWORK,
    FlattrOutcome,
    already,
    concurrent_duplicate,
    duplicate,
    flattred,
    keeps_key,
    no_budget,
    no_target,
    open_period,
    own,
    refusal_notice,
    wallet_too_low,
)
from core.periods import next_period, period_end, period_of
from core.retractions import reinstate
from core.rules import Rules
from core.things import canonical_targets, longest_prefix_claimer


@dataclass
class _Item:
    index: int
    activity: Activity
    period: str
    url: str | None = None  # of the thing it resolved to
    outcome: FlattrOutcome | None = None
    low_wallet: int | None = None  # refused for it: a wallet_low notice is due
    no_budget: bool = False  # a bot's activity refused for it: a no_budget notice is due


def record_batch(session: Session, rules: Rules, person_id: int,
                 activities: Iterable[Activity], *, now: datetime) -> list[FlattrOutcome]:
    activities = list(activities)
    outcomes: list[FlattrOutcome | None] = [None] * len(activities)
    seen = sql.seen_keys(session, [a.key for a in activities])
    items: list[_Item] = []
    for index, activity in enumerate(activities):
        if activity.key in seen:
            outcomes[index] = duplicate(activity.key)
            continue
        seen.add(activity.key)
        items.append(_Item(index, activity, period_of(min(activity.occurred_at, now))))
    if items:
        closed = set(session.execute(select(Settlement.period).where(
            Settlement.period >= min(i.period for i in items))).scalars())
        for item in items:
            while item.period in closed:
                item.period = next_period(item.period)
        things = _resolve(session, items, now)
        announce = _decide(session, rules, person_id, items, things)
        _record(session, person_id, items, things, announce, now)
        for item in items:
            outcomes[item.index] = item.outcome
    return [o for o in outcomes if o is not None]


# -- targets --------------------------------------------------------------------------------


def _resolve(session: Session, items: list[_Item], now: datetime) -> dict[str, KnownThing]:
    """things.resolve_target for each item in turn; things to create are made in one
    statement at the end (a later item already sees an earlier one's new thing)."""
    targets = [canonical_targets(item.activity.targets) for item in items]
    urls = {t.url for ts in targets for t in ts if t.url}
    things = sql.things_by_url(session, urls)
    fallbacks = {_fallback_identity(ts[-1]) for ts in targets if ts and ts[-1].url}
    prefixes: dict[str, int] = {}
    identities: dict[str, int] = {}
    for kind, value, person in session.execute(
            select(Claim.kind, Claim.value, Claim.person_id).where(
                (Claim.kind == "prefix")
                | ((Claim.kind == "identity") & Claim.value.in_(fallbacks)))):
        (prefixes if kind == "prefix" else identities)[value] = person
    new: dict[str, dict[str, Any]] = {}

    def create(target: Target, identity: str, owner: int | None) -> str:
        assert target.url is not None
        if target.url not in things and target.url not in new:
            new[target.url] = {"url": target.url, "identity": identity, "owner_id": owner,
                               "title": (target.title or None) and target.title[:300],
                               "created_at": now}
        return target.url

    for item, ts in zip(items, targets, strict=True):
        for target in ts:
            if not target.url:
                continue
            if target.url in things or target.url in new:
                item.url = target.url
                break
            claimer = longest_prefix_claimer(prefixes, target.url)
            if claimer is not None:
                item.url = create(target, str(identity.url(target.url)), claimer)
                break
        else:
            if ts and ts[-1].url:
                held_by = _fallback_identity(ts[-1])
                item.url = create(ts[-1], held_by, identities.get(held_by))
    if new:
        things.update(sql.create_things(session, list(new.values())))
    return things


def _fallback_identity(target: Target) -> str:
    assert target.url is not None
    return target.identity or str(identity.url(target.url))


# -- the rules ------------------------------------------------------------------------------


def _decide(session: Session, rules: Rules, person_id: int, items: list[_Item],
            things: dict[str, KnownThing]) -> bool:
    """Every outcome but the flattrs still to write (left None); whether the person
    announces their flattrs."""
    resolved = [i for i in items if i.url is not None]
    for item in items:
        if item.url is None:
            item.outcome = no_target()
    if not resolved:
        return False
    facts = sql.person_facts(session, person_id)
    taken = set(sql.existing_flattrs(session, person_id, {(things[i.url].id, i.period)
                                                       for i in resolved if i.url}))
    for item in resolved:
        assert item.url is not None
        thing = things[item.url]
        if thing.owner_id == person_id or thing.identity in facts.identities:
            item.outcome = own(thing.url)
        elif facts.wallet < rules.min_monthly_budget:
            item.low_wallet = facts.wallet
            item.outcome = wallet_too_low(rules, facts.wallet, thing.url, item.period)
        elif _budget_for(facts.budgets, item.period) is None:
            item.no_budget = item.activity.network != MANUAL_NETWORK
            item.outcome = no_budget(thing.url, item.period)
        elif (thing.id, item.period) in taken:
            item.outcome = already(thing.url, item.period)
        else:
            taken.add((thing.id, item.period))
    return facts.announce


def _budget_for(budgets: dict[str, int], period: str) -> int | None:
    effective = [p for p in budgets if p <= period]
    return budgets[max(effective)] if effective else None


# -- the writes -----------------------------------------------------------------------------


def _record(session: Session, person_id: int, items: list[_Item], things: dict[str, KnownThing],
            announce: bool, now: datetime) -> None:
    """The flattrs (each item still without an outcome), then the activity rows (but those
    that keep no key: outcomes.keeps_key), each naming the flattr it made or joins; a
    joined flattr withdrawn because it was undone comes back (core.retractions). An
    activity another worker recorded first gives back its flattr, as a rolled-back
    savepoint would."""
    flattr_of = _write_flattrs(session, person_id, [i for i in items if i.outcome is None],
                               things)
    _join(session, person_id, items, things)
    kept = [i for i in items if keeps_key(i.activity.network, i.outcome)]  # type: ignore[arg-type]
    rows = [{"key": i.activity.key, "network": i.activity.network,
             "action": i.activity.action, "person_id": person_id,
             "occurred_at": i.activity.occurred_at,
             "thing_id": things[i.url].id if i.url else None,
             "flattr_id": i.outcome.flattr_id, "outcome": i.outcome.outcome,  # type: ignore[union-attr]
             "created_at": now} for i in sorted(kept, key=lambda item: item.activity.key)]
    recorded = set(session.execute(
        sql.insert(session, ActivityRecord).on_conflict_do_nothing(index_elements=["key"])
        .returning(ActivityRecord.__table__.c.key), rows).scalars()) if rows else set()
    lost = [i for i in kept if i.activity.key not in recorded]
    orphans = [flattr_of.pop(i.index) for i in lost if i.index in flattr_of]
    for chunk in sql.chunks(orphans):
        session.execute(update(ActivityRecord).where(ActivityRecord.flattr_id.in_(chunk))
                        .values(flattr_id=None).execution_options(synchronize_session=False))
        session.execute(delete(Flattr).where(Flattr.id.in_(chunk)))
    joined = [i.outcome for i in kept if i.activity.key in recorded]
    reinstate(session, {o.flattr_id for o in joined
                        if o is not None and o.outcome == "already" and o.flattr_id})
    for item in lost:
        item.outcome, item.low_wallet, item.no_budget = concurrent_duplicate(), None, False
    _notify(session, person_id, items, flattr_of if announce else {}, now)


def _join(session: Session, person_id: int, items: list[_Item],
          things: dict[str, KnownThing]) -> None:
    """Each "already" names the flattr it joins."""
    joining = [i for i in items if i.url and i.outcome is not None
               and i.outcome.outcome == "already" and i.outcome.flattr_id is None]
    ids = sql.existing_flattrs(session, person_id,
                               {(things[i.url].id, i.period) for i in joining if i.url})
    for item in joining:
        assert item.url is not None
        item.outcome = already(item.url, item.period, ids.get((things[item.url].id,
                                                               item.period)))


def _write_flattrs(session: Session, person_id: int, pending: list[_Item],
                   things: dict[str, KnownThing]) -> dict[int, int]:
    """Insert the flattrs, guarded against periods whose settlement has begun: such a
    flattr moves on to the next open period (three tries)."""
    flattr_of: dict[int, int] = {}
    done: set[Pair] = set()
    for _ in range(3):
        if not pending:
            return flattr_of
        inserted = sql.insert_flattrs(session, person_id, [
            (things[i.url].id, i.period, i.activity.network, i.activity.occurred_at)
            for i in pending if i.url])
        left = []
        for item in pending:
            assert item.url is not None
            pair = (things[item.url].id, item.period)
            if pair in inserted:
                flattr_of[item.index] = inserted[pair]
                done.add(pair)
                item.outcome = flattred(inserted[pair], item.url, item.period)
            else:
                left.append(item)
        existing = sql.existing_flattrs(session, person_id,
                                     {(things[i.url].id, i.period) for i in left if i.url})
        pending = []
        for item in left:
            assert item.url is not None
            if (things[item.url].id, item.period) in existing:
                item.outcome = already(item.url, item.period)
                continue
            item.period = open_period(session, period_end(item.period))
            pair = (things[item.url].id, item.period)
            if pair in done:
                item.outcome = already(item.url, item.period)
            else:
                done.add(pair)
                pending.append(item)
    if pending:
        raise RuntimeError(f"no open period found for a flattr after {pending[0].period}")
    return flattr_of


def _notify(session: Session, person_id: int, items: list[_Item], flattr_of: dict[int, int],
            now: datetime) -> None:
    """wallet_low and no_budget (each once per period: outcomes.refusal_notice), and
    announce_flattr when the person asked for it."""
    notices: dict[str, tuple[str, str, dict]] = {}
    for item in items:
        if item.low_wallet is not None or item.no_budget:
            notice = refusal_notice(person_id, item.period, item.low_wallet)
            notices.setdefault(notice[1], notice)
    for kind, key, payload in notices.values():
        notifications.enqueue(session, kind, key, now=now, person_id=person_id, payload=payload)
    for item in (i for i in items if i.index in flattr_of and i.activity.network != "web"):
        flattr_id = flattr_of[item.index]
        notifications.enqueue(session, "announce_flattr", f"announce:{flattr_id}", now=now,
                              person_id=person_id,
                              payload={"flattr_id": flattr_id, "url": item.url})


