"""Periods are calendar months in UTC, written 'YYYY-MM' with ASCII digits only."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from core.errors import UserError

# [0-9], never \d (which takes any Unicode digit: '٢٠٢٦-10' would name October 2026 a
# second time); fullmatch, never $ (which matches before a trailing newline).
_PERIOD = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
FIRST_YEAR, LAST_YEAR = 2000, 2999  # every date a period leads to stays far inside datetime
# How a lenient parser (int() of \d runs) once read a period: only to find what month a
# stored non-canonical spelling was settled as (core.ledger.self_check).
_LENIENT = re.compile(r"\s*(\d{4})-(\d{1,2})\s*")


class InvalidPeriod(UserError, ValueError):
    """Not a period of the form YYYY-MM."""


def parse_period(text: str) -> str:
    """`text` if it is a canonical period within FIRST_YEAR..LAST_YEAR, else InvalidPeriod."""
    match = _PERIOD.fullmatch(text) if isinstance(text, str) else None
    if not match:
        shown = text[:40] if isinstance(text, str) else text
        raise InvalidPeriod("not a period: %(text)r (expected YYYY-MM, e.g. 2026-10)", text=shown)
    if not FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
        raise InvalidPeriod("period %(period)s is out of range (%(first)s-01 to %(last)s-12)",
                            period=text, first=FIRST_YEAR, last=LAST_YEAR)
    return text


def is_period(text: str) -> bool:
    try:
        parse_period(text)
    except InvalidPeriod:
        return False
    return True


def calendar_month(text: str) -> str | None:
    """The canonical period a possibly non-canonical stored spelling names ('٢٠٢٦-10',
    '2026-10\\n' -> '2026-10'), or None when it names no month."""
    match = _LENIENT.fullmatch(text)
    if not match or not 1 <= int(match.group(2)) <= 12:
        return None
    return f"{int(match.group(1)):04d}-{int(match.group(2)):02d}"


def period_of(moment: datetime) -> str:
    moment = as_utc(moment)
    return f"{moment.year:04d}-{moment.month:02d}"


def period_index(period: str) -> int:
    """Months since year 0: the rotation of the leftover cents."""
    year, month = _year_month(period)
    return year * 12 + month - 1


def next_period(period: str) -> str:
    index = period_index(period) + 1
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def period_start(period: str) -> datetime:
    year, month = _year_month(period)
    return datetime(year, month, 1, tzinfo=UTC)


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
    """An ISO 8601 timestamp (ASCII digits only); naive ones are taken as UTC."""
    if not text.isascii() or not text.strip() or text != text.strip():
        raise InvalidPeriod("not an ISO 8601 time: %(text)r", text=text[:40])
    try:
        moment = as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except (ValueError, OverflowError) as exc:
        raise InvalidPeriod("not an ISO 8601 time: %(text)r", text=text[:40]) from exc
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise InvalidPeriod("time %(text)s is out of range (%(first)s to %(last)s)", text=text,
                            first=FIRST_YEAR, last=LAST_YEAR)
    return moment


def _year_month(period: str) -> tuple[int, int]:
    """Year and month of a period already known to be canonical (a parsed or a stored one)."""
    match = _PERIOD.fullmatch(period)
    if not match:
        raise InvalidPeriod("not a period: %(text)r (expected YYYY-MM)", text=period[:40])
    return int(match.group(1)), int(match.group(2))
