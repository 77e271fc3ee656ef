"""The worker: the four jobs (poll, settle, notify, expire) plus the daily digest and the X
token refresh, as plain methods. `flattr run` schedules them with APScheduler; `flattr demo`
calls the same methods from its simulated month. Many workers may run against one
PostgreSQL: each job is safe to run anywhere at any time (leases, SKIP LOCKED, the
settlement's row and lock, the refresh's claim)."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from config import ConfigError
from core import escrow, settlement
from core.account_deletion import sweep_deleted_wallets
from core.models import Settlement
from core.periods import period_end, period_of
from jobs.channels import LogChannel, build_channels
from jobs.notify import LEASE as NOTIFY_LEASE
from jobs.notify import Notifier, NotifyStats
from jobs.poll import Networks, Poller, PollStats
from jobs.shared import SharedPoller
from jobs.stream import Streams, StreamStats
from jobs.tokens import CLAIM_LEASE, REFRESH_MARGIN, RefreshSummary, refresh_tokens
from runtime import logs
from runtime.app import App

SETTLE_GRACE = timedelta(minutes=5)


def worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class SimClock:
    """A clock running `speed` times faster than the wall clock from `start` (at the wall
    time `anchor`): the demo, replays and tests. speed 1 and no start: the real time."""

    start: datetime
    anchor: float
    speed: float = 1.0

    def __call__(self) -> datetime:
        import time

        return self.start + timedelta(seconds=(time.time() - self.anchor) * self.speed)


class Worker:
    def __init__(self, app: App, *, api_base_url: str | None = None, owner: str | None = None,
                 lease_scale: float = 1.0, ordered: bool = False,
                 log_channel: LogChannel | None = None, concurrency: int | None = None,
                 refresh_margin: timedelta = REFRESH_MARGIN) -> None:
        self.app = app
        # Tokens expiring within this margin are renewed (a fast clock needs a wider one).
        self.refresh_margin = refresh_margin
        self.owner = owner or worker_id()
        base_url = api_base_url or app.settings.sandbox_url
        if app.settings.networks == "sandbox" and not base_url:
            raise ConfigError(["FLATTR_SANDBOX_URL: needed when FLATTR_NETWORKS=sandbox"
                               " (start the emulated networks with `flattr sandbox`)"])
        self.networks = Networks(app, base_url if app.settings.networks == "sandbox" else None)
        # The OAuth calls (token refresh) go where the networks' API calls go.
        self.oauth_settings = (app.settings.model_copy(update={"sandbox_url": base_url})
                               if app.settings.networks == "sandbox" else app.settings)
        # Leases are in the app's clock; a fast clock needs proportionally longer leases.
        lease = timedelta(seconds=app.settings.lease_seconds) * lease_scale
        self.poller = Poller(app, self.networks, self.owner, lease=lease, ordered=ordered,
                             concurrency=concurrency)
        # Reads serving many accounts at once (X's search for requests), after the accounts.
        self.shared = SharedPoller(app, self.networks, self.owner, lease=lease,
                                   api_base_url=base_url if app.settings.networks == "sandbox"
                                   else None)
        self.log_channel = log_channel or LogChannel()
        self.notifier = Notifier(app, build_channels(app, self.networks, self.log_channel),
                                 lease=NOTIFY_LEASE * lease_scale)
        self.refresh_lease = CLAIM_LEASE * lease_scale  # the token-refresh claim, likewise
        self.stopping = threading.Event()
        # The networks read live (Bluesky's Jetstream), beside the polls.
        self.streams = Streams(app, base_url if app.settings.networks == "sandbox" else None,
                               self.owner, lease=lease)

    # -- the jobs --------------------------------------------------------------------------

    def poll(self) -> PollStats:
        stats = self.poller.run_once()
        _add_stats(stats, self.shared.run_once())
        if stats.polled:
            logs.event("job.poll", owner=self.owner, polled=stats.polled,
                       activities=stats.activities, flattrs=stats.flattrs,
                       lost=stats.lost_leases, errors=stats.errors)
        return stats

    def stream(self) -> StreamStats:
        """Read the live streams until caught up (the demo; `flattr run` keeps them open:
        start_streams)."""
        stats = self.streams.drain(stop=self.stopping)
        if stats.events or stats.backfilled:
            logs.event("job.stream", owner=self.owner, events=stats.events,
                       activities=stats.activities, flattrs=stats.flattrs,
                       withdrawn=stats.withdrawn, backfilled=stats.backfilled,
                       reconnects=stats.reconnects)
        return stats

    def start_streams(self) -> None:
        """The long-lived stream readers, until stop()."""
        if self.streams.specs:
            self.streams.start(self.stopping)

    def settle_due(self) -> str | None:
        """Close the previous period once it is over (plus a grace for late polls); any
        worker may try, exactly one does it. Returns the status when it tried."""
        now = self.app.now()
        period = _previous_period(now)
        if now < period_end(period) + SETTLE_GRACE:
            return None
        with self.app.db.unit_of_work() as session:
            row = session.execute(select(Settlement.stage).where(
                Settlement.period == period)).scalar_one_or_none()
        if row == "done":
            return None
        result = settlement.settle(self.app.db, self.app.rules, period, now=now)
        logs.event("job.settle", owner=self.owner, period=period, status=result.status,
                   stages=",".join(result.stages_run))
        return result.status

    def notify(self) -> NotifyStats:
        stats = self.notifier.run_once()
        if stats.claimed:
            logs.event("job.notify", owner=self.owner, sent=stats.sent, retried=stats.retried,
                       failed=stats.failed, suppressed=stats.suppressed,
                       deferred=stats.deferred)
        return stats

    def expire(self) -> int:
        with self.app.db.unit_of_work() as session:
            result = escrow.return_expired(session, now=self.app.now())
            # What came back to people who deleted their account goes to charity.
            swept = sweep_deleted_wallets(session, now=self.app.now())
        if swept:
            logs.event("job.expire_swept", owner=self.owner, cents=swept)
        if result.shares:
            logs.event("job.expire", owner=self.owner, shares=result.shares, cents=result.cents,
                       donors=result.donors)
        return result.shares

    def daily(self) -> dict[str, int]:
        return self.notifier.daily()

    def refresh_tokens(self) -> RefreshSummary:
        """Renew access tokens expiring within the margin, on the networks that refresh
        them (X) (each worker may run it: one claims each account; a refusal marks it
        needs_reconnect)."""
        result = refresh_tokens(self.app.db, self.oauth_settings, now=self.app.now(),
                                owner=self.owner, margin=self.refresh_margin,
                                lease=self.refresh_lease)
        if result.refreshed or result.failed or result.deferred:
            logs.event("job.refresh", owner=self.owner, refreshed=result.refreshed,
                       failed=result.failed, raced=result.raced, deferred=result.deferred)
        return result

    # -- lifecycle -------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop claiming: each job finishes the item in hand (the fetches in flight, the
        shared stream, the recipient being notified) and hands the rest back."""
        self.stopping.set()
        self.poller.stop.set()
        self.shared.stop.set()
        self.notifier.stop.set()

    def close(self) -> None:
        self.streams.join()
        self.poller.close()
        released = self.poller.release() + self.shared.release()
        if released:
            logs.event("worker.released", owner=self.owner, leases=released)


def _add_stats(total: PollStats, more: PollStats) -> None:
    total.polled += more.polled
    total.activities += more.activities
    total.flattrs += more.flattrs
    total.lost_leases += more.lost_leases
    total.errors += more.errors
    total.requests += more.requests
    for status, n in more.statuses.items():
        total.statuses[status] = total.statuses.get(status, 0) + n


def _previous_period(now: datetime) -> str:
    first = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return period_of(first - timedelta(days=1))
