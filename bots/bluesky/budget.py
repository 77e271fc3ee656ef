"""Bluesky's request budget: 3,000 requests per 5 minutes per IP address, kept by the
process (every XRPC call of a worker's shards, backfills and getPosts alike, takes a slot).

Why the process and not the database: the limit is per IP, and one worker process is one
IP's client; a count in the database would need a write per request and be shared by
workers on other hosts (other IPs), which the limit does not join. Several worker
processes on one host divide the budget by setting `FLATTR_BLUESKY_REQUESTS_PER_5MIN`.

A sliding window: a call waits until fewer than `limit` were sent in the last `window`
seconds. A 429 from the AppView or the configured PDS pauses every caller until its
RateLimit-Reset (`pause`); one from a user's own PDS only delays that call (xrpc.py).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW_S = 300.0


class RequestBudget:
    def __init__(self, limit: int, window: float = WINDOW_S, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.limit, self.window, self.clock, self.sleep = limit, window, clock, sleep
        self.waited = 0.0  # seconds spent waiting, all callers
        self._sent: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def take(self) -> None:
        """Wait (if need be) for a slot, and take it."""
        while True:
            with self._lock:
                now = self.clock()
                while self._sent and self._sent[0] <= now - self.window:
                    self._sent.popleft()
                wait = self._paused_until - now
                if wait <= 0:
                    if len(self._sent) < self.limit:
                        self._sent.append(now)
                        return
                    wait = self._sent[0] + self.window - now
                self.waited += wait
            self.sleep(wait)

    def pause(self, seconds: float) -> None:
        """A 429: nobody sends before `seconds` from now."""
        with self._lock:
            self._paused_until = max(self._paused_until, self.clock() + seconds)
