"""The stream job: the networks that push their activity live (Bluesky's Jetstream) are read
here, beside the polls, by a long-lived thread per shard.

A network's linked accounts are cut into shards by id (`(id - 1) // shard_size`, so an
account never changes shard); each shard has its stored position and a lease
(core/live_streams.py): one worker reads a shard at a time, and another takes over when its
lease runs out. Reading a shard:

1. take the lease; no position yet: start from now (and store it);
2. a position older than the stream can replay: backfill the gap from the accounts'
   repositories (the network's own listing), store it, and go on from the oldest position
   the stream still has, so no like is lost;
3. read batches (the source fetches what it needs over the network, outside any
   transaction) and store each in one transaction: the activities (idempotent by key:
   a replayed or repeated event is a duplicate), the activities undone (a like deleted:
   core.retractions, which withdraws a flattr in an open month only when nothing else of
   that person supports it, and keeps a tombstone so that the like replayed afterwards
   flattrs nothing), and the new position, guarded by the lease;
4. a dropped connection: reconnect from the stored position after a capped backoff. The
   account list is read again every `RESHARD_S` seconds; a change reconnects.

`drain()` reads every shard until it is caught up (an idle batch): the demo and the tests.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bots import networks, registry
from bots.base import StreamAccount, StreamBatch, StreamBroken, StreamSource
from bots.registry import AdapterContext, NetworkSpec
from core import accounts, names
from core import live_streams as streams
from core.backoff import Backoff
from core.flattring import record_activities
from core.live_streams import Held, LeaseLost
from core.models import ActivityRecord, Person, SocialAccount
from core.periods import period_of, period_start
from core.retractions import Retraction, retract
from runtime import logs
from runtime.app import App

RESHARD_S = 30.0  # how often a reader looks for accounts linked or unlinked
# A dropped connection: reconnect after 0.5 s, doubling to a minute, +20% (wall clock).
RECONNECT_BACKOFF = Backoff(timedelta(seconds=0.5), timedelta(minutes=1), jitter=0.2)
BACKFILL_MARGIN = timedelta(minutes=5)  # read a little before the stored position
# A connected stream has sent everything older than this (a quiet shard's position may be
# old, but the time of its last stored batch says until when it was read).
IDLE_LAG = timedelta(minutes=1)


@dataclass
class StreamStats:
    batches: int = 0
    events: int = 0
    activities: int = 0
    flattrs: int = 0
    withdrawn: int = 0
    backfilled: int = 0
    reconnects: int = 0

    def add(self, other: StreamStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class Shard:
    accounts: dict[str, StreamAccount]  # by external user id
    persons: dict[str, int]  # account identity -> person id
    actions: dict[int, frozenset[str]]  # person id -> the actions their triggers let through


class Streams:
    """The streamed networks' readers for one worker."""

    def __init__(self, app: App, api_base_url: str | None, owner: str, *,
                 lease: timedelta | None = None) -> None:
        networks.install()
        self.app, self.base_url, self.owner = app, api_base_url, owner
        self.lease = lease or timedelta(seconds=app.settings.lease_seconds)
        self.specs = [s for s in registry.all_networks() if s.stream is not None]
        self._sources: dict[str, StreamSource] = {}
        self._lock = threading.Lock()
        self._threads: dict[tuple[str, int], threading.Thread] = {}

    # -- sources and shards ---------------------------------------------------------------

    def source(self, spec: NetworkSpec) -> StreamSource:
        with self._lock:
            if spec.name not in self._sources:
                assert spec.stream is not None
                self._sources[spec.name] = spec.stream(AdapterContext(
                    self.app.settings, self.base_url, spec.enabled_triggers(self.app.settings)))
            return self._sources[spec.name]

    def shards(self, spec: NetworkSpec, size: int) -> dict[int, Shard]:
        settings = self.app.settings
        found: dict[int, Shard] = {}
        with self.app.db.unit_of_work() as session:
            rows = session.execute(select(
                SocialAccount.id, SocialAccount.person_id, SocialAccount.external_user_id,
                SocialAccount.identity, SocialAccount.triggers).where(
                SocialAccount.network == spec.name, SocialAccount.status == accounts.ACTIVE)).all()
        for row in rows:
            chosen = (frozenset(t for t in row.triggers.split(",") if t)
                      if row.triggers is not None else None)
            actions = spec.allowed_actions(spec.account_triggers(settings, chosen))
            shard = found.setdefault((row.id - 1) // size, Shard({}, {}, {}))
            shard.accounts[row.external_user_id] = StreamAccount(row.external_user_id, actions)
            shard.persons[row.identity] = row.person_id
            shard.actions[row.person_id] = shard.actions.get(row.person_id, frozenset()) | actions
        return found

    # -- running ---------------------------------------------------------------------------

    def drain(self, *, stop: threading.Event | None = None) -> StreamStats:
        """Read every shard of every streamed network until it is caught up."""
        total = StreamStats()
        for spec in self.specs:
            source = self.source(spec)
            for number in sorted(self.shards(spec, source.shard_size)):
                total.add(self.read_shard(spec, number, stop or threading.Event(),
                                          until_idle=True))
        return total

    def start(self, stop: threading.Event) -> threading.Thread:
        """The long-lived job of `flattr run`: a reader thread per shard this worker can
        lease, looked for again every RESHARD_S seconds."""
        thread = threading.Thread(target=self._manage, args=(stop,), name="streams",
                                  daemon=True)
        thread.start()
        return thread

    def join(self, timeout: float = 10.0) -> None:
        for thread in list(self._threads.values()):
            thread.join(timeout)
        for source in self._sources.values():
            source.close()

    def _manage(self, stop: threading.Event) -> None:
        while not stop.is_set():
            for spec in self.specs:
                try:
                    source = self.source(spec)
                    numbers = sorted(self.shards(spec, source.shard_size))
                except Exception as exc:  # the database or the sandbox away: try again
                    logs.event("stream.failed", network=spec.name, owner=self.owner,
                               error=f"{type(exc).__name__}: {exc}"[:300])
                    continue
                for number in numbers:
                    key = (spec.name, number)
                    if key in self._threads and self._threads[key].is_alive():
                        continue
                    self._threads[key] = threading.Thread(
                        target=self._guarded, args=(spec, number, stop), daemon=True,
                        name=f"stream-{spec.name}-{number}")
                    self._threads[key].start()
            stop.wait(RESHARD_S)

    def _guarded(self, spec: NetworkSpec, number: int, stop: threading.Event) -> None:
        try:
            self.read_shard(spec, number, stop)
        except Exception as exc:  # logged; the manager starts it again
            logs.event("stream.failed", network=spec.name, shard=number, owner=self.owner,
                       error=f"{type(exc).__name__}: {exc}"[:300])

    def read_shard(self, spec: NetworkSpec, number: int, stop: threading.Event, *,
                   until_idle: bool = False) -> StreamStats:
        """Read one shard while this worker holds its lease (until caught up, with
        `until_idle`); reconnects with a capped backoff."""
        stats = StreamStats()
        source = self.source(spec)
        failures = 0  # in a row: the wait before reconnecting (core.backoff)
        held = None
        while not stop.is_set():
            held = streams.acquire(self.app.db, spec.name, number, self.owner,
                                   now=self.app.now(), lease=self.lease)
            if held is None:
                return stats  # another worker reads it
            shard = self.shards(spec, source.shard_size).get(number)
            if shard is None:
                streams.release(self.app.db, held)
                return stats
            try:
                position = self._catch_up(source, held, shard, stats)
                read_since = time.monotonic()
                for batch in source.batches(shard.accounts, position, stop):
                    self._store(held, batch, shard, stats)
                    if batch.events:
                        failures = 0
                    elif until_idle:
                        return stats
                    if time.monotonic() - read_since > RESHARD_S:
                        read_since = time.monotonic()
                        fresh = self.shards(spec, source.shard_size).get(number)
                        if fresh is None or fresh.accounts != shard.accounts:
                            break  # accounts changed: reconnect with the new list
            except StreamBroken as exc:
                stats.reconnects += 1
                failures += 1
                wait = RECONNECT_BACKOFF.delay(failures, f"{spec.name}:{number}")
                logs.event("stream.reconnect", network=spec.name, shard=number,
                           owner=self.owner, wait_s=round(wait.total_seconds(), 2),
                           error=str(exc)[:200])
                stop.wait(wait.total_seconds())
            except LeaseLost:
                return stats
        if held is not None:
            streams.release(self.app.db, held)
        return stats

    def _catch_up(self, source: StreamSource, held: Held, shard: Shard,
                  stats: StreamStats) -> int:
        """The position to read from: now for a new shard; after a gap longer than the
        stream replays (no batch stored for that long), the backfilled gap is stored first.
        An older position of a shard read until recently is fine: nothing of its accounts
        happened between (the stream moves it to the oldest event it keeps)."""
        now = self.app.now()
        if held.position is None:
            position = source.position_at(now)
            self._store(held, StreamBatch(position), shard, stats)
            return position
        read_until = held.read_until or source.moment_of(held.position)
        if now - read_until <= source.replay:
            return held.position
        oldest = source.position_at(now - source.replay)
        since = min(source.moment_of(held.position), read_until - IDLE_LAG) - BACKFILL_MARGIN
        # Listed from the start of that month: a like deleted during the gap is found
        # missing, and its flattr taken back while the month is open.
        listed_since = period_start(period_of(since))
        batch = source.backfill(shard.accounts, since, listed_since, now)  # the network,
        stats.backfilled += len(batch.activities)  # outside any transaction
        logs.event("stream.backfill", network=held.network, shard=held.shard,
                   since=since.isoformat(), activities=len(batch.activities))
        self._store(held, replace(batch, position=oldest), shard, stats)
        return oldest

    def _store(self, held: Held, batch: StreamBatch, shard: Shard, stats: StreamStats) -> None:
        """One transaction: the batch's activities, then what was undone, the new position."""
        now = self.app.now()
        with self.app.db.unit_of_work() as session:
            # Read again here: the shard's map is up to RESHARD_S old, and a person deleted
            # or an account disconnected since must not gain a record.
            live = self._live(session, held.network, shard, batch)
            by_person = defaultdict(list)
            for activity in batch.activities:
                if (person := live.get(activity.actor)) is not None:
                    by_person[person].append(activity)
            for person, activities in by_person.items():
                outcomes = record_activities(session, self.app.rules, person, activities,
                                             now=now)
                stats.flattrs += sum(o.flattred for o in outcomes)
            names.remember(session, batch.activities, now=now)  # the authors' names
            withdrawn = retract(session, self._undone(session, held, batch, shard, live),
                                now=now)
            streams.advance(session, held, batch.position, now=now, lease=self.lease)
        stats.batches += 1
        stats.events += batch.events
        stats.activities += len(batch.activities)
        stats.withdrawn += withdrawn

    @staticmethod
    def _live(session: Session, network: str, shard: Shard, batch: StreamBatch
              ) -> dict[str, int]:
        """The batch's actors whose account is still active and whose person is not deleted."""
        named = ({a.actor for a in batch.activities} | {a.actor for a in batch.withdrawals}
                 | batch.complete) & set(shard.persons)
        if not named:
            return {}
        rows = session.execute(select(SocialAccount.identity, SocialAccount.person_id).join(
            Person, Person.id == SocialAccount.person_id).where(
            SocialAccount.network == network, SocialAccount.status == accounts.ACTIVE,
            SocialAccount.identity.in_(named), Person.deleted_at.is_(None))).all()
        return {identity: person for identity, person in rows}

    def _undone(self, session: Session, held: Held, batch: StreamBatch, shard: Shard,
                live: dict[str, int]) -> list[Retraction]:
        """The activities undone: named by the stream, or, after a backfill, recorded since
        its listing began, of an action it listed, supporting a flattr, made by an account
        whose listing completed, and no longer listed."""
        found = [Retraction(person, a.key, a.network, a.action, a.occurred_at)
                 for a in batch.withdrawals if (person := live.get(a.actor))]
        if batch.present is not None and batch.listed_since is not None:
            listed_from = batch.listed_since + BACKFILL_MARGIN
            actors: dict[int, list[str]] = defaultdict(list)  # only listings that completed
            for actor in batch.complete:
                if (person := live.get(actor)) is not None:
                    actors[person].append(f"{held.network}:{actor}:")
            rows = session.execute(select(
                ActivityRecord.key, ActivityRecord.person_id, ActivityRecord.network,
                ActivityRecord.action, ActivityRecord.occurred_at).where(
                ActivityRecord.person_id.in_(set(actors)),
                ActivityRecord.network == held.network,
                ActivityRecord.flattr_id.is_not(None),
                ActivityRecord.retracted_at.is_(None),
                ActivityRecord.occurred_at >= listed_from)).all()
            found += [Retraction(r.person_id, r.key, r.network, r.action, r.occurred_at)
                      for r in rows if r.key not in batch.present
                      and r.action in shard.actions.get(r.person_id, frozenset())
                      and any(r.key.startswith(f"{p}{r.action}:") for p in actors[r.person_id])]
        return found
