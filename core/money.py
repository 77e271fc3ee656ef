"""Money as integer minor units plus a currency code; never float."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import UserError

_AMOUNT = re.compile(r"^\s*(\d{1,12})(?:[.,](\d{1,2}))?\s*$")


class InvalidAmount(UserError, ValueError):
    """An amount that is not a plain positive decimal with at most two decimals."""


@dataclass(frozen=True, order=True)
class Money:
    cents: int
    currency: str = "EUR"

    def __str__(self) -> str:
        return f"{format_cents(self.cents)} {self.currency}"


def parse_cents(text: str) -> int:
    """'5', '5.0', '5.00' or '5,00' -> 500. Raises InvalidAmount otherwise."""
    match = _AMOUNT.match(text)
    if not match:
        raise InvalidAmount(f"not an amount: {text!r} (expected e.g. 5.00)")
    whole, frac = match.group(1), (match.group(2) or "")
    return int(whole) * 100 + int(frac.ljust(2, "0"))


def format_cents(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"
