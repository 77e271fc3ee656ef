"""APScheduler 3.11 as the in-process clock only: a memory job store, never shared (its FAQ
says a shared job store breaks). Coordination between processes is PostgreSQL's."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from jobs.worker import Worker
from runtime import logs


@dataclass(frozen=True)
class Intervals:
    """Seconds of wall-clock time between runs of each job."""

    poll: float = 5.0
    notify: float = 10.0
    settle_check: float = 60.0  # catch-up: settles a period the cron missed (or a fast clock)
    expire: float = 3600.0
    refresh: float = 180.0  # X access tokens live 2 h and are renewed 15 min before expiry


def build_scheduler(worker: Worker, intervals: Intervals) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
        timezone=UTC,
    )
    now = datetime.now(UTC)

    def every(seconds: float) -> IntervalTrigger:
        return IntervalTrigger(seconds=seconds, timezone=UTC)

    scheduler.add_job(_guard(worker, "poll", worker.poll), every(intervals.poll), id="poll",
                      next_run_time=now)
    scheduler.add_job(_guard(worker, "notify", worker.notify), every(intervals.notify),
                      id="notify", next_run_time=now)
    scheduler.add_job(_guard(worker, "settle", worker.settle_due),
                      CronTrigger.from_crontab(worker.app.settings.settle_cron, timezone=UTC),
                      id="settle")
    scheduler.add_job(_guard(worker, "settle", worker.settle_due), every(intervals.settle_check),
                      id="settle_check", next_run_time=now)
    scheduler.add_job(_guard(worker, "expire", worker.expire), every(intervals.expire),
                      id="expire", next_run_time=now)
    scheduler.add_job(_guard(worker, "daily", worker.daily), every(intervals.expire),
                      id="daily", next_run_time=now)
    scheduler.add_job(_guard(worker, "refresh", worker.refresh_tokens),
                      every(intervals.refresh), id="refresh", next_run_time=now)
    return scheduler


def _guard(worker: Worker, name: str, job: Callable[[], Any]) -> Callable[[], None]:
    """A job that fails is logged and runs again next time; it never kills the worker."""

    def run() -> None:
        if worker.stopping.is_set():
            return
        try:
            job()
        except Exception as exc:
            logs.event("job.failed", job=name, owner=worker.owner,
                       error=f"{type(exc).__name__}: {exc}"[:300])

    run.__name__ = name
    return run


def run_forever(worker: Worker, intervals: Intervals,
                until: threading.Event | None = None) -> int:
    """Run until SIGTERM/SIGINT (or `until`): stop claiming, finish the batch in hand, give
    back leases, exit 0."""
    stop = until or threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        logs.event("worker.signal", owner=worker.owner, signal=signal.Signals(signum).name)
        worker.stop()
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    scheduler = build_scheduler(worker, intervals)
    logs.event("worker.start", owner=worker.owner, poll_every=intervals.poll,
               concurrency=worker.poller.concurrency)
    scheduler.start()
    worker.start_streams()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        worker.stop()
        scheduler.shutdown(wait=True)
        worker.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        logs.event("worker.stopped", owner=worker.owner)
    return 0
