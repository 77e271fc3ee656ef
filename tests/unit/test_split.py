from hypothesis import given
from hypothesis import strategies as st

from core.split import fee_of, rank_key, share_of
from tests.oracles import even_split

budgets = st.integers(min_value=0, max_value=10**9)
counts = st.integers(min_value=1, max_value=500)
rotations = st.integers(min_value=0, max_value=10**6)


def split(budget: int, n: int, rotation: int) -> list[int]:
    """What production gives each rank (core.split.share_of, as settlement's SQL does)."""
    return [share_of(budget, n, rank, rotation) for rank in range(n)]


@given(budgets, counts, rotations)
def test_share_of_is_the_independent_oracle(budget, n, rotation):
    assert split(budget, n, rotation) == even_split(budget, n, rotation)


@given(budgets, counts, rotations)
def test_shares_sum_exactly_to_the_budget_and_differ_by_at_most_one_cent(budget, n, rotation):
    shares = split(budget, n, rotation)
    assert len(shares) == n
    assert sum(shares) == budget
    assert max(shares) - min(shares) <= 1


@given(budgets, counts, rotations)
def test_leftover_cents_go_to_exactly_remainder_many_flattrs(budget, n, rotation):
    shares = split(budget, n, rotation)
    assert shares.count(budget // n + 1) == (budget % n if budget % n else 0)


@given(st.integers(min_value=1, max_value=10**6), st.integers(min_value=2, max_value=50))
def test_the_lucky_flattrs_rotate_from_one_period_to_the_next(budget, n):
    if budget % n == 0:
        return
    assert split(budget, n, rotation=0) != split(budget, n, rotation=1)
    # over n periods every rank gets the leftover equally often
    totals = [sum(share_of(budget, n, rank, r) for r in range(n)) for rank in range(n)]
    assert len(set(totals)) == 1


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=10_000))
def test_fee_plus_net_is_the_share_and_fee_never_exceeds_its_rate(share, bps):
    fee = fee_of(share, bps)
    net = share - fee
    assert fee + net == share
    assert 0 <= fee <= share
    assert fee * 10_000 <= share * bps < (fee + 1) * 10_000


@given(budgets, st.lists(counts, min_size=1, max_size=20), rotations, st.integers(0, 10_000))
def test_no_rule_creates_or_destroys_a_cent_across_a_settlement(budget, counts_, rotation, bps):
    charged = paid_out = 0
    for n in counts_:
        charged += budget
        for share in split(budget, n, rotation):
            fee = fee_of(share, bps)
            paid_out += (share - fee) + fee
    assert charged == paid_out


@given(st.text(min_size=1, max_size=300))
def test_a_rank_key_is_a_signed_64_bit_function_of_the_url_alone(url):
    key = rank_key(url)
    assert -(2**63) <= key < 2**63
    assert rank_key(str(url)) == key


def test_rank_keys_are_fixed_forever():
    # Settled periods are recomputed with these keys: they must never change.
    assert rank_key("https://example.org/t/1") == rank_key("https://example.org/t/1")
    assert rank_key("https://example.org/") == -9108299646273712077  # sha256, first 8 bytes
    assert len({rank_key(f"https://example.org/t/{n}") for n in range(10_000)}) == 10_000
