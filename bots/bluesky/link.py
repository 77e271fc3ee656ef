"""Linking (and claiming) a Bluesky account: the person proves that a handle is theirs by
one sign-in with an app password (`com.atproto.server.createSession`, through the atproto
SDK). The session is dropped at once and the password is never stored nor logged: reading
likes and reposts needs no token (they are public records), so nothing secret is kept.

Why not AT Protocol OAuth: it needs PAR, PKCE and DPoP with server nonces, and a client
metadata document served at an https `client_id`; atproto 0.0.73 has no OAuth client, and
the separate packages that do (atproto-oauth, atproto-oauth-py, both 0.1.0) are months old.
An app password is revocable by the person the moment linking is done, and this flow works
the same against the sandbox and against Bluesky. Move to OAuth when a well-kept client
exists (the LinkFlow would become a redirect flow like X's).

`createSession` is limited (30 per 5 minutes, 300 a day per account): a refusal is shown,
not retried.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from bots.bluesky.parse import is_did
from bots.bluesky.xrpc import RateLimited, SignInRefused, Unavailable, Xrpc
from bots.oauth import AccountInfo, Authorization, OAuthFailed, OAuthUnavailable, Tokens
from bots.registry import FormField
from config import Settings
from core.words import N_

NO_TOKEN = ""  # what is stored as the account's token: nothing (reading is public)
FIELDS = (
    FormField("handle", N_("Handle"), hint="you.bsky.social"),
    FormField("app_password", N_("App password"), secret=True,
              hint=N_("Settings > Privacy and security > App passwords: make one for Flattr, "
                      "and delete it once linked if you like; it is used once, never kept.")),
)


def verify(settings: Settings, fields: Mapping[str, str], now: datetime
           ) -> tuple[Tokens, AccountInfo]:
    handle = (fields.get("handle") or "").strip().lstrip("@").lower()
    password = fields.get("app_password") or ""
    if not handle or not password or len(handle) > 253:
        raise OAuthFailed("enter your Bluesky handle and an app password")
    appview, pds = _hosts(settings)
    xrpc = Xrpc(appview, pds, timeout=settings.http_timeout_seconds)
    try:
        did, shown = xrpc.sign_in(handle, password, _pds_of(settings, xrpc, handle))
    except SignInRefused:
        raise OAuthFailed("Bluesky refused that handle and app password") from None
    except (RateLimited, Unavailable) as exc:
        raise OAuthUnavailable(f"Bluesky did not answer ({exc}): try again later") from None
    finally:
        xrpc.close()
    if not is_did(did):
        raise OAuthFailed(f"Bluesky named an account this service cannot hold: {did[:80]!r}")
    return Tokens(NO_TOKEN, None, None), AccountInfo(did, shown)


def _hosts(settings: Settings) -> tuple[str, str]:
    if settings.networks == "sandbox" and settings.sandbox_url:
        return settings.sandbox_url, settings.sandbox_url
    return settings.bluesky_appview_url, settings.bluesky_pds_url


def _pds_of(settings: Settings, xrpc: Xrpc, handle: str) -> str | None:
    """The account's own PDS (live: from its DID document), else the configured one."""
    if settings.networks == "sandbox":
        return None
    try:
        from atproto import IdResolver

        data = IdResolver(timeout=settings.http_timeout_seconds).did.resolve_atproto_data(
            xrpc.resolve_handle(handle))
        return str(data.pds) if data.pds else None
    except Exception:  # the configured PDS is tried instead
        return None


def authorize(settings: Settings, redirect_uri: str, claim: bool) -> Authorization:
    raise OAuthFailed("Bluesky accounts are linked with a form (handle and app password)")


def complete(settings: Settings, redirect_uri: str, code: str, verifier: str | None,
             now: datetime) -> tuple[Tokens, AccountInfo]:
    raise OAuthFailed("Bluesky accounts are linked with a form (handle and app password)")
