"""The XRPC calls, through the `atproto` SDK (0.0.73): `Client(base_url=...)` points it at
Bluesky (the AppView for getPosts and resolveHandle, the PDS for listRecords and
createSession) or at the sandbox. Bodies are read raw (`invoke_query`) and parsed by
bots.bluesky.parse, so the SDK's models never reach the core.

listRecords goes to the PDS the DID's document names (bots/bluesky/did.py) when a
`directory` is given, else to `pds_url`; every call takes a slot of the process's
`budget` first (bots/bluesky/budget.py), and a 429 pauses the budget until its reset.

Errors become three plain kinds: RateLimited (429: try again at `retry_at`), Unavailable
(network, timeout, 5xx: retry with backoff) and the SDK's own BadRequestError /
UnauthorizedError for what retrying cannot mend.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from atproto import Client, models
from atproto_client.exceptions import (
    AtProtocolError,
    BadRequestError,
    NetworkError,
    RateLimitExceededError,
    RequestException,
    UnauthorizedError,
)
from atproto_client.request import Request

from bots.base import MalformedResponse

if TYPE_CHECKING:
    from bots.bluesky.budget import RequestBudget
    from bots.bluesky.did import PdsDirectory

GET_POSTS_MAX = 25  # app.bsky.feed.getPosts takes at most 25 URIs


class RateLimited(Exception):
    """A 429. `paused`: the process's budget waits for it (the AppView's or the configured
    PDS's); else only this host asked, and the caller waits (at most PDS_PAUSE_MAX_S)."""

    def __init__(self, delay_s: float, paused: bool = False) -> None:
        super().__init__(f"rate limited for {delay_s:.0f} s")
        self.delay_s, self.paused = delay_s, paused


PDS_PAUSE_MAX_S = 30.0  # a user's own PDS cannot make a backfill wait longer a try


class Unavailable(Exception):
    """A network failure, a timeout or a 5xx: retry later."""


class SignInRefused(Exception):
    """Wrong handle or app password (or the account is taken down)."""


class Xrpc:
    def __init__(self, appview_url: str, pds_url: str, *, timeout: float = 10.0,
                 directory: PdsDirectory | None = None,
                 budget: RequestBudget | None = None) -> None:
        self.appview = Client(base_url=appview_url, request=Request(timeout=timeout))
        self.pds = Client(base_url=pds_url, request=Request(timeout=timeout))
        self.timeout, self.directory, self.budget = timeout, directory, budget
        self.requests = 0
        self._pds_clients: dict[str, Client] = {}

    def close(self) -> None:
        for client in (self.appview, self.pds, *self._pds_clients.values()):
            client.request.close()
        if self.directory is not None:
            self.directory.close()

    def pds_for(self, did: str) -> Client:
        """The client of the PDS holding the DID's repository (DidUnresolved, Unavailable)."""
        if self.directory is None:
            return self.pds
        url = self.directory.pds_of(did)
        client = self._pds_clients.get(url)
        if client is None:
            client = self._pds_clients[url] = Client(base_url=url,
                                                     request=Request(timeout=self.timeout))
        return client

    def resolve_handle(self, handle: str) -> str:
        result = self._call(lambda: self.appview.com.atproto.identity.resolve_handle(
            models.ComAtprotoIdentityResolveHandle.Params(handle=handle)))
        return str(result.did)

    def sign_in(self, handle: str, app_password: str, pds_url: str | None = None
                ) -> tuple[str, str]:
        """createSession with an app password: (did, handle) when it is theirs. The session
        is dropped at once: nothing secret is kept."""
        client = Client(base_url=pds_url, request=Request(timeout=self.timeout)) \
            if pds_url else Client(base_url=self.pds._base_url.removesuffix("/xrpc"),
                                   request=Request(timeout=self.timeout))
        try:
            session = self._call(lambda: client._get_and_set_session(handle, app_password))
        except (UnauthorizedError, BadRequestError) as exc:
            raise SignInRefused(_detail(exc)) from None
        finally:
            client.request.close()
        return str(session.did), str(session.handle)

    def list_records(self, did: str, collection: str, cursor: str | None = None,
                     limit: int = 100) -> dict[str, Any]:
        """One page of a repository's records, newest first (no authentication)."""
        params = models.ComAtprotoRepoListRecords.Params(repo=did, collection=collection,
                                                         cursor=cursor, limit=limit)
        client = self.pds_for(did)
        try:
            return self._raw(lambda: client.invoke_query("com.atproto.repo.listRecords",
                                                         params=params),
                             shared=client is self.pds)
        except BadRequestError:
            if self.directory is not None:  # moved to another PDS? resolve it again next time
                self.directory.forget(did)
            raise

    def get_posts(self, uris: Sequence[str]) -> Iterator[dict[str, Any]]:
        """getPosts answers, GET_POSTS_MAX URIs at a time."""
        unique = list(dict.fromkeys(uris))
        for start in range(0, len(unique), GET_POSTS_MAX):
            params = models.AppBskyFeedGetPosts.Params(uris=unique[start:start + GET_POSTS_MAX])
            yield self._raw(lambda p=params: self.appview.invoke_query(  # type: ignore[misc]
                "app.bsky.feed.getPosts", params=p))

    # -- errors ---------------------------------------------------------------------------

    def _raw(self, call: Any, shared: bool = True) -> dict[str, Any]:
        response = self._call(call, shared)
        if not isinstance(response.content, dict):
            raise MalformedResponse("an XRPC answer that is not a JSON object")
        return response.content

    def _call(self, call: Any, shared: bool = True) -> Any:
        """`shared`: the host is the AppView or the configured PDS, whose 429 is the
        process's (the budget pauses); a user's own PDS cannot pause everyone."""
        if self.budget is not None:
            self.budget.take()
        self.requests += 1
        try:
            return call()
        except RateLimitExceededError as exc:
            delay = _reset_of(exc)
            if not shared:
                raise RateLimited(min(delay, PDS_PAUSE_MAX_S)) from None
            if self.budget is not None:
                self.budget.pause(delay)
            raise RateLimited(delay, paused=self.budget is not None) from None
        except NetworkError as exc:
            raise Unavailable(_detail(exc)) from None
        except RequestException as exc:
            status = exc.response.status_code if exc.response is not None else 0
            if status >= 500 or status == 0:
                raise Unavailable(_detail(exc)) from None
            raise
        except AtProtocolError:
            raise


def _detail(exc: AtProtocolError) -> str:
    return str(exc)[:300] or type(exc).__name__


def _reset_of(exc: RateLimitExceededError) -> float:
    """Seconds until the `ratelimit-reset` header (epoch seconds), within [1, 900]; 60 when
    it is missing."""
    headers = exc.response.headers if exc.response is not None else {}
    value = next((v for k, v in headers.items() if k.lower() == "ratelimit-reset"), None)
    try:
        delay = float(value) - time.time()  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 60.0
    return min(max(delay, 1.0), 900.0)
