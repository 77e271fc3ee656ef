"""Bookkeeping shared by the adapters: per-stream cursor state, pacing and the outcome of a
poll. Each network reads a few independent streams (X likes and timeline; Facebook likes
and posts); each stream keeps its own watermark, due time and activity rate in the cursor,
so a failure on one never loses or repeats what another has read."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timedelta

from bots.base import FetchResult, LinkedAccount, StreamOutcome, merge_status
from bots.pacing import (
    MAX_IDLE_DELAY,
    activity_rate_per_hour,
    backoff_delay,
    decay_recent,
    next_poll_delay,
)

CURSOR_VERSION = 1


def iso(moment: datetime) -> str:
    return moment.isoformat()


def parse_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def load_cursor(cursor: dict | None, streams: tuple[str, ...]) -> dict:
    """A private, complete copy of the stored cursor (missing parts get defaults)."""
    state = copy.deepcopy(cursor) if isinstance(cursor, dict) else {}
    if state.get("v") != CURSOR_VERSION:
        state = {"v": CURSOR_VERSION}
    state.setdefault("failures", 0)
    for name in streams:
        stream = state.setdefault(name, {})
        stream.setdefault("initialized", False)
        stream.setdefault("due", None)
        stream.setdefault("recent", 0.0)
        stream.setdefault("last", None)
        stream.setdefault("rl_remaining", None)
        stream.setdefault("rl_reset", None)
    return state


def is_due(stream: dict, now: datetime) -> bool:
    due = parse_iso(stream.get("due"))
    return due is None or due <= now


def expected_new(stream: dict, now: datetime) -> float:
    last = parse_iso(stream.get("last"))
    if last is None:
        return 0.0
    hours = max((now - last) / timedelta(hours=1), 0.0)
    return activity_rate_per_hour(stream["recent"]) * hours


def note_rate_limit(stream: dict, headers: dict | None) -> None:
    """Remember X-style `x-rate-limit-remaining/reset` headers for pacing."""
    if not headers:
        return
    remaining, reset = headers.get("x-rate-limit-remaining"), headers.get("x-rate-limit-reset")
    try:
        stream["rl_remaining"] = int(remaining) if remaining is not None else None
        stream["rl_reset"] = int(reset) if reset is not None else None
    except ValueError:
        stream["rl_remaining"] = stream["rl_reset"] = None


def schedule_after_success(stream: dict, found: int, now: datetime) -> None:
    last = parse_iso(stream.get("last")) or now
    stream["recent"] = decay_recent(stream["recent"], now - last, found)
    stream["last"] = iso(now)
    reset = stream.get("rl_reset")
    reset_at = datetime.fromtimestamp(reset, now.tzinfo) if reset else None
    delay = next_poll_delay(stream["recent"], stream.get("rl_remaining"), reset_at, now)
    stream["due"] = iso(now + delay)


def run_streams(
    network: str,
    account: LinkedAccount,
    cursor: dict | None,
    now: datetime,
    pollers: dict[str, Callable[[dict], StreamOutcome]],
) -> FetchResult:
    """Poll every due stream (every stream when the account was woken), then merge:
    activities and cursor advance per stream."""
    state = load_cursor(cursor, tuple(pollers))
    outcomes: list[StreamOutcome] = []
    failed = False
    for name, poll in pollers.items():
        stream = state[name]
        if not (account.wake or is_due(stream, now)):
            continue
        before = copy.deepcopy(stream)
        outcome = poll(stream)
        outcomes.append(outcome)
        if outcome.status == "ok":
            schedule_after_success(stream, len(outcome.activities), now)
            continue
        # Only the rate-limit notes survive a failure; the watermark stays where it was.
        kept = {k: stream.get(k) for k in ("rl_remaining", "rl_reset")}
        state[name] = stream = {**before, **kept, **outcome.keep}
        if outcome.retry_at is not None:
            stream["due"] = iso(outcome.retry_at)
        else:
            failed = True
            stream["due"] = None  # filled in below, once failures is known
    state["failures"] = state["failures"] + 1 if failed else 0
    for name in pollers:
        if state[name]["due"] is None:
            pause = backoff_delay(state["failures"], account.external_user_id)
            if any(o.status == "needs_reconnect" for o in outcomes):
                pause = MAX_IDLE_DELAY  # nothing will work until the person reconnects
            state[name]["due"] = iso(now + pause)
    next_at = min(parse_iso(state[name]["due"]) or now for name in pollers)
    errors = [o.error for o in outcomes if o.error]
    return FetchResult(
        activities=[a for o in outcomes for a in o.activities],
        cursor=state,
        next_poll_at=max(next_at, now),
        status=merge_status([o.status for o in outcomes]),
        error="; ".join(errors) if errors else None,
        posts_read=sum(o.posts_read for o in outcomes),
        requests=sum(o.requests for o in outcomes),
    )
