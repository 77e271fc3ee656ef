"""The shared reads job (bots/shared.py): X's search groups and the service's mentions.

Each run: plan every network's streams from its linked accounts (at most every
PLAN_EVERY; planners are serialised in the database), lease the due streams (one worker
reads each), read them outside any transaction, then store each stream's cursor and
record what it found for the people it found it for, in one short transaction fenced on
the lease. Posts read are counted per month (core/usage.py) and slow the streams down as
the month's reads near the cap. `Worker.poll` runs it after the accounts' polls.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from bots import registry
from bots.base import FetchResult
from bots.registry import AdapterContext, NetworkSpec
from bots.shared import SharedReader
from core import names, streams, usage
from core.accounts import STATUS_ACTIVE, STATUS_RECONNECT
from core.activity import Activity
from core.flattring import record_activities
from core.models import SocialAccount
from jobs.poll import Networks, PollStats
from runtime import logs
from runtime.app import App

PLAN_EVERY = timedelta(minutes=1)
# Shared streams read requests only; whatever the cap says, they are not put off longer
# (X's recent search sees 7 days).
MAX_PACED_DELAY = timedelta(days=2)
# Accounts whose requests the shared streams find: a person whose token needs renewing
# still asked (the search reads with the app's token), one who unlinked did not.
MEMBER_STATUSES = (STATUS_ACTIVE, STATUS_RECONNECT)


class SharedPoller:
    def __init__(self, app: App, networks: Networks, owner: str, *, api_base_url: str | None,
                 lease: timedelta, batch: int | None = None) -> None:
        self.app, self.owner, self.lease = app, owner, lease
        self.batch = batch or app.settings.poll_batch_size
        # Set when the worker stops: the stream in hand is finished and stored, the others
        # leased are handed back (release) when the worker closes.
        self.stop = threading.Event()
        self.readers: dict[str, SharedReader] = {}
        for spec in registry.all_networks():
            if spec.shared_reader is None:
                continue
            reader = spec.shared_reader(AdapterContext(
                app.settings, api_base_url, spec.enabled_triggers(app.settings),
                shared=networks.get(spec.name)))
            if reader is not None:
                self.readers[spec.name] = reader
        self._planned_at: datetime | None = None

    def run_once(self) -> PollStats:
        stats = PollStats()
        if not self.readers or self.stop.is_set():
            return stats
        now = self.app.now()
        if self._planned_at is None or now - self._planned_at >= PLAN_EVERY:
            for network, reader in self.readers.items():
                self.plan(network, reader, now)
            self._planned_at = now
        everyone: dict[str, dict[str, str]] = {}
        while True:
            leased = streams.lease_due(self.app.db, self.owner, now=self.app.now(),
                                       limit=self.batch, lease=self.lease)
            for stream in leased:
                if self.stop.is_set():
                    return stats
                found = self.readers.get(stream.network)
                if found is None:  # a network this worker does not read: leave it be
                    continue
                if stream.network not in everyone:
                    everyone[stream.network] = self._everyone(stream.network)
                result = found.fetch(stream.name, stream.members, everyone[stream.network],
                                      stream.cursor, self.app.now())
                self._store(stream, result, stats)
            if len(leased) < self.batch:
                return stats

    # -- planning -------------------------------------------------------------------------

    def plan(self, network: str, reader: SharedReader, now: datetime) -> bool:
        """Bring the network's streams in line with its linked accounts; True if changed."""
        spec = registry.get(network)
        with self.app.db.unit_of_work() as session:
            wanted = self._wanted(session, spec, reader)
            current = streams.plans(session, network)
        if reader.plan(current, _marked(wanted, current, reader, now)) == current:
            return False
        with self.app.db.unit_of_work() as session:
            streams.lock_plan(session, network, postgres=self.app.db.is_postgres)
            current = streams.plans(session, network)
            plan = reader.plan(current, _marked(wanted, current, reader, now))
            changed = streams.apply_plan(session, network, plan, now=now)
        if changed:
            logs.event("shared.planned", network=network, streams=len(plan),
                       members=len(wanted))
        return changed

    def _wanted(self, session: Session, spec: NetworkSpec,
                reader: SharedReader) -> dict[str, str | None]:
        """The accounts the shared streams read for: user id -> its own cursor (JSON)."""
        rows = session.execute(select(SocialAccount.external_user_id, SocialAccount.triggers,
                                      SocialAccount.cursor)
                               .where(SocialAccount.network == spec.name,
                                      SocialAccount.status.in_(MEMBER_STATUSES))).all()
        return {user: cursor for user, chosen, cursor in rows
                if reader.reads(spec.account_triggers(self.app.settings, _triggers(chosen)))}

    def _everyone(self, network: str) -> dict[str, str]:
        with self.app.db.unit_of_work() as session:
            plans = streams.plans(session, network)
        return {user: mark for members in plans.values() for user, mark in members.items()}

    # -- storing --------------------------------------------------------------------------

    def _store(self, stream: streams.LeasedStream, result: FetchResult,
               stats: PollStats) -> None:
        spec = registry.get(stream.network)
        cap = spec.read_cap(self.app.settings) if spec.read_cap else None
        now = self.app.now()
        try:
            with self.app.db.unit_of_work() as session:
                read = usage.posts_read(session, stream.network, now=now) if cap else 0
                next_at = min(usage.paced(result.next_poll_at, now, read + result.posts_read,
                                          cap),
                              max(result.next_poll_at, now + MAX_PACED_DELAY))
                stored = streams.store(session, stream, now=now, cursor=result.cursor,
                                       next_poll_at=next_at, error=result.error)
                flattrs = self._record(session, spec, result.activities, now) if stored else 0
                if stored:
                    names.remember(session, result.activities, now=now)
                # Last: the month's row is locked only until the commit that follows.
                usage.add(session, stream.network, now=now, posts_read=result.posts_read,
                          requests=result.requests)
        except DBAPIError as exc:
            stats.errors += 1
            logs.event("shared.store_failed", stream=stream.name,
                       error=str(exc.orig).strip().splitlines()[0][:200])
            return
        stats.polled += 1
        stats.requests += result.requests
        stats.statuses[result.status] = stats.statuses.get(result.status, 0) + 1
        if not stored:
            stats.lost_leases += 1
            logs.event("shared.lease_lost", stream=stream.name, owner=self.owner)
            return
        stats.activities += len(result.activities)
        stats.flattrs += flattrs
        stats.errors += result.status != "ok"
        if result.status != "ok" or result.activities:
            logs.event("shared.stored", network=stream.network, stream=stream.name,
                       status=result.status, activities=len(result.activities),
                       flattrs=flattrs, posts_read=result.posts_read,
                       next=next_at.isoformat(), error=result.error)

    def _record(self, session: Session, spec: NetworkSpec, activities: list[Activity],
                now: datetime) -> int:
        """Record each activity for the person whose account its actor is, as far as that
        account's triggers allow."""
        if not activities:
            return 0
        actors = sorted({a.actor for a in activities})
        accounts = session.execute(select(SocialAccount.identity, SocialAccount.person_id,
                                          SocialAccount.triggers)
                                   .where(SocialAccount.network == spec.name,
                                          SocialAccount.identity.in_(actors))).all()
        by_actor = {row.identity: row for row in accounts}
        per_person: dict[int, list[Activity]] = defaultdict(list)
        for activity in activities:
            row = by_actor.get(activity.actor)
            if row is None:
                continue  # unlinked since the stream was planned
            allowed = spec.allowed_actions(spec.account_triggers(self.app.settings,
                                                                 _triggers(row.triggers)))
            if activity.action in allowed:
                per_person[row.person_id].append(activity)
        flattrs = 0
        for person_id in sorted(per_person):
            outcomes = record_activities(session, self.app.rules, person_id,
                                         per_person[person_id], now=now)
            flattrs += sum(1 for o in outcomes if o.flattred)
        return flattrs

    def release(self) -> int:
        return streams.release(self.app.db, self.owner, now=self.app.now())


def _triggers(chosen: str | None) -> frozenset[str] | None:
    return frozenset(t for t in chosen.split(",") if t) if chosen is not None else None


def _marked(wanted: dict[str, str | None], current: dict[str, dict[str, str]],
            reader: SharedReader, now: datetime) -> dict[str, str]:
    """The wanted members with their start marks: kept where they are members already."""
    known = {user: mark for members in current.values() for user, mark in members.items()}
    return {user: known.get(user) or reader.start_mark(now, _cursor(cursor))
            for user, cursor in wanted.items()}


def _cursor(stored: str | None) -> dict | None:
    try:
        found = json.loads(stored) if stored else None
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def month_usage(session: Session, app: App) -> list[dict]:
    """This month's reads per network, beside the deployment's cap: for `flattr status`
    and the operator's page. A network with a cap is listed even before its first read."""
    now = app.now()
    counted = usage.month(session, now=now)
    found = []
    for spec in registry.all_networks():
        cap = spec.read_cap(app.settings) if spec.read_cap else None
        if spec.name not in counted and spec.read_cap is None:
            continue
        read, asked = counted.get(spec.name, (0, 0))
        found.append({"network": spec.name, "display_name": spec.display_name,
                      "posts_read": read, "requests": asked, "cap": cap,
                      "percent": round(100 * read / cap, 1) if cap else None,
                      "paused": cap is not None and read >= cap * usage.SPEND_SHARE})
    return found
