"""core.backoff: one policy, a value per use (bots.pacing's streams, core.outbox's
deliveries), each giving exactly the waits its old function gave."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bots.pacing import STREAM_BACKOFF, backoff_delay
from core.backoff import Backoff
from core.outbox import DELIVERY_BACKOFF


def _old_stream(failures: int, salt: str) -> timedelta:  # bots.pacing before core.backoff
    steps = max(failures, 1) - 1
    base = min(timedelta(minutes=1) * (2 ** min(steps, 20)), timedelta(hours=1))
    return base * (1 + hashlib.sha256(f"{salt}:{failures}".encode()).digest()[0] / 255 * 0.2)


def _old_delivery(attempts: int) -> timedelta:  # core.outbox before core.backoff
    return min(timedelta(minutes=1) * 2 ** max(attempts - 1, 0), timedelta(hours=6))


@given(st.integers(0, 60), st.text(max_size=12))
def test_each_use_keeps_its_old_schedule(failures: int, salt: str) -> None:
    assert backoff_delay(failures, salt) == STREAM_BACKOFF.delay(failures, salt) \
        == _old_stream(failures, salt)
    if failures <= 30:  # the old one overflowed past about 40 attempts (MAX_ATTEMPTS is 8)
        assert DELIVERY_BACKOFF.delay(failures) == _old_delivery(failures)
    assert DELIVERY_BACKOFF.delay(failures) <= DELIVERY_BACKOFF.cap


def test_the_uses_differ_by_their_parameters_not_by_shared_names() -> None:
    assert (STREAM_BACKOFF.cap, DELIVERY_BACKOFF.cap) == (timedelta(hours=1), timedelta(hours=6))
    assert DELIVERY_BACKOFF.jitter == 0 and STREAM_BACKOFF.jitter == pytest.approx(0.2)
    assert [DELIVERY_BACKOFF.delay(n) / timedelta(minutes=1) for n in range(1, 5)] == [1, 2, 4, 8]


@given(st.integers(0, 10_000), st.text(max_size=8))
def test_capped_growing_and_deterministic(failures: int, salt: str) -> None:
    policy = Backoff(base=timedelta(seconds=30), cap=timedelta(hours=2), jitter=0.5)
    wait = policy.delay(failures, salt)
    assert timedelta(seconds=30) <= wait <= policy.longest
    assert policy.delay(failures + 1, salt) >= wait / 1.5
    assert policy.delay(failures, salt) == wait


def test_a_policy_that_makes_no_sense_is_refused() -> None:
    for base, cap, jitter in [(0, 60, 0.0), (60, 30, 0.0), (60, 120, 1.5)]:
        with pytest.raises(ValueError):
            Backoff(base=timedelta(seconds=base), cap=timedelta(seconds=cap), jitter=jitter)
