"""Mastodon (any instance) through Mastodon.py, with a person's token on their instance.

Streams: `favourites` (GET /api/v1/favourites) and `statuses` (GET
/api/v1/accounts/:id/statuses: boosts and explicit #flattr replies). Favourites are paged
by the `Link` header only (its ids are internal favourite ids, never status ids): the
first poll reads one favourite and keeps the `prev` link's `min_id` as the watermark (so
nothing older is flattred); later polls ask for `min_id=<watermark>`, which returns only
newer favourites, oldest page first, and follow `prev` links while pages are full. The
statuses stream pages forward the same way from the newest status id seen (since-id
paging in its `min_id` form: a read cut short keeps its place). So in steady state every
status read is a new one.

Mastodon.py is told to throw on rate limits (`ratelimit_method="throw"`: never sleep in a
worker) and to check no versions (no extra requests); `X-RateLimit-*` headers, read from
each response by a session hook, pace the next poll. Every request has a short timeout,
and an instance that timed out or refused a connection is left alone for a while
(`InstanceHealth`): its other accounts come back at once as "retry" without a request, so
one dead instance cannot tie up the worker's pool.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from mastodon import Mastodon
from mastodon.errors import (
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from bots.base import (
    DeliveryResult,
    FetchResult,
    LinkedAccount,
    MalformedResponse,
    OutgoingMessage,
    StreamOutcome,
)
from bots.mastodon import NETWORK, split_account
from bots.mastodon.parse import (
    Viewer,
    check_statuses,
    explicit_originals,
    favourite_activity,
    own_status_activity,
    remote_accts,
)
from bots.polling import run_streams
from bots.transport import new_host_prefixed_session
from core import logs

SANDBOX_PREFIX = "/mastodon"
PAGE = 40  # Mastodon's largest page
USER_AGENT = "flattr-social (+https://flattr.com)"
RATE_LIMIT_FALLBACK = timedelta(minutes=5)  # Mastodon's window
INSTANCE_PAUSE = timedelta(minutes=2)  # first pause of an unreachable instance, doubling
INSTANCE_PAUSE_MAX = timedelta(minutes=30)
HOMES_KEPT = 10_000
LOOKUPS_PER_POLL = 50  # remote authors looked up at home per poll (then remembered)


class InstanceHealth:
    """Instances that timed out or refused a connection, paused until a time (shared by
    every thread of the worker, and by the adapters of one network)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down: dict[str, tuple[datetime, int]] = {}

    def paused_until(self, host: str, now: datetime) -> datetime | None:
        with self._lock:
            until, _ = self._down.get(host, (None, 0))
        return until if until is not None and until > now else None

    def failed(self, host: str, now: datetime) -> datetime:
        with self._lock:
            _, strikes = self._down.get(host, (now, 0))
            pause = min(INSTANCE_PAUSE * 2**min(strikes, 10), INSTANCE_PAUSE_MAX)
            self._down[host] = (now + pause, strikes + 1)
            return now + pause

    def answered(self, host: str) -> None:
        with self._lock:
            self._down.pop(host, None)


class MastodonNetwork:
    name = NETWORK

    def __init__(
        self,
        *,
        triggers: frozenset[str] = frozenset({"favourites", "boosts", "explicit"}),
        api_base_url: str | None = None,
        timeout: float = 5.0,
        service: str | None = None,
        service_acct: str | None = None,
        max_pages: int = 5,
        poll_budget_seconds: float | None = None,
        session: requests.Session | None = None,
        shared: MastodonNetwork | None = None,
    ) -> None:
        self.triggers = frozenset(triggers)
        self.timeout = timeout
        self.service, self.service_acct = service, service_acct
        self.max_pages = max_pages
        self.poll_budget = poll_budget_seconds or max(4 * timeout, 10.0)
        self.session: requests.Session
        self.health: InstanceHealth
        self._homes: OrderedDict[str, str]  # user@host -> id at home
        self._homes_lock: threading.Lock
        self._last: threading.local  # the last response's headers, per thread
        if shared is not None:  # another set of triggers: same pool, health and lookups
            self.session, self.health, self._homes = shared.session, shared.health, shared._homes
            self._homes_lock, self._last = shared._homes_lock, shared._last
            return
        self.session = session or new_host_prefixed_session(
            api_base_url, SANDBOX_PREFIX, (min(timeout, 3.05), timeout), pool_maxsize=32)
        self.health = InstanceHealth()
        self._homes = OrderedDict()
        self._homes_lock = threading.Lock()
        self._last = threading.local()
        self.session.hooks["response"].append(self._remember)

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._last.headers = response.headers

    def client(self, host: str, access_token: str | None) -> Mastodon:
        return Mastodon(access_token=access_token, api_base_url=f"https://{host}",
                        ratelimit_method="throw", request_timeout=self.timeout,
                        session=self.session, version_check_mode="none",
                        user_agent=USER_AGENT)

    # -- polling -------------------------------------------------------------------------

    def fetch_activity(self, account: LinkedAccount, cursor: dict | None,
                       now: datetime) -> FetchResult:
        host, account_id = split_account(account.external_user_id)
        client = self.client(host, account.access_token)
        started = time.monotonic()

        def guarded(poll: Callable[[dict], StreamOutcome]) -> Callable[[dict], StreamOutcome]:
            return lambda st: self._guarded(host, st, now, lambda: poll(st))

        pollers: dict[str, Callable[[dict], StreamOutcome]] = {}
        if "favourites" in self.triggers:
            pollers["favourites"] = guarded(
                lambda st: self._poll_favourites(client, account, st, now, started))
        pollers["statuses"] = guarded(
            lambda st: self._poll_statuses(client, account, account_id, st, now, started))
        return run_streams(self.name, account, cursor, now, pollers)

    def _poll_favourites(self, client: Mastodon, account: LinkedAccount, st: dict,
                         now: datetime, started: float) -> StreamOutcome:
        out = StreamOutcome()
        if not st["initialized"]:
            page = self._call(out, st, client.favourites, limit=1)
            st["min_id"] = _prev_min_id(client, page) or "0"
            st["initialized"] = True
            out.posts_read += len(page)
            return out
        statuses: list[Any] = []  # oldest first: pages come oldest first, newest-first each
        page = self._call(out, st, client.favourites, min_id=st.get("min_id") or "0",
                          limit=PAGE)
        for number in range(self.max_pages):
            statuses.extend(reversed(check_statuses(list(page))))
            st["min_id"] = _prev_min_id(client, page) or st.get("min_id")
            if len(page) < PAGE or number + 1 == self.max_pages or self._late(started):
                break
            page = self._call(out, st, client.fetch_previous, page)
            if not page:
                break
        out.posts_read = len(statuses)
        viewer = self._viewer(account, statuses, now)
        found = (favourite_activity(s, viewer, now) for s in statuses)
        out.activities = [a for a in found if a]
        return out

    def _poll_statuses(self, client: Mastodon, account: LinkedAccount, account_id: str,
                       st: dict, now: datetime, started: float) -> StreamOutcome:
        out = StreamOutcome()
        if not st["initialized"]:
            page = self._call(out, st, client.account_statuses, account_id, limit=1)
            st["min_id"] = str(check_statuses(list(page))[0]["id"]) if page else "0"
            st["initialized"] = True
            out.posts_read += len(page)
            return out
        statuses: list[Any] = []
        page = self._call(out, st, client.account_statuses, account_id,
                          min_id=st.get("min_id") or "0", limit=PAGE)
        for number in range(self.max_pages):
            statuses.extend(check_statuses(list(page)))
            if len(page) < PAGE or number + 1 == self.max_pages or self._late(started):
                break
            page = self._call(out, st, client.fetch_previous, page)
            if not page:
                break
        out.posts_read = len(statuses)
        viewer = self._viewer(account, statuses, now)
        originals: dict[str, Mapping[str, Any]] = {}
        for status_id in explicit_originals(statuses, viewer):
            try:
                originals[status_id] = self._call(out, st, client.status, status_id)
            except MastodonNotFoundError:
                continue  # deleted, or not visible to the person: nothing to flattr
            out.posts_read += 1
        if originals:
            viewer = self._viewer(account, list(originals.values()), now, viewer)
        # Oldest first; the watermark moves past everything read, flattred or not.
        statuses.sort(key=lambda s: int(s["id"]))
        if statuses:
            st["min_id"] = str(statuses[-1]["id"])
        found = (own_status_activity(s, viewer, now, self.triggers, originals)
                 for s in statuses)
        out.activities = [a for a in found if a]
        return out

    def _late(self, started: float) -> bool:
        """Past this poll's time budget: stop paging, keep what was read (the watermark
        is where reading stopped), and go on next time."""
        return time.monotonic() - started > self.poll_budget

    def _call(self, out: StreamOutcome, st: dict, call: Callable[..., Any], *args: Any,
              **params: Any) -> Any:
        out.requests += 1
        self._last.headers = None
        try:
            return call(*args, **params)
        finally:
            note_rate_limit(st, getattr(self._last, "headers", None))

    # -- remote authors ---------------------------------------------------------------------

    def _viewer(self, account: LinkedAccount, statuses: list[Any], now: datetime,
                known: Viewer | None = None) -> Viewer:
        viewer = known or Viewer.of(account.external_user_id, service=self.service,
                                    service_acct=self.service_acct)
        wanted = sorted(remote_accts(statuses, viewer))
        homes = dict(viewer.homes)
        for acct in wanted[:LOOKUPS_PER_POLL]:
            home_id = self._home_id(acct, now)
            if home_id:
                homes[acct] = home_id
        return Viewer(viewer.instance, viewer.account_id, viewer.service, viewer.service_acct,
                      homes)

    def _home_id(self, acct: str, now: datetime) -> str | None:
        """A remote author's id on their home instance (GET /api/v1/accounts/lookup there,
        public), remembered; None when the home instance will not say."""
        with self._homes_lock:
            if acct in self._homes:
                self._homes.move_to_end(acct)
                return self._homes[acct]
        user, _, host = acct.partition("@")
        if self.health.paused_until(host, now):
            return None
        try:
            found = self.client(host, None).account_lookup(user)
            home_id = str(found["id"])
        except MastodonNetworkError:
            self.health.failed(host, now)
            return None
        except (MastodonError, KeyError, TypeError, ValueError):
            return None
        if not home_id.isdigit():
            return None
        with self._homes_lock:
            self._homes[acct] = home_id
            while len(self._homes) > HOMES_KEPT:
                self._homes.popitem(last=False)
        return home_id

    def handle_of(self, account: str) -> str | None:
        """`user@host` of `<host>:<id>` (GET /api/v1/accounts/:id there, public)."""
        host, account_id = split_account(account)
        try:
            found = self.client(host, None).account(account_id)
            return f"{found['username']}@{host}"
        except (MastodonError, KeyError, TypeError):
            return None

    # -- failures -------------------------------------------------------------------------

    def _guarded(self, host: str, st: dict, now: datetime,
                 poll: Callable[[], StreamOutcome]) -> StreamOutcome:
        """Run one stream; turn every network or user-caused failure into an outcome."""
        paused = self.health.paused_until(host, now)
        if paused is not None:
            return StreamOutcome(status="retry", retry_at=paused,
                                 error=f"mastodon {host} unreachable: paused")
        try:
            outcome = poll()
        except MastodonRatelimitError:
            reset = _reset_at(st)
            return StreamOutcome(status="retry",
                                 retry_at=reset if reset and reset > now
                                 else now + RATE_LIMIT_FALLBACK,
                                 error=f"mastodon {host} rate limited")
        except MastodonUnauthorizedError as exc:
            return StreamOutcome(status="needs_reconnect",
                                 error=f"mastodon {host} token rejected: {_short(exc)}")
        except MastodonServerError as exc:
            return StreamOutcome(status="retry", error=f"mastodon {host} server error: "
                                                       f"{_short(exc)}")
        except MastodonNetworkError as exc:
            until = self.health.failed(host, now)
            return StreamOutcome(status="retry", retry_at=until,
                                 error=f"mastodon {host} unreachable: {_cause(exc)}")
        except MastodonAPIError as exc:
            if _status_of(exc) == 403:  # suspended account, or a scope taken away
                return StreamOutcome(status="needs_reconnect",
                                     error=f"mastodon {host} forbidden: {_short(exc)}")
            logs.event("mastodon.poll_refused", level=logging.WARNING, host=host,
                       error=_short(exc))
            return StreamOutcome(status="error", error=f"mastodon {host}: {_short(exc)}")
        except MalformedResponse as exc:
            return StreamOutcome(status="error", error=f"mastodon {host} malformed: {exc}")
        except Exception as exc:  # a bug or a shape we never met: keep the worker alive
            logs.event("mastodon.poll_crashed", level=logging.ERROR, exc_info=True, host=host)
            return StreamOutcome(status="error",
                                 error=f"mastodon unexpected {type(exc).__name__}: {exc}")
        self.health.answered(host)
        return outcome

    # -- notifications ---------------------------------------------------------------------

    def post(self, message: OutgoingMessage, sender: LinkedAccount) -> DeliveryResult:
        """A direct message from the service's account (`mastodon_dm`: recipient is the
        creator's `@user@host`), or a public post from the person's own account
        (`mastodon_post`: announce my flattrs)."""
        host, _ = split_account(sender.external_user_id)
        client = self.client(host, sender.access_token)
        if message.channel == "mastodon_dm":
            text, visibility = f"@{message.recipient.lstrip('@')} {message.text}", "direct"
        elif message.channel == "mastodon_post":
            text, visibility = message.text, "public"
        else:
            return DeliveryResult(ok=False, error=f"mastodon cannot send on {message.channel!r}")
        try:
            posted = client.status_post(text[:500], visibility=visibility,
                                        in_reply_to_id=message.in_reply_to)
        except (MastodonRatelimitError, MastodonServerError, MastodonNetworkError) as exc:
            return DeliveryResult(ok=False, retryable=True, error=f"mastodon: {_short(exc)}")
        except MastodonError as exc:
            return DeliveryResult(ok=False, error=f"mastodon refused: {_short(exc)}")
        return DeliveryResult(ok=True, external_id=str(posted.get("id", "")) or None)


def note_rate_limit(stream: dict, headers: Mapping[str, str] | None) -> None:
    """Mastodon's `X-RateLimit-Remaining` and `-Reset` (an ISO time) -> the stream's
    pacing notes (bots.polling reads `rl_remaining`, `rl_reset` in epoch seconds)."""
    if not headers:
        return
    remaining, reset = headers.get("X-RateLimit-Remaining"), headers.get("X-RateLimit-Reset")
    try:
        stream["rl_remaining"] = int(remaining) if remaining is not None else None
        moment = datetime.fromisoformat(reset.replace("Z", "+00:00")) if reset else None
        stream["rl_reset"] = int(moment.timestamp()) if moment else None
    except ValueError:
        stream["rl_remaining"] = stream["rl_reset"] = None


def _reset_at(stream: dict) -> datetime | None:
    reset = stream.get("rl_reset")
    return datetime.fromtimestamp(reset, UTC) + timedelta(seconds=1) if reset else None


def _prev_min_id(client: Mastodon, page: Any) -> str | None:
    """The `min_id` of a page's `prev` link (Mastodon.py keeps it on the list)."""
    info = client.get_pagination_info(page, "previous") if page else None
    value = info.get("min_id") if info else None
    return str(value) if value is not None else None


def _status_of(exc: MastodonAPIError) -> int | None:
    args = exc.args
    return args[1] if len(args) > 1 and isinstance(args[1], int) else None


def _cause(exc: Exception) -> str:
    cause = exc.__cause__ or exc.__context__
    return type(cause).__name__ if cause is not None else "network error"


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]
