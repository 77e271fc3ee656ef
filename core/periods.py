"""Periods are calendar months in UTC, written 'YYYY-MM'."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from core.errors import UserError

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class InvalidPeriod(UserError, ValueError):
    """Not a period of the form YYYY-MM."""


def parse_period(text: str) -> str:
    if not _PERIOD.match(text or ""):
        raise InvalidPeriod(f"not a period: {text!r} (expected YYYY-MM)")
    return text


def period_of(moment: datetime) -> str:
    moment = as_utc(moment)
    return f"{moment.year:04d}-{moment.month:02d}"


def period_index(period: str) -> int:
    """Months since year 0: the rotation of the leftover cents."""
    year, month = int(period[:4]), int(period[5:7])
    return year * 12 + month - 1


def next_period(period: str) -> str:
    index = period_index(period) + 1
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def period_start(period: str) -> datetime:
    return datetime(int(period[:4]), int(period[5:7]), 1, tzinfo=UTC)


def period_end(period: str) -> datetime:
    """The first instant after the period."""
    return period_start(next_period(period))


def claim_deadline(period: str, claim_window_days: int) -> datetime:
    return period_end(period) + timedelta(days=claim_window_days)


def as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_moment(text: str) -> datetime:
    """An ISO 8601 timestamp; naive ones are taken as UTC."""
    try:
        return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError as exc:
        raise InvalidPeriod(f"not an ISO 8601 time: {text!r}") from exc
