"""Test-only oracles: the money rules written a second, independent way, for the tests to
hold production's functions and SQL against."""

from __future__ import annotations


def even_split(amount: int, n: int, rotation: int = 0) -> list[int]:
    """`amount` cents over `n` flattrs in rank order: amount // n each, then the amount % n
    leftover cents one each to the ranks (k - rotation) mod n for k = 0, 1, ..."""
    if amount < 0 or n <= 0:
        raise ValueError("a split needs amount >= 0 and n > 0")
    shares = [amount // n] * n
    for k in range(amount % n):
        shares[(k - rotation) % n] += 1
    return shares


def charge_for(budget: int, wallet: int) -> int:
    """What a period costs a person: the budget, or the wallet when it holds less."""
    return max(0, min(budget, wallet))

