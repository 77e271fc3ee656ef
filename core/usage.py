"""What the networks' APIs were asked this month, and pacing under a monthly cap.

X bills and caps the posts an app reads per month. Every worker adds what each poll
read (`add`, in the poll's own transaction), so all of them see one count; `paced`
stretches the time to the next poll as the month's reads run ahead of what the cap
leaves, so the worker slows down before the cap rather than being cut off by it (X then
answers `usage-capped` until the month turns). Reads put off are not lost: timelines and
likes are read from where they stopped, a month later if it must be.

The month is the calendar month (UTC), the same periods flattrs settle in.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.models import ApiUsage
from core.periods import period_end, period_of, period_start

# Spend at most this share of the cap: the rest covers polls already under way, other
# workers and the reads a period's close needs.
SPEND_SHARE = 0.9
MIN_ELAPSED = timedelta(hours=6)  # a month's first hours say little about its pace

_ADD = """
INSERT INTO api_usage (network, period, posts_read, requests)
VALUES (:network, :period, :posts, :requests)
ON CONFLICT (network, period) DO UPDATE SET
    posts_read = api_usage.posts_read + excluded.posts_read,
    requests = api_usage.requests + excluded.requests
"""


def add(session: Session, network: str, *, now: datetime, posts_read: int,
        requests: int) -> None:
    if posts_read or requests:
        session.execute(text(_ADD), {"network": network, "period": period_of(now),
                                     "posts": int(posts_read), "requests": int(requests)})


def month(session: Session, *, now: datetime) -> dict[str, tuple[int, int]]:
    """network -> (posts read, requests) in the month of `now`."""
    rows = session.execute(select(ApiUsage.network, ApiUsage.posts_read, ApiUsage.requests)
                           .where(ApiUsage.period == period_of(now))).all()
    return {network: (int(read), int(asked)) for network, read, asked in rows}


def posts_read(session: Session, network: str, *, now: datetime) -> int:
    value = session.execute(select(ApiUsage.posts_read).where(
        ApiUsage.network == network, ApiUsage.period == period_of(now))).scalar()
    return int(value or 0)


def paced(next_at: datetime, now: datetime, read: int, cap: int | None) -> datetime:
    """When to poll next, given what the network's pacing asked (`next_at`) and the posts
    read so far this month against `cap` (None: no cap).

    The delay is multiplied by how far this month's pace would overrun what is left of
    SPEND_SHARE of the cap; once that is spent, nothing is read until the month turns.
    """
    if not cap or next_at <= now:
        return next_at
    period = period_of(now)
    start, end = period_start(period), period_end(period)
    left = cap * SPEND_SHARE - read
    if left <= 0:
        return max(next_at, end)
    elapsed = max(now - start, MIN_ELAPSED)
    expected_rest = read * ((end - now) / elapsed)  # the rest of the month at this pace
    factor = max(1.0, expected_rest / left)
    return min(now + (next_at - now) * factor, max(next_at, end))
