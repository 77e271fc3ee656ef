"""X post ids are snowflakes: milliseconds since X's epoch in the bits above 22, so an id
says when its post was made (the 7-day search window, a member's starting point)."""

from __future__ import annotations

from datetime import UTC, datetime

X_EPOCH_MS = 1288834974657  # 2010-11-04T01:42:54.657Z


def snowflake_at(moment: datetime) -> int:
    """The smallest post id of this millisecond."""
    return (int(moment.timestamp() * 1000) - X_EPOCH_MS) << 22


def snowflake_time(post_id: str | int) -> datetime:
    """When a post id was made."""
    return datetime.fromtimestamp(((int(post_id) >> 22) + X_EPOCH_MS) / 1000, UTC)
