"""Facebook Graph API through facebook-sdk 3.1.0's GraphAPI with a person's user token.

Streams: `likes` (/me/likes: Pages liked since the watermark time, newest first) and
`posts` (/me/posts with `since` time paging: shared outside links). facebook-sdk ignores
HTTP statuses and drops headers, so a response hook on our session remembers the last
response (status, usage headers) per thread, and our own paging loop over
get_connections replaces get_all_connections (which mangles arguments).
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import facebook
import requests

from bots.base import (
    DeliveryResult,
    FetchResult,
    LinkedAccount,
    MalformedResponse,
    OutgoingMessage,
    StreamOutcome,
)
from bots.facebook import NETWORK
from bots.facebook.parse import (
    LIKE_FIELDS,
    POST_FIELDS,
    GraphError,
    check_list,
    classify,
    page_like_activity,
    parse_time,
    share_activity,
)
from bots.pacing import MAX_IDLE_DELAY, recent_page_size
from bots.polling import expected_new, iso, run_streams
from bots.transport import DEFAULT_TIMEOUT, new_session
from core import logs

THROTTLE_PAUSE = timedelta(hours=1)  # Graph rate-limit windows are a rolling hour
USAGE_SLOW_DOWN_PCT = 90
SEEN_KEPT = 50
# Cursor key of a stream's run of failures with a bounded number of retries (codes 1 and 2,
# `is_transient: false`): {"cause": ..., "count": n}. A successful poll of the stream ends it.
BOUNDED = "bounded_failures"


class GraphFailure(Exception):
    def __init__(self, error: GraphError) -> None:
        super().__init__(error.message)
        self.error = error
        self.status = error.status


class FacebookNetwork:
    name = NETWORK

    def __init__(
        self,
        *,
        graph_version: str = "v22.0",
        api_base_url: str | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        page_size: int = 100,
        max_pages: int = 20,
        session: requests.Session | None = None,
    ) -> None:
        self.graph_version = graph_version if graph_version.startswith("v") else "v" + graph_version
        self.page_size = page_size
        self.max_pages = max_pages
        self.timeout = timeout
        self.session = session or new_session(api_base_url, timeout, pool_maxsize=32)
        self._last = threading.local()
        self.session.hooks["response"].append(self._remember_response)

    def graph(self, access_token: str) -> facebook.GraphAPI:
        # facebook-sdk refuses current versions in its constructor: set the attribute after.
        graph = facebook.GraphAPI(access_token=access_token, session=self.session)
        graph.version = self.graph_version
        return graph

    def _remember_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._last.response = response

    # -- polling -------------------------------------------------------------------------

    def fetch_activity(
        self, account: LinkedAccount, cursor: dict | None, now: datetime
    ) -> FetchResult:
        graph = self.graph(account.access_token)
        pollers = {
            "likes": lambda st: self._guarded(
                account, st, now, lambda: self._poll_likes(graph, account, st, now)
            ),
            "posts": lambda st: self._guarded(
                account, st, now, lambda: self._poll_posts(graph, account, st, now)
            ),
        }
        return run_streams(self.name, account, cursor, now, pollers)

    def _poll_likes(
        self, graph: facebook.GraphAPI, account: LinkedAccount, st: dict, now: datetime
    ) -> StreamOutcome:
        out = StreamOutcome()
        if not st["initialized"]:
            # Connecting flattrs nothing older: the watermark is the connection time.
            st.update(initialized=True, watermark=iso(now), seen=[])
            return out
        watermark = parse_time(st.get("watermark")) or now
        seen = set(st.get("seen", []))
        size = recent_page_size(expected_new(st, now), 3, self.page_size)
        args: dict[str, Any] = {"fields": LIKE_FIELDS, "limit": size}
        fresh: list[dict] = []
        for _ in range(self.max_pages):
            items, paging = check_list(
                self._call(out, st, now, graph.get_connections, "me", "likes", **args)
            )
            out.posts_read += len(items)
            stop = False
            for item in items:
                liked_at = parse_time(item.get("created_time"))
                if item["id"] in seen or (liked_at is not None and liked_at < watermark):
                    stop = True
                    break
                fresh.append(item)
            args = _next_args(paging)
            if stop or not args:
                break
            args["limit"] = min(self.page_size, 2 * int(args.get("limit") or size))
        times = [t for t in (parse_time(i.get("created_time")) for i in fresh) if t]
        if times:
            st["watermark"] = iso(max(max(times), watermark))
        st["seen"] = ([i["id"] for i in fresh] + list(st.get("seen", [])))[:SEEN_KEPT]
        out.activities = [page_like_activity(i, account.external_user_id, now) for i in fresh]
        return out

    def _poll_posts(
        self, graph: facebook.GraphAPI, account: LinkedAccount, st: dict, now: datetime
    ) -> StreamOutcome:
        out = StreamOutcome()
        if not st["initialized"]:
            st.update(initialized=True, since=int(now.timestamp()) - 1, seen=[])
            return out
        since = int(st["since"])
        seen = set(st.get("seen", []))
        size = recent_page_size(expected_new(st, now), 3, self.page_size)
        args: dict[str, Any] = {"fields": POST_FIELDS, "since": since, "limit": size}
        items: list[dict] = []
        for _ in range(self.max_pages):
            page, paging = check_list(
                self._call(out, st, now, graph.get_connections, "me", "posts", **args)
            )
            out.posts_read += len(page)
            items.extend(page)
            args = _next_args(paging)
            if not page or not args:
                break
        fresh = [i for i in items if i["id"] not in seen]
        stamps = [
            (int(t.timestamp()), i["id"]) for i in items if (t := parse_time(i.get("created_time")))
        ]
        if stamps:
            # `since` one second back, and the ids from then on remembered: correct whether
            # the Graph treats `since` as inclusive or not.
            newest = max(s for s, _ in stamps)
            st["since"] = max(since, newest - 1)
            recent = [i for s, i in stamps if s >= st["since"]]
            st["seen"] = list(dict.fromkeys(recent + list(st.get("seen", []))))[:SEEN_KEPT]
        found = (share_activity(i, account.external_user_id, now) for i in reversed(fresh))
        out.activities = [a for a in found if a]
        return out

    def _call(
        self, out: StreamOutcome, st: dict, now: datetime, method: Any, *args: Any, **kwargs: Any
    ) -> Any:
        """One Graph request with facebook-sdk's quirks turned into GraphFailure."""
        self._last.response = None
        out.requests += 1
        try:
            result = method(*args, **kwargs)
        except facebook.GraphAPIError as exc:
            if isinstance(exc.result, dict) and "error" in exc.result:
                # facebook-sdk drops the status and headers: the response hook kept them.
                response = getattr(self._last, "response", None)
                found = classify(
                    exc.result,
                    http_status=response.status_code if response is not None else None,
                    www_authenticate=(
                        response.headers.get("WWW-Authenticate") if response is not None else None
                    ),
                )
                raise GraphFailure(found) from exc
            raise self._unreadable(str(exc)) from exc
        except (KeyError, ValueError) as exc:  # no Content-Type header; a non-JSON body
            raise self._unreadable(f"{type(exc).__name__}: {exc}") from exc
        self._note_usage(st, now)
        return result

    def _unreadable(self, detail: str) -> Exception:
        response = getattr(self._last, "response", None)
        status = response.status_code if response is not None else None
        if status is not None and status >= 500:
            return GraphFailure(
                GraphError("retry", f"facebook server error {status}", retry_limit=None)
            )
        return MalformedResponse(f"unreadable Graph response (HTTP {status}): {detail[:200]}")

    def _note_usage(self, st: dict, now: datetime) -> None:
        """Graph reports usage in percent (x-app-usage and friends): near 100, slow down
        until the rolling hour has passed."""
        response = getattr(self._last, "response", None)
        if response is None:
            return
        highest = 0
        for header in ("x-app-usage", "x-ad-account-usage", "x-business-use-case-usage"):
            highest = max(highest, _usage_percent(response.headers.get(header)))
        if highest >= USAGE_SLOW_DOWN_PCT:
            st["rl_remaining"], st["rl_reset"] = 0, int((now + THROTTLE_PAUSE).timestamp())
        else:
            st["rl_remaining"] = st["rl_reset"] = None

    def _guarded(
        self, account: LinkedAccount, st: dict, now: datetime, poll: Any
    ) -> StreamOutcome:
        try:
            outcome: StreamOutcome = poll()
        except GraphFailure as exc:
            if exc.status == "throttled":
                return StreamOutcome(status="retry", retry_at=now + THROTTLE_PAUSE, error=str(exc))
            if exc.error.retry_limit is not None and exc.status in ("retry", "error"):
                return self._bounded(account, st, now, exc.error)
            return StreamOutcome(status=exc.status, error=str(exc))
        except requests.RequestException as exc:
            return StreamOutcome(
                status="retry", error=f"facebook network error: {type(exc).__name__}"
            )
        except MalformedResponse as exc:
            logs.event("facebook.malformed_response", level=logging.WARNING,
                       account=account.external_user_id, error=str(exc))
            return StreamOutcome(status="error", error=f"facebook malformed response: {exc}")
        except Exception as exc:  # keep the worker alive; the account is retried later
            logs.event("facebook.poll_crashed", level=logging.ERROR, exc_info=True,
                       account=account.external_user_id)
            return StreamOutcome(
                status="error", error=f"facebook unexpected {type(exc).__name__}: {exc}"
            )
        st.pop(BOUNDED, None)  # a success ends any run of failures
        return outcome

    def _bounded(
        self, account: LinkedAccount, st: dict, now: datetime, error: GraphError
    ) -> StreamOutcome:
        """A failure the Graph may not recover from: retried at most `retry_limit` times in
        a row (0: never), counted per stream in the cursor. Then an error that says why,
        and that cause is not retried again: the stream waits the idle pace
        (MAX_IDLE_DELAY), not the backoff, until a poll of it succeeds."""
        cause = f"{error.code}/{error.subcode}" if error.subcode else str(error.code)
        prior = st.get(BOUNDED)
        same = isinstance(prior, dict) and prior.get("cause") == cause
        count = int(prior.get("count") or 0) + 1 if same and isinstance(prior, dict) else 1
        keep = {BOUNDED: {"cause": cause, "count": count}}
        limit = error.retry_limit or 0
        if count <= limit:
            return StreamOutcome(
                status="retry", error=f"{error.message} [failure {count} in a row]", keep=keep
            )
        if limit:
            why = f"it failed {count} times in a row"
        elif error.transient is False:
            why = "Graph says it is not transient"
        else:
            why = "not an error that passes by itself"
        logs.event("facebook.not_retried", level=logging.WARNING,
                   account=account.external_user_id, why=why, error=error.message)
        return StreamOutcome(
            status="error",
            retry_at=now + MAX_IDLE_DELAY,
            error=f"{error.message}; not retried: {why}; next try in "
            f"{MAX_IDLE_DELAY.total_seconds() / 3600:.0f} h unless a webhook says it changed",
            keep=keep,
        )

    # -- notifications -------------------------------------------------------------------

    def post(self, message: OutgoingMessage, sender: LinkedAccount) -> DeliveryResult:
        """A post on the service's own Page: `recipient` is the Page id, `sender` carries a
        Page access token."""
        if message.channel != "facebook_page_post":
            return DeliveryResult(ok=False, error=f"facebook cannot send on {message.channel!r}")
        graph = self.graph(sender.access_token)
        out = StreamOutcome()
        try:
            result = self._call(
                out,
                {},
                datetime.now().astimezone(),
                graph.put_object,
                message.recipient,
                "feed",
                message=message.text,
            )
        except GraphFailure as exc:
            return DeliveryResult(
                ok=False, retryable=exc.status in ("retry", "throttled"), error=str(exc)
            )
        except requests.RequestException as exc:
            return DeliveryResult(ok=False, retryable=True, error=f"facebook: {type(exc).__name__}")
        except MalformedResponse as exc:
            return DeliveryResult(ok=True, error=f"facebook answer unreadable: {exc}")
        return DeliveryResult(
            ok=True, external_id=str(result.get("id")) if isinstance(result, dict) else None
        )


def _next_args(paging: dict) -> dict[str, Any]:
    """The query of `paging.next`, minus the token (GraphAPI adds its own; a token in a URL
    is never forwarded). We keep our own path: the next URL's host is never followed."""
    url = paging.get("next")
    if not isinstance(url, str) or not url:
        return {}
    return {k: v for k, v in parse_qsl(urlsplit(url).query) if k != "access_token"}


def _usage_percent(header: str | None) -> int:
    if not header:
        return 0
    try:
        value = json.loads(header)
    except ValueError:
        return 0
    values = value.values() if isinstance(value, dict) else []
    numbers = [v for v in values if isinstance(v, int | float)]
    # x-business-use-case-usage nests lists of dicts per business id
    if isinstance(value, dict):
        for entries in value.values():
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict):
                    numbers += [v for v in entry.values() if isinstance(v, int | float)]
    return int(max(numbers, default=0))
