"""Input at the edges, checked in one place per kind: text, e-mail addresses, handles,
numbers, JSON. The CLI (commands/), the web forms and webhooks (web/) and the parsers of
`flattr bots parse` call these; each refusal is an InvalidInput (a UserError: exit 1 on
the command line, 400 on the web) with a one-line message naming the field.

The rules:
- text: no NUL byte and no control character (Unicode category Cc, and the line and
  paragraph separators), tab and newline included unless a field says otherwise; at most
  the column's length (PostgreSQL refuses NUL bytes and over-long values with an error
  that would otherwise be a 500, SQLite stores them silently);
- numbers: ASCII digits only (`[0-9]`, never `\\d` or `int()` on raw text, both of which
  take any Unicode digit), matched whole (`re.fullmatch`: `$` matches before a newline);
- JSON: the size and the nesting depth are bounded before the parser sees the text
  (`json.loads` recurses: a deep body is a RecursionError, not a ValueError).

Periods and amounts have their own parsers (core.periods, core.money); `period()` here
also proves that the month is a date Python can represent.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime
from typing import Any

from core.errors import UserError
from core.periods import InvalidPeriod, parse_moment, parse_period, period_end, period_start

MAX_EMAIL = 254  # RFC 5321's path limit, and the column's
MAX_HANDLE = 100  # social_accounts.handle
MAX_TEXT = 4096  # any form field or argument without a column of its own
MAX_JSON_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 64
SHOWN = 40  # characters of a refused value quoted back

_ASCII_INT = re.compile(r"[0-9]{1,18}")
_ASCII_DECIMAL = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?")
_EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?")
_SEPARATORS = frozenset("\u2028\u2029")


class InvalidInput(UserError):
    """A value that is not what its field takes: nothing was written."""


def shown(value: str) -> str:
    """A refused value as quoted in a message: short, and with control characters escaped."""
    cut = value[:SHOWN]
    return repr(cut) + ("..." if len(value) > SHOWN else "")


def bad_character(value: str, *, allow: str = "") -> str | None:
    """The first NUL byte or control character of `value` not in `allow`, or None."""
    for char in value:
        if char in allow:
            continue
        if char in _SEPARATORS or unicodedata.category(char) in ("Cc", "Cs"):
            return char
    return None


def text(value: str, *, field: str, max_length: int = MAX_TEXT, allow: str = "",
         required: bool = False) -> str:
    """`value` unchanged, if it has no control character (but those in `allow`) and fits."""
    if not isinstance(value, str):
        raise InvalidInput("%(field)s: expected text", field=field)
    char = bad_character(value, allow=allow)
    if char is not None:
        if char == "\0":
            raise InvalidInput("%(field)s must not contain a NUL byte", field=field)
        raise InvalidInput("%(field)s must not contain a control character (U+%(code)s)",
                           field=field, code=f"{ord(char):04X}")
    if len(value) > max_length:
        raise InvalidInput("%(field)s is too long: %(length)s characters (at most "
                           "%(max)s)", field=field, length=len(value), max=max_length)
    if required and not value.strip():
        raise InvalidInput("%(field)s must not be empty", field=field)
    return value


def optional_text(value: str | None, *, field: str, max_length: int = MAX_TEXT) -> str | None:
    """None, empty or spaces only is None; anything else, without the spaces around it, is
    checked by `text` (a tab or newline around it is refused, not stripped)."""
    if value is None or not isinstance(value, str) or not value.strip(" "):
        return None
    return text(value.strip(" "), field=field, max_length=max_length)


def email(value: str | None, *, field: str = "e-mail address") -> str | None:
    """An e-mail address (None when empty): one @, no space or control character, a host
    name after it, at most 254 characters."""
    address = optional_text(value, field=field, max_length=MAX_EMAIL)
    if address is None:
        return None
    if not _EMAIL.fullmatch(address):
        raise InvalidInput("not an e-mail address: %(text)s", text=shown(address))
    return address


def handle(value: str | None, *, field: str = "handle") -> str | None:
    """A handle on a network (None when empty): at most 100 characters, one line."""
    return optional_text(value, field=field, max_length=MAX_HANDLE)


def ascii_int(value: str, *, field: str, minimum: int = 0,
              maximum: int = 10**18) -> int:
    """A whole number written with ASCII digits only (no sign, no spaces, no '١٢')."""
    raw = text(value, field=field, max_length=20)
    if not _ASCII_INT.fullmatch(raw):
        raise InvalidInput("%(field)s must be a whole number (digits 0-9): %(text)s",
                           field=field, text=shown(raw))
    number = int(raw)
    if not minimum <= number <= maximum:
        raise InvalidInput("%(field)s must be between %(min)s and %(max)s: %(text)s",
                           field=field, min=minimum, max=maximum, text=raw)
    return number


def ascii_decimal(value: str, *, field: str, minimum: float = 0.0,
                  maximum: float = 1e9) -> float:
    """A non-negative decimal such as 5 or 0.25, written with ASCII digits only (a number
    of seconds, a speed: never money, which is core.money's)."""
    raw = text(value, field=field, max_length=20)
    if not _ASCII_DECIMAL.fullmatch(raw):
        raise InvalidInput("%(field)s must be a number such as 5 or 0.5 (digits 0-9): "
                           "%(text)s", field=field, text=shown(raw))
    number = float(raw)
    if not minimum <= number <= maximum:
        raise InvalidInput("%(field)s must be between %(min)s and %(max)s: %(text)s",
                           field=field, min=f"{minimum:g}", max=f"{maximum:g}", text=raw)
    return number


def period(value: str, *, field: str = "period") -> str:
    """A period (core.periods.parse_period) whose month and the next are dates: '0000-01'
    or '9999-12' match the pattern but lead to no datetime."""
    raw = text(value, field=field, max_length=20)
    if not raw.isascii():
        raise InvalidPeriod("not a period: %(text)s (expected YYYY-MM with digits 0-9)",
                            text=shown(raw))
    checked = parse_period(raw)
    try:
        period_start(checked)
        period_end(checked)
    except (ValueError, OverflowError) as exc:
        raise InvalidPeriod("%(field)s %(period)s is out of range", field=field,
                            period=checked) from exc
    return checked


def moment(value: str, *, field: str = "time") -> datetime:
    """An ISO 8601 time (core.periods.parse_moment) written in ASCII, that Python can hold
    in UTC; an empty value is an error, never "no value"."""
    raw = text(value, field=field, max_length=40)
    if not raw.strip() or not raw.isascii():
        raise InvalidPeriod("not an ISO 8601 time: %(text)s", text=shown(raw))
    try:
        return parse_moment(raw)
    except OverflowError as exc:
        raise InvalidPeriod("%(field)s out of range: %(text)s", field=field,
                            text=shown(raw)) from exc


def json_depth(data: str | bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text, counted without parsing
    it (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in data.decode("utf-8", "replace") if isinstance(data, bytes) else data:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def load_json(data: str | bytes, *, what: str = "the body", max_bytes: int = MAX_JSON_BYTES,
              max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON whose size and depth are bounded first: InvalidInput otherwise."""
    size = len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    if size > max_bytes:
        raise InvalidInput("%(what)s is too large: %(size)s bytes (at most %(max)s)",
                           what=what, size=size, max=max_bytes)
    if json_depth(data) > max_depth:
        raise InvalidInput("%(what)s is nested too deeply (at most %(max)s levels)",
                           what=what, max=max_depth)
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise InvalidInput("%(what)s is not JSON: %(reason)s", what=what,
                           reason=str(exc)[:80]) from exc
