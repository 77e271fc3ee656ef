"""core.usage.paced: slow down as the month's reads near the cap, stop before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from core.usage import SPEND_SHARE, paced

MID = datetime(2026, 11, 16, tzinfo=UTC)  # half of November gone
DEC = datetime(2026, 12, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_no_cap_or_a_pace_within_it_changes_nothing() -> None:
    assert paced(MID + HOUR, MID, 10**9, None) == MID + HOUR
    assert paced(MID + HOUR, MID, 4000, 10_000) == MID + HOUR  # 8000 by the month's end


def test_running_ahead_stretches_the_wait_in_proportion() -> None:
    # 6000 read in half the month: 6000 more expected, 3000 left of 90% of 10000.
    assert paced(MID + HOUR, MID, 6000, 10_000) == MID + 2 * HOUR


def test_once_the_share_is_spent_nothing_is_read_until_the_month_turns() -> None:
    spent = int(10_000 * SPEND_SHARE)
    assert paced(MID + HOUR, MID, spent, 10_000) == DEC
    assert paced(MID + HOUR, MID, 10_000, 10_000) == DEC
    assert paced(MID + HOUR, MID, 8990, 10_000) <= DEC


@given(read=st.integers(0, 20_000), cap=st.integers(1, 20_000),
       minutes=st.integers(1, 60 * 24 * 3), day=st.integers(1, 30), hour=st.integers(0, 23))
def test_paced_never_hurries_and_never_waits_past_the_month_unless_asked(
        read: int, cap: int, minutes: int, day: int, hour: int) -> None:
    now = datetime(2026, 11, day, hour, tzinfo=UTC)
    asked = now + timedelta(minutes=minutes)
    result = paced(asked, now, read, cap)
    assert result >= asked
    assert result <= max(asked, datetime(2026, 12, 1, tzinfo=UTC))
