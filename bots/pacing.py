"""When to poll an account next: a pure policy, shared by the adapters and the jobs.

Why this shape: flattrs settle monthly, so a like seen six hours late costs nothing, while
every poll costs requests and (on X) billed post reads. We aim for about
TARGET_ACTIVITIES_PER_POLL new activities per poll: busy accounts are polled often (never
more than every MIN_DELAY), idle ones every MAX_IDLE_DELAY (two days). When a webhook says
an account changed, the account is woken (core.accounts.wake) and its next poll reads every
stream (LinkedAccount.wake). `recent_activity_count` is a count of activities found with a
RECENT_HALF_LIFE decay (see `decay_recent`); a plain
"activities found in the last 24 hours" is a good stand-in for callers without the decay.
X's minimum page of 5 posts, and the already-seen post that ends a likes read, make
reading often wasteful: ~8 new activities per poll keeps posts read per activity near 1.3.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from core.backoff import Backoff

MIN_DELAY = timedelta(minutes=10)
MAX_IDLE_DELAY = timedelta(hours=48)
RECENT_HALF_LIFE = timedelta(hours=24)
TARGET_ACTIVITIES_PER_POLL = 8.0
# Keep a few requests of each rate-limit window for the person's own interactive use.
RATE_LIMIT_RESERVE = 2
# A stream that failed (5xx, timeout, a malformed answer) waits 1 min, 2, 4 ... up to an
# hour, plus up to 20% chosen per account (core.backoff).
STREAM_BACKOFF = Backoff(base=timedelta(minutes=1), cap=timedelta(hours=1), jitter=0.2)


def decay_recent(recent: float, elapsed: timedelta, found: int) -> float:
    """Exponentially decayed activity count: halves every RECENT_HALF_LIFE."""
    halvings = max(elapsed, timedelta(0)) / RECENT_HALF_LIFE
    return recent * 0.5**halvings + found


def activity_rate_per_hour(recent_activity_count: float) -> float:
    """The rate whose steady state gives this decayed count: count * ln2 / half-life."""
    hours = RECENT_HALF_LIFE / timedelta(hours=1)
    return max(recent_activity_count, 0.0) * math.log(2) / hours


def next_poll_delay(
    recent_activity_count: float,
    rate_limit_remaining: int | None,
    reset_at: datetime | None,
    now: datetime,
) -> timedelta:
    """How long to wait before polling again.

    `rate_limit_remaining`/`reset_at` are the last seen `x-rate-limit-*` values (None when
    unknown); when the window is nearly spent we wait for the reset, and otherwise never
    poll faster than the remaining requests spread over the rest of the window.
    """
    rate = activity_rate_per_hour(recent_activity_count)
    max_hours = MAX_IDLE_DELAY / timedelta(hours=1)
    hours = TARGET_ACTIVITIES_PER_POLL / rate if rate > 0 else max_hours
    delay = max(timedelta(hours=min(hours, max_hours)), MIN_DELAY)
    if rate_limit_remaining is not None and reset_at is not None and reset_at > now:
        window_left = reset_at - now
        if rate_limit_remaining <= RATE_LIMIT_RESERVE:
            delay = max(delay, window_left + timedelta(seconds=1))
        else:
            delay = max(delay, window_left / (rate_limit_remaining - RATE_LIMIT_RESERVE))
    return delay


def backoff_delay(failures: int, salt: str = "") -> timedelta:
    """STREAM_BACKOFF's wait after `failures` failed polls in a row of one account (`salt`)."""
    return STREAM_BACKOFF.delay(failures, salt)


def recent_page_size(expected_new: float, minimum: int, maximum: int) -> int:
    """First page size: one more than we expect to be new, so the page usually ends on an
    already-seen post and we stop after one request."""
    wanted = math.ceil(max(expected_new, 0.0)) + 1
    return max(minimum, min(maximum, wanted))
