"""The poll job: lease due accounts, fetch from the networks concurrently (bounded pool,
outside any transaction), store each account's result in one short transaction.

The pool is kept full: new accounts are leased as fetches finish, so throughput is about
concurrency / latency. Intervals adapt in the adapters' pacing policy (bots/pacing.py):
the cursor carries each stream's activity rate and rate-limit state, and the adapter
returns the next useful poll time, which becomes the account's `next_poll_at`. The lease,
the wake-up of a webhook and the store are core.accounts'; which activities flattr is the
network's triggers (NetworkSpec.account_triggers over core.triggers), the same for every
network.
"""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.exc import DBAPIError

from bots import networks, registry
from bots.base import FetchResult, LinkedAccount, SocialNetwork
from bots.registry import AdapterContext
from core import names, usage
from core.accounts import LeasedAccount, lease_due, open_token, release_leases, store_poll
from runtime import logs
from runtime.app import App


@dataclass
class PollStats:
    polled: int = 0
    activities: int = 0
    flattrs: int = 0
    lost_leases: int = 0
    errors: int = 0
    requests: int = 0
    statuses: dict[str, int] = field(default_factory=dict)


class Networks:
    """The registered networks' adapters, built once per process: one pooled HTTP session
    per network, and one adapter per set of effective triggers (NetworkSpec.account_triggers:
    the deployment's, narrowed by the person's choice), sharing that session. Every adapter
    is told its triggers the same way (AdapterContext.triggers) and reads only the streams
    they need."""

    def __init__(self, app: App, api_base_url: str | None) -> None:
        networks.install()  # the built-in ones, whoever built the App (a no-op when done)
        self.settings, self.api_base_url = app.settings, api_base_url
        self._base: dict[str, SocialNetwork] = {}
        self._by_triggers: dict[tuple[str, frozenset[str]], SocialNetwork] = {}
        for spec in registry.all_networks():
            triggers = spec.enabled_triggers(self.settings)
            self._base[spec.name] = spec.adapter(
                AdapterContext(self.settings, api_base_url, triggers))
            self._by_triggers[spec.name, triggers] = self._base[spec.name]
        self._lock = threading.Lock()

    def get(self, network: str) -> SocialNetwork:
        """The network's adapter with the deployment's triggers (notifications use it)."""
        registry.get(network)  # an unknown name: UnknownNetwork, not a KeyError
        return self._base[network]

    def for_account(self, account: LeasedAccount) -> SocialNetwork:
        spec = registry.get(account.network)
        triggers = spec.account_triggers(self.settings, account.triggers)
        with self._lock:
            if (spec.name, triggers) not in self._by_triggers:
                self._by_triggers[spec.name, triggers] = spec.adapter(AdapterContext(
                    self.settings, self.api_base_url, triggers, shared=self._base[spec.name]))
            return self._by_triggers[spec.name, triggers]


class Poller:
    def __init__(self, app: App, networks: Networks, owner: str, *,
                 concurrency: int | None = None, batch: int | None = None,
                 lease: timedelta | None = None, ordered: bool = False) -> None:
        settings = app.settings
        self.app, self.networks, self.owner = app, networks, owner
        self.concurrency = concurrency or settings.poll_concurrency
        self.batch = batch or settings.poll_batch_size
        self.lease = lease or timedelta(seconds=settings.lease_seconds)
        self.ordered = ordered  # store in lease order (the demo: reproducible results)
        self.stop = threading.Event()
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="poll")

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def run_once(self) -> PollStats:
        """Poll every account due now (until none is left or `stop` is set)."""
        stats = PollStats()
        inflight: deque[tuple[LeasedAccount, Future[FetchResult]]] = deque()
        exhausted = False
        while True:
            room = 2 * self.concurrency - len(inflight)
            if not exhausted and not self.stop.is_set() and room > 0:
                leased = lease_due(self.app.db, self.owner, now=self.app.now(),
                                   limit=min(room, self.batch), lease=self.lease)
                exhausted = len(leased) < min(room, self.batch)
                for account in leased:
                    inflight.append((account, self._pool.submit(self._fetch, account)))
            if not inflight:
                return stats
            if self.ordered:
                done = [inflight.popleft()]
                done[0][1].result()
            else:
                finished, _ = wait_futures([f for _, f in inflight],
                                           return_when="FIRST_COMPLETED")
                done = [pair for pair in inflight if pair[1] in finished]
                for pair in done:
                    inflight.remove(pair)
            for account, future in done:
                self._store(account, future.result(), stats)

    def _fetch(self, account: LeasedAccount) -> FetchResult:
        now = self.app.now()
        try:
            network = self.networks.for_account(account)
            token = open_token(self.app.keys, account.token_ciphertext)
            linked = LinkedAccount(account.network, account.external_user_id, token,
                                   account.handle, wake=account.woken)
            return network.fetch_activity(linked, account.cursor, now)
        except Exception as exc:  # a bug must not strand the lease: store an error
            logs.event("poll.crashed", account=account.id, error=f"{type(exc).__name__}: {exc}")
            return FetchResult([], account.cursor or {}, now + timedelta(minutes=15), "error",
                               error=f"{type(exc).__name__}: {exc}")

    def _store(self, account: LeasedAccount, result: FetchResult, stats: PollStats) -> None:
        activities = list(result.activities)
        spec = registry.find(account.network)
        if spec is not None:
            # What the account's triggers allow: the deployment's, narrowed by the person's
            # choice (the adapter read only the streams they need; a stream may hold more).
            wanted = spec.allowed_actions(spec.account_triggers(self.app.settings,
                                                                account.triggers))
            activities = [a for a in activities if a.action in wanted]
        now = self.app.now()
        cap = spec.read_cap(self.app.settings) if spec is not None and spec.read_cap else None
        try:
            with self.app.db.unit_of_work() as session:
                # Near the month's cap on posts read, wait longer (core/usage.py).
                read = usage.posts_read(session, account.network, now=now) if cap else 0
                outcome = store_poll(session, self.app.rules, account, now=now,
                                     activities=activities, cursor=result.cursor,
                                     next_poll_at=usage.paced(result.next_poll_at, now,
                                                              read + result.posts_read, cap),
                                     status=result.status, error=result.error)
                if outcome.stored:  # how the networks show the creators (core.names)
                    names.remember(session, activities, now=now)
                # Counted for all workers, last: the month's row stays locked only briefly.
                usage.add(session, account.network, now=now, posts_read=result.posts_read,
                          requests=result.requests)
        except DBAPIError as exc:
            # A deadlock or a lost connection: nothing was stored, the cursor did not move;
            # the lease lapses and the next poll reads the same activities again.
            stats.errors += 1
            logs.event("poll.store_failed", account=account.id,
                       error=str(exc.orig).strip().splitlines()[0][:200])
            return
        stats.polled += 1
        stats.requests += result.requests
        stats.statuses[result.status] = stats.statuses.get(result.status, 0) + 1
        if not outcome.stored:
            stats.lost_leases += 1
            logs.event("poll.lease_lost", account=account.id, owner=self.owner)
            return
        stats.activities += len(activities)
        stats.flattrs += outcome.flattrs
        stats.errors += result.status != "ok"
        if result.status != "ok" or activities:
            logs.event("poll.stored", account=account.id, network=account.network,
                       status=result.status, activities=len(activities),
                       flattrs=outcome.flattrs, next=result.next_poll_at.isoformat(),
                       error=result.error)

    def release(self) -> int:
        """Hand back leases not stored (after a stop)."""
        return release_leases(self.app.db, self.owner, now=self.app.now())
