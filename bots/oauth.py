"""What every network's linking flow shares (bots/<network>/oauth.py has the flows, and
their NetworkSpec.link hands them to the web app): tokens, who the account is, the
failures, and where requests go. In sandbox mode a URL-rewriting transport adapter sends
every network request (and the browser's authorize redirect) to the sandbox server.

Nothing here logs a token, a code or a secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import requests

from bots.transport import RewritingAdapter, new_session
from config import Settings
from core.identity import Identity


class OAuthFailed(Exception):
    """The network refused (bad code, replayed code, revoked refresh token...)."""


class OAuthUnavailable(OAuthFailed):
    """The network did not answer (connection error, timeout, a garbled reply): nothing was
    refused, so a refresh may be tried again later."""


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    scopes: tuple[str, ...] = ()

    def __repr__(self) -> str:  # never show a token, even in a traceback
        return f"Tokens(expires_at={self.expires_at!r}, scopes={self.scopes!r})"


@dataclass(frozen=True)
class AccountInfo:
    """Who the linked account is on its network."""

    external_user_id: str
    handle: str | None


@dataclass(frozen=True)
class Authorization:
    """Where a linking flow sends the person's browser first."""

    url: str
    state: str  # what the callback must bring back
    verifier: str | None = None  # PKCE: kept server-side until the callback


@dataclass(frozen=True)
class Managed:
    """Another identity a person proves by signing in (Facebook: a Page they run)."""

    identity: Identity
    name: str | None


def api_base(settings: Settings) -> str | None:
    """Where network requests go: the sandbox in sandbox mode, the real hosts when live."""
    if settings.networks == "sandbox":
        return settings.sandbox_url
    return None


def browser_url(settings: Settings, url: str) -> str:
    """The authorize page as the person's browser must reach it."""
    return RewritingAdapter(api_base(settings)).rewrite(url)


def http(settings: Settings) -> requests.Session:
    return new_session(api_base(settings), timeout=settings.http_timeout_seconds)
