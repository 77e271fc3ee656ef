"""The living sandbox's clock: simulated time that moves on its own, `speed` simulated
seconds per wall-clock second, and that someone can pause, speed up or move forward.

One object is both the sandbox's clock (World.clock) and the app's (App.clock), so the
networks, the worker and the web pages always agree on the time. It never goes back: what
the worker stored stays in the past.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.words import N_

# Simulated seconds per second that the operator page offers (and the largest one, which
# sizes the worker's leases: a lease must outlast a poll at any speed).
SPEEDS = {N_("1 minute a second"): 60.0, N_("1 hour a second"): 3600.0,
          N_("6 hours a second"): 21600.0, N_("1 day a second"): 86400.0}
MAX_SPEED = max(SPEEDS.values())


class ClockGoesBack(ValueError):
    """The living clock only moves forward."""


@dataclass(frozen=True)
class ClockState:
    now: datetime
    speed: float
    paused: bool


class LivingClock:
    """Thread-safe; calling it gives the simulated time (an aware UTC datetime)."""

    def __init__(self, start: datetime, speed: float = 3600.0,
                 wall: Callable[[], float] = time.monotonic, paused: bool = False) -> None:
        self._lock = threading.Lock()
        self._wall = wall
        self._base = start if start.tzinfo else start.replace(tzinfo=UTC)
        self._anchor = wall()
        self._speed = _checked(speed)
        self._paused = paused

    def __call__(self) -> datetime:
        with self._lock:
            return self._at(self._wall())

    def _at(self, wall: float) -> datetime:
        if self._paused:
            return self._base
        return self._base + timedelta(seconds=(wall - self._anchor) * self._speed)

    def _rebase(self) -> None:
        wall = self._wall()
        self._base, self._anchor = self._at(wall), wall

    def state(self) -> ClockState:
        with self._lock:
            return ClockState(self._at(self._wall()), self._speed, self._paused)

    def pause(self) -> None:
        with self._lock:
            self._rebase()
            self._paused = True

    def resume(self) -> None:
        with self._lock:
            self._rebase()
            self._paused = False

    def set_speed(self, speed: float) -> None:
        with self._lock:
            self._rebase()
            self._speed = _checked(speed)

    def jump_to(self, moment: datetime) -> datetime:
        """Move forward to `moment` (and keep running from there, unless paused)."""
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        with self._lock:
            self._rebase()
            if moment < self._base:
                raise ClockGoesBack(f"the living clock does not go back (it is "
                                    f"{self._base.isoformat()})")
            self._base = moment
            return moment

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._rebase()
            if delta < timedelta(0):
                raise ClockGoesBack("the living clock does not go back")
            self._base += delta
            return self._base


def _checked(speed: float) -> float:
    if not 0 < speed <= MAX_SPEED:
        raise ValueError(f"speed must be above 0 and at most {MAX_SPEED:g}")
    return float(speed)
