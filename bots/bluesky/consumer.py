"""The Jetstream v1 consumer (no database: jobs/stream.py stores what it yields).

One connection per shard of linked DIDs (Jetstream takes 10,000 a connection), asking for
likes, reposts and posts (for explicit `#flattr` requests) of those DIDs from a stored
position (`time_us`). A long DID list goes in the subscriber's first message
(`requireHello=true`, then an `options_update`), since it would not fit in a URL. Each frame is
decoded once; its DID is looked up locally (also when the server filters), and only the
linked accounts' events are parsed. Every `batch_size` intents or `max_wait` seconds the
batch is completed: the liked posts are fetched with getPosts (25 a call) for their links,
and the batch is yielded with its last `time_us` as the position to store. An idle stream
still yields (empty batches), so the caller can renew its lease and look for new accounts.

A dropped connection, a refused handshake or an XRPC call that keeps failing ends the
iteration with StreamBroken; the caller reconnects from what it stored. A gap longer than
Jetstream's replay window is filled by `backfill` (listRecords at each DID's own PDS,
newest first, down to the stored position's time), paced by the process's request budget
(bots/bluesky/budget.py: a 429 waits for its RateLimit-Reset). The websocket client is the
`websockets` package's sync client: the atproto SDK's JetstreamClient speaks only the newer
v2 protocol.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from threading import Event
from typing import Any, TypeVar
from urllib.parse import urlencode

from atproto_client.exceptions import AtProtocolError
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import ClientConnection, connect

from bots.base import MalformedResponse, StreamAccount, StreamBatch, StreamBroken
from bots.bluesky import LIKE, POST, REPOST, WATCHED, parse
from bots.bluesky.did import DidUnresolved
from bots.bluesky.ids import time_us
from bots.bluesky.parse import Intent
from bots.bluesky.xrpc import RateLimited, Unavailable, Xrpc
from core import logs
from core.activity import Activity

T = TypeVar("T")
MAX_URL_DIDS = 50  # more than this go in the options_update message
XRPC_TRIES = 5


@dataclass(frozen=True)
class Limits:
    batch_size: int = 500  # intents and withdrawals in a batch
    max_wait: float = 1.0  # seconds before a batch is yielded anyway
    open_timeout: float = 10.0
    max_delay: float = 30.0  # the longest wait between XRPC retries


class Jetstream:
    def __init__(self, url: str, xrpc: Xrpc, *, service_did: str | None = None,
                 service_handle: str | None = None, shard_size: int = 10_000,
                 replay: timedelta = timedelta(hours=24), limits: Limits = Limits(),
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.url, self.xrpc = url, xrpc
        self.service = {"service_did": service_did, "service_handle": service_handle}
        self.shard_size, self.replay, self.limits = shard_size, replay, limits
        self.sleep = sleep
        self.malformed = 0

    def close(self) -> None:
        self.xrpc.close()

    def position_at(self, moment: datetime) -> int:
        return time_us(moment)

    def moment_of(self, position: int) -> datetime:
        return parse.time_of_us(position)

    # -- the stream ---------------------------------------------------------------------

    def subscribe_url(self, dids: list[str], position: int | None) -> tuple[str, str | None]:
        """The URL, and the options_update message to send first (None: all in the URL).
        More DIDs than one connection takes: no server filter (the local one stays)."""
        query: list[tuple[str, str]] = [("wantedCollections", c) for c in WATCHED]
        hello = None
        if len(dids) <= MAX_URL_DIDS:
            query += [("wantedDids", d) for d in dids]
        elif len(dids) <= self.shard_size:
            query.append(("requireHello", "true"))
            hello = json.dumps({"type": "options_update", "payload": {
                "wantedCollections": list(WATCHED), "wantedDids": dids,
                "maxMessageSizeBytes": 0}})
        if position is not None:
            query.append(("cursor", str(position)))
        return f"{self.url}?{urlencode(query)}", hello

    def batches(self, accounts: dict[str, StreamAccount], position: int | None,
                stop: Event) -> Iterator[StreamBatch]:
        url, hello = self.subscribe_url(sorted(accounts), position)
        try:
            socket = connect(url, open_timeout=self.limits.open_timeout, compression=None,
                             max_size=2**22)
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            raise StreamBroken(f"cannot connect to Jetstream: {exc}") from None
        with socket:
            if hello is not None:
                socket.send(hello)
            yield from self._read(socket, accounts, position, stop)

    def _read(self, socket: ClientConnection, accounts: dict[str, StreamAccount],
              position: int | None, stop: Event) -> Iterator[StreamBatch]:
        limits = self.limits
        intents: list[Intent] = []
        withdrawals: list[Activity] = []
        events, deadline = 0, time.monotonic() + limits.max_wait
        while not stop.is_set():
            try:
                frame = socket.recv(timeout=max(0.0, deadline - time.monotonic()),
                                    decode=False)
            except TimeoutError:
                frame = None
            except ConnectionClosed as exc:
                raise StreamBroken(f"Jetstream closed the connection: {exc}") from None
            if frame is not None:
                events += 1
                position = self._take(frame, accounts, position, intents, withdrawals)
                if len(intents) + len(withdrawals) < limits.batch_size \
                        and time.monotonic() < deadline:
                    continue
            yield StreamBatch(position, self.activities(intents), withdrawals, events)
            intents, withdrawals = [], []
            events, deadline = 0, time.monotonic() + limits.max_wait

    def _take(self, frame: Any, accounts: dict[str, StreamAccount], position: int | None,
              intents: list[Intent], withdrawals: list[Activity]) -> int | None:
        """One frame: decoded once; parsed further only for a linked account."""
        try:
            event = json.loads(frame)
            did, stamp = event["did"], event["time_us"]
        except (ValueError, TypeError, KeyError):
            self.malformed += 1
            return position
        if isinstance(stamp, int) and (position is None or stamp > position):
            position = stamp
        account = accounts.get(did)
        if account is None:
            return position
        try:
            parsed = parse.parse_event(event, **self.service)
        except MalformedResponse as exc:
            self.malformed += 1
            logs.event("bluesky.event_malformed", level=logging.WARNING, error=str(exc)[:200])
            return position
        if parsed.intent is not None and parsed.intent.action in account.actions:
            intents.append(parsed.intent)
        elif parsed.withdrawal is not None:
            withdrawals.append(parsed.withdrawal.activity)
        return position

    # -- posts and backfill ---------------------------------------------------------------

    def activities(self, intents: list[Intent]) -> list[Activity]:
        """The intents as activities: each liked post's first outside link, else the post
        (also when the post is gone)."""
        if not intents:
            return []
        targets: dict[str, Any] = {}
        for body in self._retrying(lambda: list(self.xrpc.get_posts(
                [i.subject for i in intents]))):
            try:
                targets.update(parse.parse_posts(body))
            except MalformedResponse as exc:
                logs.event("bluesky.posts_malformed", level=logging.WARNING,
                           error=str(exc)[:200])
        return [parse.activity(i, targets.get(i.subject)) for i in intents]

    def backfill(self, accounts: dict[str, StreamAccount], since: datetime,
                 listed_since: datetime, now: datetime) -> StreamBatch:
        """Every like, repost and explicit request made since `since`, from the accounts'
        repositories (listRecords, newest first, down to `listed_since`); `present` names
        every one listed, so a recorded one that is gone was deleted during the gap."""
        intents: list[Intent] = []
        present: set[str] = set()
        complete: set[str] = set()
        read = broken = 0
        for did, account in sorted(accounts.items()):
            listed = True
            for collection in (LIKE, REPOST, POST):
                if parse.ACTIONS[collection] not in account.actions:
                    continue
                cursor: str | None = None
                while True:
                    try:
                        page = self._retrying(
                            lambda d=did, coll=collection, c=cursor:  # type: ignore[misc]
                            self.xrpc.list_records(d, coll, c))
                    except (AtProtocolError, DidUnresolved, StreamBroken) as exc:
                        # A repository gone, or its PDS down: skip it (not listed), unless
                        # most are (the network is down, not one PDS: see below).
                        logs.event("bluesky.list_failed", level=logging.WARNING,
                                   collection=collection, did=did, error=str(exc)[:200])
                        listed = False
                        broken += isinstance(exc, StreamBroken)
                        break
                    read += len(page.get("records") or [])
                    found, cursor = parse.parse_list_records(page, now=now, **self.service)
                    present.update(i.key for i in found)
                    intents += [i for i in found if i.occurred_at >= since]
                    oldest = [parse.created_at(r.get("value"), now)
                              for r in page.get("records") or [] if isinstance(r, dict)]
                    if cursor is None or not oldest or min(oldest) < listed_since:
                        break
            if listed:
                complete.add(parse.actor_identity(did))
        if broken * 2 > len(accounts):
            raise StreamBroken(f"{broken} of {len(accounts)} repositories could not be listed")
        intents.sort(key=lambda i: i.occurred_at)
        activities: list[Activity] = []
        for start in range(0, len(intents), self.limits.batch_size):
            activities += self.activities(intents[start:start + self.limits.batch_size])
        return StreamBatch(None, activities, [], read, frozenset(present), listed_since,
                           frozenset(complete))

    def _retrying(self, call: Callable[[], T]) -> T:
        delay = 0.5
        for attempt in range(XRPC_TRIES):
            try:
                return call()
            except RateLimited as exc:  # wait for its reset: the budget's pause, or here
                wait = 0.0 if exc.paused else exc.delay_s
            except Unavailable:
                wait = min(delay, self.limits.max_delay)
                delay = min(delay * 2, self.limits.max_delay)
            if attempt + 1 < XRPC_TRIES and wait > 0:
                self.sleep(wait)
        raise StreamBroken(f"XRPC at {self.xrpc.appview._base_url} keeps failing")
