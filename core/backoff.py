"""Backoff: how long to wait after the n-th failure in a row. One policy, a value per use.

`Backoff(base, cap, jitter)`: the first failure waits `base`, each further one twice as
long, never more than `cap`; then up to `jitter` (a fraction) is added, chosen by a hash
of a salt and the failure count, so it is deterministic (replays and tests see the same
schedule) yet different per salt (accounts failing together do not all come back in the
same second). The uses, each with its own parameters: `bots.pacing.STREAM_BACKOFF` (a
network stream that failed: 1 minute to 1 hour, +20%), `core.outbox.DELIVERY_BACKOFF` (a
notification delivery that failed: 1 minute to 6 hours, no jitter). Pure.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

MAX_DOUBLINGS = 20  # 2**20 times any base here is far past any cap


@dataclass(frozen=True)
class Backoff:
    base: timedelta
    cap: timedelta
    jitter: float = 0.0  # up to this fraction added, e.g. 0.2: +0..20%

    def __post_init__(self) -> None:
        if self.base <= timedelta(0) or self.cap < self.base or not 0 <= self.jitter <= 1:
            raise ValueError(f"bad backoff policy {self}")

    def delay(self, failures: int, salt: str = "") -> timedelta:
        """The wait after `failures` failures in a row (0 counts as 1)."""
        steps = max(failures, 1) - 1
        wait = min(self.base * (2 ** min(steps, MAX_DOUBLINGS)), self.cap)
        if not self.jitter:
            return wait
        digest = hashlib.sha256(f"{salt}:{failures}".encode()).digest()
        return wait * (1 + digest[0] / 255 * self.jitter)

    @property
    def longest(self) -> timedelta:
        """The longest wait this policy ever gives (the cap plus all the jitter)."""
        return self.cap * (1 + self.jitter)
