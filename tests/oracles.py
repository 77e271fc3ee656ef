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


def split_by_url(amount: int, urls: list[str], period: str) -> dict[str, int]:
    """Each flattred URL's share of `amount` in `period`: ranked, as settlement ranks, by
    core.split.rank_key of the canonical URL (thing ids only break ties, none here)."""
    from core.periods import period_index
    from core.split import rank_key
    from core.urls import canonicalize

    ranked = sorted(urls, key=lambda url: rank_key(canonicalize(url)))
    assert len({rank_key(canonicalize(url)) for url in urls}) == len(urls)
    return dict(zip(ranked, even_split(amount, len(urls), period_index(period)), strict=True))
