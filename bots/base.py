"""The one Protocol every social network adapter implements, and its plain value types.

A bot never touches the database: `jobs` hands it a linked account and the opaque cursor it
stored last time, and stores what comes back. Persist `activities` and `cursor` whatever the
`status` is: a poll can succeed on one stream (likes) and fail on another (posts), and the
cursor only advances for what was fully read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from threading import Event
from typing import Protocol

from core.activity import Activity

STATUSES = ("ok", "needs_reconnect", "retry", "error")


class MalformedResponse(ValueError):
    """A body that is not the shape the network documents (truncated, not JSON, wrong
    types)."""


class BadParseArgument(ValueError):
    """`flattr bots parse` was given an argument the network cannot read the body with
    (Mastodon's --actor must be HOST:ID): the caller's mistake, not the body's."""


@dataclass(frozen=True)
class LinkedAccount:
    """A person's connected account: `network` is a registered network's name. `wake`: a
    webhook asked for this poll, so read every stream, not only those the cursor's pacing
    made due (bots.polling.run_streams does)."""

    network: str
    external_user_id: str
    access_token: str
    handle: str | None = None
    wake: bool = False


@dataclass(frozen=True)
class FetchResult:
    """What one poll found.

    `cursor` is JSON-serialisable and opaque to callers; `next_poll_at` (UTC aware) is the
    earliest useful next poll, honouring rate limits. `status`: 'ok'; 'needs_reconnect'
    (token expired or revoked: tell the person); 'retry' (5xx, timeout, rate limited: poll
    again at next_poll_at); 'error' (malformed answer or a bug: logged, retried later).
    """

    activities: list[Activity]
    cursor: dict
    next_poll_at: datetime
    status: str
    error: str | None = None
    posts_read: int = 0
    requests: int = 0


@dataclass(frozen=True)
class OutgoingMessage:
    """A notification: `channel` is how the network sends it (its own names: x_dm,
    facebook_page_post, mastodon_post ...); `recipient` a user id, a handle or a Page id."""

    channel: str
    recipient: str
    text: str
    in_reply_to: str | None = None


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    retryable: bool = False
    error: str | None = None
    external_id: str | None = None


class SocialNetwork(Protocol):
    name: str

    def fetch_activity(
        self, account: LinkedAccount, cursor: dict | None, now: datetime
    ) -> FetchResult: ...

    def post(self, message: OutgoingMessage, sender: LinkedAccount) -> DeliveryResult: ...


@dataclass
class StreamOutcome:
    """Internal: what one stream (likes, posts...) of one poll produced."""

    activities: list[Activity] = field(default_factory=list)
    status: str = "ok"
    error: str | None = None
    retry_at: datetime | None = None
    posts_read: int = 0
    requests: int = 0
    # Stream state to keep even when this poll failed (its other changes are dropped):
    # e.g. how many times in a row one cause has failed.
    keep: dict = field(default_factory=dict)


def merge_status(statuses: list[str]) -> str:
    """The most serious status wins: a dead token matters more than a flaky server."""
    for status in ("needs_reconnect", "error", "retry"):
        if status in statuses:
            return status
    return "ok"


# -- live streams (Bluesky's Jetstream): read by jobs/stream.py -----------------------------


class StreamBroken(Exception):
    """The connection dropped, or a call the batch needed failed: reconnect (with backoff)
    from the stored position; nothing of the batch in hand was stored."""


@dataclass(frozen=True)
class StreamAccount:
    """A linked account the stream watches: what its person's triggers let through."""

    external_user_id: str
    actions: frozenset[str]


@dataclass(frozen=True)
class StreamBatch:
    """What a stream read since the last batch: the activities (targets resolved), the
    activities undone (a like deleted: only network, action, external id, actor and time
    are known), and the position to store once they are (None: unchanged)."""

    position: int | None
    activities: list[Activity] = field(default_factory=list)
    withdrawals: list[Activity] = field(default_factory=list)
    events: int = 0
    # A backfill: the keys of every activity still in the accounts' repositories that was
    # made since `listed_since`; a recorded one missing was deleted during the gap.
    present: frozenset[str] | None = None
    listed_since: datetime | None = None
    # The actors whose listing completed: only their recorded activities missing from
    # `present` are undone (a listing that failed proves nothing).
    complete: frozenset[str] = frozenset()


class StreamSource(Protocol):
    """One network's live stream, sharded: `shard_size` accounts a connection."""

    shard_size: int
    replay: timedelta  # how far back the stream can resume; an older position is backfilled

    def batches(self, accounts: dict[str, StreamAccount], position: int | None,
                stop: Event) -> Iterator[StreamBatch]: ...

    def backfill(self, accounts: dict[str, StreamAccount], since: datetime,
                 listed_since: datetime, now: datetime) -> StreamBatch: ...

    def position_at(self, moment: datetime) -> int: ...

    def moment_of(self, position: int) -> datetime: ...

    def close(self) -> None: ...
