"""Money is integer minor units (cents) plus the deployment's currency code; never float."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import UserError

# ASCII digits only ([0-9], never \d, which takes any Unicode digit), spaces around,
# matched whole (fullmatch: a trailing newline is no amount).
_AMOUNT = re.compile(r" *([0-9]+)(?:[.,]([0-9]{1,2}))? *")
# The largest amount anyone may enter: 1,000,000,000.00. The money columns hold 64-bit
# integers; this bound keeps every sum of many amounts (a wallet, a month of charges)
# far inside them on both databases.
MAX_CENTS = 100_000_000_000


class InvalidAmount(UserError, ValueError):
    """An amount that is not a plain positive decimal with at most two decimals."""


def parse_cents(text: str) -> int:
    """'5', '5.0', '5.00' or '5,00' -> 500. Raises InvalidAmount otherwise."""
    match = _AMOUNT.fullmatch(text) if isinstance(text, str) else None
    if not match:
        shown = text[:40] if isinstance(text, str) else text
        raise InvalidAmount("not an amount: %(text)r (expected e.g. 5.00)", text=shown)
    whole, frac = match.group(1), (match.group(2) or "")
    if len(whole.lstrip("0")) > len(str(MAX_CENTS // 100)) or (
            cents := int(whole) * 100 + int(frac.ljust(2, "0"))) > MAX_CENTS:
        raise InvalidAmount("amount too large: %(text)s (at most %(max)s)",
                            text=text.strip()[:40], max=format_cents(MAX_CENTS))
    return cents


def format_cents(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"


@dataclass(frozen=True)
class Amount:
    """An amount inside a message (a UserError's params): "2.00 EUR" as text; the web app
    formats it for the reader's locale instead."""

    cents: int
    currency: str

    def __str__(self) -> str:
        return f"{format_cents(self.cents)} {self.currency}"
