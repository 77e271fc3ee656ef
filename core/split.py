"""The even split, its rank order and the fee: pure integer arithmetic.

settlement.py computes the same numbers in SQL; tests hold the two to each other.
"""

from __future__ import annotations

import hashlib


def share_of(amount: int, n: int, rank: int, rotation: int) -> int:
    """The share of the flattr at 0-based `rank` among `n` when `amount` cents are split.

    Each gets amount // n; the amount % n leftover cents go one each to the ranks whose
    rotated position (rank + rotation) % n is below the remainder, so the lucky flattrs
    change from one period to the next.
    """
    if n <= 0:
        raise ValueError("n must be positive")
    base, leftover = divmod(amount, n)
    return base + (1 if (rank + rotation) % n < leftover else 0)


def rank_key(canonical_url: str) -> int:
    """Where a thing stands among a person's flattrs of a period (ranked by this key, then by
    thing id for the vanishingly rare tie): the first 8 bytes of the SHA-256 of its
    canonical URL, as a signed 64-bit integer (a BIGINT on both databases). It depends on
    what was flattred only, never on the order things were discovered in."""
    digest = hashlib.sha256(canonical_url.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def fee_of(share: int, fee_bps: int) -> int:
    """The service fee on one creator share, rounded down (share = fee + net exactly)."""
    if not 0 <= fee_bps <= 10_000:
        raise ValueError("fee_bps must be within 0..10000")
    return share * fee_bps // 10_000
