"""Mastodon's linking flow, on any instance: the person types their instance (or
@user@instance); the service registers its app there once (POST /api/v1/apps through
`Mastodon.create_app`; the web app keeps it, the secret sealed); then the
authorization-code flow with PKCE S256. Mastodon.py has no PKCE parameters: the challenge
is appended to `auth_request_url`'s URL, and the code is exchanged here, with the
verifier, at the token endpoint. The password grant is gone since Mastodon 4.4.

Nothing here logs a token, a code or a secret.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import datetime
from typing import NoReturn
from urllib.parse import urlencode

import requests
from mastodon import Mastodon
from mastodon.errors import MastodonError

from bots.hosts import is_public_name
from bots.mastodon import NETWORK, account_key
from bots.mastodon.adapter import SANDBOX_PREFIX, USER_AGENT
from bots.oauth import AccountInfo, Authorization, OAuthFailed, Tokens, api_base
from bots.registry import InstanceApp
from bots.transport import HostPrefixAdapter, new_host_prefixed_session
from config import Settings
from core.errors import UserError
from core.urls import InvalidURL, canonicalize, host_of

# read: favourites and statuses (polling), who the account is; write:statuses: "announce
# my flattrs" from the person's own account.
SCOPES = ["read:accounts", "read:favourites", "read:statuses", "write:statuses"]
class NotAnInstance(UserError):
    """What the person typed is not a Mastodon server we may talk to."""


def parse_instance(typed: str) -> str:
    """`social.example`, `https://social.example/`, `@me@social.example` or
    `me@social.example` -> `social.example` (IDNA ASCII, lower case). IP addresses,
    single-label and private names are refused: the server would call them."""
    text = (typed or "").strip()
    if "@" in text and "/" not in text:
        text = text.rpartition("@")[2]
    if "://" not in text:
        text = "https://" + text
    try:
        host = host_of(canonicalize(text))
    except InvalidURL:
        raise NotAnInstance("%(text)r is not a Mastodon server: type its address, "
                            "such as mastodon.social, or @you@mastodon.social",
                            text=typed[:100]) from None
    if not is_public_name(host):
        raise NotAnInstance("%(host)r is not a public Mastodon server", host=host)
    try:
        account_key(host, "0")
    except ValueError:
        raise NotAnInstance("%(host)r is not a Mastodon server name", host=host[:100]) from None
    return host


def _session(settings: Settings) -> requests.Session:
    timeout = settings.mastodon_timeout_seconds
    return new_host_prefixed_session(api_base(settings), SANDBOX_PREFIX,
                                     (min(timeout, 3.05), timeout))


def _client(settings: Settings, host: str, app: InstanceApp | None = None,
            access_token: str | None = None) -> Mastodon:
    return Mastodon(client_id=app.client_id if app else None,
                    client_secret=app.client_secret if app else None,
                    access_token=access_token, api_base_url=f"https://{host}",
                    ratelimit_method="throw", request_timeout=settings.mastodon_timeout_seconds,
                    session=_session(settings), version_check_mode="none", user_agent=USER_AGENT)


def register(settings: Settings, host: str, redirect_uri: str) -> InstanceApp:
    """Register the service's app on `host` (once per instance: the caller keeps it)."""
    try:
        client_id, client_secret = Mastodon.create_app(
            settings.mastodon_app_name, scopes=SCOPES, redirect_uris=redirect_uri,
            website=settings.web_base_url, api_base_url=f"https://{host}",
            request_timeout=settings.mastodon_timeout_seconds, session=_session(settings),
            user_agent=USER_AGENT)
    # create_app turns every failure into MastodonNetworkError, and an error body into a
    # KeyError (it reads client_id from whatever came back).
    except (MastodonError, KeyError, TypeError, ValueError) as exc:
        raise OAuthFailed(f"{host} did not register the app ({type(exc).__name__}): is it a "
                          "Mastodon server?") from None
    return InstanceApp(host, str(client_id), str(client_secret))


def authorize(settings: Settings, redirect_uri: str, claim: bool,
              app: InstanceApp) -> Authorization:
    """Where the person's browser goes, with a state and a PKCE S256 challenge."""
    state, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(64)
    try:
        url = _client(settings, app.host, app).auth_request_url(
            redirect_uris=redirect_uri, scopes=SCOPES, state=state, force_login=claim)
    except (MastodonError, KeyError, TypeError, ValueError) as exc:
        raise OAuthFailed(f"{app.host} did not say where to sign in "
                          f"({type(exc).__name__})") from None
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    url += "&" + urlencode({"code_challenge": challenge.decode().rstrip("="),
                            "code_challenge_method": "S256"})
    return Authorization(HostPrefixAdapter(api_base(settings), SANDBOX_PREFIX).rewrite(url),
                         state, verifier)


def complete(settings: Settings, redirect_uri: str, code: str, verifier: str | None,
             now: datetime, app: InstanceApp) -> tuple[Tokens, AccountInfo]:
    """The callback's code (and the PKCE verifier) -> a token, then who the account is."""
    try:
        response = _session(settings).post(
            f"https://{app.host}/oauth/token",
            data={"grant_type": "authorization_code", "code": code,
                  "client_id": app.client_id, "client_secret": app.client_secret,
                  "redirect_uri": redirect_uri, "code_verifier": verifier or "",
                  "scope": " ".join(SCOPES)},
            timeout=settings.mastodon_timeout_seconds)
        body = response.json()
        token = body["access_token"] if response.ok else None
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        raise OAuthFailed(f"{app.host} did not answer the sign-in ({type(exc).__name__})"
                          ) from None
    if not isinstance(token, str) or not token:
        raise OAuthFailed(f"{app.host} refused the authorization code "
                          f"({body.get('error') if isinstance(body, dict) else 'no token'})")
    try:
        me = _client(settings, app.host, app, token).account_verify_credentials()
        user = AccountInfo(account_key(app.host, str(me["id"])), f"{me['username']}@{app.host}")
    except (MastodonError, KeyError, TypeError, ValueError) as exc:
        raise OAuthFailed(f"{app.host} did not say who the account is "
                          f"({type(exc).__name__})") from None
    scopes = tuple(str(body.get("scope") or "").split())
    return Tokens(access_token=token, refresh_token=None, expires_at=None, scopes=scopes), user


def needs_instance(*args: object) -> NoReturn:
    """LinkFlow's plain authorize/complete: Mastodon always goes through its instance."""
    raise OAuthFailed(f"{NETWORK} needs the person's instance first")
