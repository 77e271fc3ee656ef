"""X (Twitter) API v2 through tweepy.Client with a person's OAuth 2.0 user token.

Streams: `likes` (GET /2/users/:id/liked_tweets, no since_id: page from the newest like to
the first post already seen) and `timeline` (GET /2/users/:id/tweets with since_id: reposts,
quotes and explicit #flattr requests). The first poll of each stream only records a
watermark. The timeline is read only where it must be: where the `reposts` trigger is on,
or where the deployment finds explicit requests by reading timelines (`find_requests`
"timelines"; otherwise bots/x/search.py finds them for everyone at once, at a fraction of
the posts read). tweepy returns the raw `requests.Response` (return_type) so that we can read the
rate-limit headers, and is never asked to wait on rate limits.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import tweepy

from bots.base import (
    DeliveryResult,
    FetchResult,
    LinkedAccount,
    MalformedResponse,
    OutgoingMessage,
    StreamOutcome,
)
from bots.pacing import MAX_IDLE_DELAY, backoff_delay, recent_page_size
from bots.polling import expected_new, note_rate_limit, run_streams
from bots.transport import DEFAULT_TIMEOUT, new_session
from bots.x import NETWORK
from bots.x.parse import (
    EXPANSIONS,
    TWEET_FIELDS,
    USER_FIELDS,
    check_page,
    included_usernames,
    like_activity,
    next_token,
    own_post_activity,
)
from core import logs

SEEN_LIKES_KEPT = 20  # several, so that one unliked post does not lose the watermark
LIKES_INIT_PAGE = 10
USAGE_CAPPED_PAUSE = timedelta(hours=24)
RATE_LIMIT_FALLBACK = timedelta(minutes=15)


class XNetwork:
    name = NETWORK

    def __init__(
        self,
        *,
        triggers: frozenset[str] = frozenset({"explicit"}),
        service_handle: str | None = None,
        service_user_id: str | None = None,
        api_base_url: str | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        max_page_size: int = 100,
        max_like_pages: int = 5,
        max_timeline_pages: int = 32,
        session: requests.Session | None = None,
        find_requests: str = "timelines",
    ) -> None:
        # As the registry worked them out (bots/x/spec.py): checked, always-on included.
        self.triggers = frozenset(triggers)
        # The service's own account is never flattred: known by its id, or (id unset) by
        # its handle through the page's `includes.users`.
        self.service_handle = service_handle
        self.service_user_id = service_user_id or None
        self.max_page_size = max(5, min(100, max_page_size))
        self.max_like_pages = max_like_pages
        self.max_timeline_pages = max_timeline_pages
        # "timelines": this adapter finds explicit requests in each timeline (on its own it
        # must); "search": bots/x/search.py does, and a timeline is read only for reposts.
        self.find_requests = find_requests
        # One pooled session for every person's client: keep-alive across polls.
        self.session = session or new_session(api_base_url, timeout, pool_maxsize=32)

    def client(self, access_token: str) -> tweepy.Client:
        client = tweepy.Client(bearer_token=access_token, return_type=requests.Response)
        client.session = self.session
        return client

    # -- polling -------------------------------------------------------------------------

    def fetch_activity(
        self, account: LinkedAccount, cursor: dict | None, now: datetime
    ) -> FetchResult:
        client = self.client(account.access_token)
        pollers = {}
        if "likes" in self.triggers:
            pollers["likes"] = lambda st: self._guarded(
                st, now, account, lambda: self._poll_likes(client, account, st, now)
            )
        if self.reads_timeline:
            pollers["timeline"] = lambda st: self._guarded(
                st, now, account, lambda: self._poll_timeline(client, account, st, now)
            )
        if not pollers:  # nothing of this account's own to read: the search reads for it
            return FetchResult([], cursor or {}, now + MAX_IDLE_DELAY, "ok")
        return run_streams(self.name, account, cursor, now, pollers)

    @property
    def reads_timeline(self) -> bool:
        return "reposts" in self.triggers or self.find_requests == "timelines"

    def _poll_likes(
        self, client: tweepy.Client, account: LinkedAccount, st: dict, now: datetime
    ) -> StreamOutcome:
        out = StreamOutcome()
        seen = set(st.get("seen", []))
        initializing = not st["initialized"]
        size = (
            LIKES_INIT_PAGE
            if initializing
            else recent_page_size(expected_new(st, now), 5, self.max_page_size)
        )
        fresh: list[dict] = []
        usernames: dict[str, str] = {}
        token: str | None = None
        for page_number in range(self.max_like_pages):
            body = self._get(
                out,
                st,
                client.get_liked_tweets,
                account.external_user_id,
                max_results=size,
                pagination_token=token,
                tweet_fields=TWEET_FIELDS,
                expansions=["author_id"],
                user_fields=USER_FIELDS,
                user_auth=False,
            )
            posts, _ = check_page(body)
            usernames.update(included_usernames(body))
            out.posts_read += len(posts)
            if initializing:
                fresh = posts
                break
            hit_seen = False
            for post in posts:
                if post["id"] in seen:
                    hit_seen = True
                    break
                fresh.append(post)
            token = next_token(body)
            if hit_seen or not token:
                break
            # Everything was new: we guessed low. Read on in small, then doubling pages, never
            # a blind 100: each post read is billed, and the seen one is probably near.
            size = min(self.max_page_size, 5 * 2**page_number)
        else:
            logs.event("x.likes_watermark_reset", level=logging.WARNING,
                       account=account.external_user_id, pages=self.max_like_pages)
        st["seen"] = ([p["id"] for p in fresh] + list(st.get("seen", [])))[:SEEN_LIKES_KEPT]
        if initializing:
            st["initialized"] = True
            return out
        found = (
            like_activity(
                p,
                account.external_user_id,
                now,
                self.service_user_id,
                service_handle=self.service_handle,
                usernames=usernames,
            )
            for p in fresh
        )
        out.activities = [a for a in found if a]
        return out

    def _poll_timeline(
        self, client: tweepy.Client, account: LinkedAccount, st: dict, now: datetime
    ) -> StreamOutcome:
        out = StreamOutcome()
        initializing = not st["initialized"]
        since_id = st.get("since_id")
        posts: list[dict] = []
        included: dict[str, dict] = {}
        usernames: dict[str, str] = {}
        token: str | None = None
        for _ in range(1 if initializing else self.max_timeline_pages):
            body = self._get(
                out,
                st,
                client.get_users_tweets,
                account.external_user_id,
                since_id=since_id,
                max_results=5 if initializing else self.max_page_size,
                pagination_token=token,
                tweet_fields=TWEET_FIELDS,
                expansions=EXPANSIONS,
                user_fields=USER_FIELDS,
                user_auth=False,
            )
            page, page_included = check_page(body)
            out.posts_read += len(page)
            posts.extend(page)
            included.update(page_included)
            usernames.update(included_usernames(body))
            token = next_token(body)
            if not token:
                break
        if posts:
            st["since_id"] = str(max(int(p["id"]) for p in posts))
        if initializing:
            st["initialized"] = True
            return out
        found = (
            own_post_activity(
                p,
                included,
                account.external_user_id,
                self.triggers,
                self.service_handle,
                now,
                service_id=self.service_user_id,
                usernames=usernames,
            )
            for p in reversed(posts)
        )
        out.activities = [a for a in found if a]
        return out

    def _get(self, out: StreamOutcome, st: dict, call: Any, *args: Any, **params: Any) -> Any:
        params = {k: v for k, v in params.items() if v is not None or k == "user_auth"}
        out.requests += 1
        response = call(*args, **params)
        note_rate_limit(st, response.headers)
        try:
            return response.json()
        except ValueError as exc:
            raise MalformedResponse(f"not JSON ({len(response.content)} bytes): {exc}") from exc

    def _guarded(self, st: dict, now: datetime, account: LinkedAccount, poll: Any) -> StreamOutcome:
        """Run one stream; turn every network or user-caused failure into an outcome."""
        try:
            return poll()
        except tweepy.TooManyRequests as exc:
            return StreamOutcome(
                status="retry",
                retry_at=_rate_limit_reset(exc, now),
                error=f"x rate limited: {_short(exc)}",
            )
        except tweepy.Unauthorized as exc:
            return StreamOutcome(status="needs_reconnect", error=f"x token rejected: {_short(exc)}")
        except tweepy.Forbidden as exc:
            return StreamOutcome(
                status="needs_reconnect",
                error=f"x access forbidden (scope or account): {_short(exc)}",
            )
        except tweepy.TwitterServerError as exc:
            return StreamOutcome(status="retry", error=f"x server error: {_short(exc)}")
        except tweepy.HTTPException as exc:
            if exc.response.status_code == 402:  # monthly usage cap: waiting 15 min won't do
                return StreamOutcome(
                    status="retry",
                    retry_at=now + USAGE_CAPPED_PAUSE,
                    error=f"x usage capped: {_short(exc)}",
                )
            logs.event("x.request_failed", level=logging.WARNING,
                       account=account.external_user_id, status=exc.response.status_code,
                       error=str(exc))
            return StreamOutcome(status="error", error=f"x request failed: {_short(exc)}")
        except requests.RequestException as exc:
            return StreamOutcome(status="retry", error=f"x network error: {type(exc).__name__}")
        except MalformedResponse as exc:
            logs.event("x.malformed_response", level=logging.WARNING,
                       account=account.external_user_id, error=str(exc))
            return StreamOutcome(status="error", error=f"x malformed response: {exc}")
        except Exception as exc:  # a bug or a body shape we never met: keep the worker alive
            logs.event("x.poll_crashed", level=logging.ERROR, exc_info=True,
                       account=account.external_user_id)
            return StreamOutcome(status="error", error=f"x unexpected {type(exc).__name__}: {exc}")

    # -- notifications -------------------------------------------------------------------

    def post(self, message: OutgoingMessage, sender: LinkedAccount) -> DeliveryResult:
        """A reply/mention post, or a DM; the caller checked that the recipient opted in."""
        client = self.client(sender.access_token)
        try:
            if message.channel in ("x_reply", "x_mention"):
                response = client.create_tweet(
                    text=message.text, in_reply_to_tweet_id=message.in_reply_to, user_auth=False
                )
                return DeliveryResult(ok=True, external_id=response.json()["data"]["id"])
            if message.channel == "x_dm":
                response = client.create_direct_message(
                    participant_id=message.recipient, text=message.text, user_auth=False
                )
                return DeliveryResult(ok=True, external_id=response.json()["data"]["dm_event_id"])
            return DeliveryResult(ok=False, error=f"x cannot send on channel {message.channel!r}")
        except (
            tweepy.TooManyRequests,
            tweepy.TwitterServerError,
            requests.RequestException,
        ) as exc:
            return DeliveryResult(ok=False, retryable=True, error=f"x: {_short(exc)}")
        except tweepy.HTTPException as exc:
            return DeliveryResult(ok=False, error=f"x refused: {_short(exc)}")
        except (ValueError, KeyError, TypeError) as exc:
            # Sent, probably, but the answer is unreadable: do not send it twice.
            return DeliveryResult(ok=True, error=f"x answer unreadable: {exc}")


def _rate_limit_reset(exc: tweepy.TooManyRequests, now: datetime) -> datetime:
    if "usage-capped" in str(getattr(exc.response, "text", "")):
        return now + USAGE_CAPPED_PAUSE
    reset = exc.reset_time
    if reset is None:
        return now + RATE_LIMIT_FALLBACK
    return max(datetime.fromtimestamp(int(reset), UTC), now + timedelta(seconds=1))


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]


__all__ = ["XNetwork", "backoff_delay"]
