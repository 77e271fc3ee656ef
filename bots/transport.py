"""A requests transport adapter: fixed timeouts, and (for the sandbox) a host rewrite.

tweepy hard-codes https://api.twitter.com and facebook-sdk https://graph.facebook.com; no
release takes a base URL. Mounting this adapter on the clients' `requests.Session` sends
their requests to the sandbox instead, so the code under test is the code that runs.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

# Every public origin the bots or the OAuth flows talk to; paths do not collide, so all
# of them map onto one sandbox server.
REWRITTEN_ORIGINS = (
    "https://api.twitter.com",
    "https://api.x.com",
    "https://twitter.com",
    "https://x.com",
    "https://graph.facebook.com",
    "https://www.facebook.com",
)
DEFAULT_TIMEOUT = (3.05, 15.0)  # (connect, read) seconds


class RewritingAdapter(HTTPAdapter):
    """Sends requests for the networks' origins to `api_base_url` (None: leave them) and
    applies a default timeout, because neither tweepy nor facebook-sdk passes one."""

    def __init__(
        self,
        api_base_url: str | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        pool_maxsize: int = 10,
    ) -> None:
        super().__init__(pool_connections=4, pool_maxsize=pool_maxsize, max_retries=0)
        self.api_base_url = api_base_url.rstrip("/") if api_base_url else None
        self.timeout = timeout

    def rewrite(self, url: str) -> str:
        if self.api_base_url is None:
            return url
        for origin in REWRITTEN_ORIGINS:
            if url == origin or url.startswith(origin + "/") or url.startswith(origin + "?"):
                return self.api_base_url + url[len(origin) :]
        return url

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):  # type: ignore[no-untyped-def, override]
        request.url = self.rewrite(request.url or "")
        return super().send(
            request,
            stream=stream,
            timeout=timeout or self.timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


def mount(
    session: requests.Session,
    api_base_url: str | None,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    pool_maxsize: int = 10,
) -> requests.Session:
    """Mount one RewritingAdapter on `session` for every network origin; returns it."""
    adapter = RewritingAdapter(api_base_url, timeout, pool_maxsize)
    for origin in REWRITTEN_ORIGINS:
        session.mount(origin + "/", adapter)
    if api_base_url:
        # The rewritten URL is http(s)://host:port/...: keep the same adapter (and pool).
        parts = urlsplit(api_base_url)
        session.mount(f"{parts.scheme}://{parts.netloc}/", adapter)
    return session


def new_session(
    api_base_url: str | None,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    pool_maxsize: int = 10,
) -> requests.Session:
    return mount(requests.Session(), api_base_url, timeout, pool_maxsize)


class HostPrefixAdapter(RewritingAdapter):
    """For a federated network (Mastodon: any host is an instance), sends every
    `https://<host>/<path>` to `api_base_url` + `prefix` + `/<host>/<path>`: one sandbox
    server answers for every instance, told apart by the path (None: leave URLs alone)."""

    def __init__(
        self,
        api_base_url: str | None,
        prefix: str,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        pool_maxsize: int = 10,
    ) -> None:
        super().__init__(api_base_url, timeout, pool_maxsize)
        self.prefix = "/" + prefix.strip("/")

    def rewrite(self, url: str) -> str:
        if self.api_base_url is None or not url.startswith("https://"):
            return url
        parts = urlsplit(url)
        rest = url[len("https://") + len(parts.netloc):]
        return f"{self.api_base_url}{self.prefix}/{parts.netloc.lower()}{rest or '/'}"


def new_host_prefixed_session(
    api_base_url: str | None,
    prefix: str,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    pool_maxsize: int = 10,
) -> requests.Session:
    """A session whose every https request goes through one HostPrefixAdapter."""
    session = requests.Session()
    adapter = HostPrefixAdapter(api_base_url, prefix, timeout, pool_maxsize)
    session.mount("https://", adapter)
    if api_base_url:
        parts = urlsplit(api_base_url)
        session.mount(f"{parts.scheme}://{parts.netloc}/", adapter)
    return session
