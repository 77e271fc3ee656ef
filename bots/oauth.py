"""The networks' OAuth flows, as the web app needs them.

X: OAuth 2.0 Authorization Code with PKCE through tweepy's `OAuth2UserHandler` (a
`requests_oauthlib.OAuth2Session`). Facebook: the code flow, the long-lived exchange
(`fb_exchange_token`) and `/debug_token`, over plain `requests`.

It lives in bots/ because only bots/ imports tweepy; the web app calls it. In sandbox mode
a URL-rewriting transport adapter sends every network request (and the browser's authorize
redirect) to the sandbox server.

Nothing here logs a token, a code or a secret.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

import requests
import tweepy
from oauthlib.oauth2 import OAuth2Error
from requests_oauthlib import OAuth2Session

from bots.transport import RewritingAdapter, new_session
from config import Settings

# A person may grant fewer scopes than asked; without this oauthlib raises "Scope has changed".
os.environ.setdefault("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")

# tweet.write: "announce my flattrs" posts from the person's own account.
X_SCOPES = ["tweet.read", "users.read", "like.read", "tweet.write", "offline.access"]
X_TOKEN_URL = "https://api.twitter.com/2/oauth2/token"
FB_SCOPES = ["public_profile", "user_likes", "user_posts"]
# A creator claiming through Facebook also proves which Pages they run (Page likes flattr
# the Page, so its escrow is held for facebook:page:ID).
FB_CLAIM_SCOPES = [*FB_SCOPES, "pages_show_list"]
FB_PAGES_PER_REQUEST = 100
FB_PAGES_LIMIT = 100  # at most this many /me/accounts pages of results are followed


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
class Identity:
    external_user_id: str
    handle: str | None


@dataclass(frozen=True)
class ManagedPage:
    """A Facebook Page the person runs (its Page access token is not kept)."""

    page_id: str
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


# -- X --------------------------------------------------------------------------------------

def _x_handler(settings: Settings, redirect_uri: str) -> tweepy.OAuth2UserHandler:
    handler = tweepy.OAuth2UserHandler(
        client_id=settings.x_client_id, redirect_uri=redirect_uri, scope=X_SCOPES,
        client_secret=settings.x_client_secret)
    for prefix, adapter in http(settings).adapters.items():
        handler.mount(prefix, adapter)
    return handler


def x_authorization(settings: Settings, redirect_uri: str) -> tuple[str, str, str]:
    """(browser URL, state, PKCE verifier): the caller keeps state and verifier server-side."""
    handler = _x_handler(settings, redirect_uri)
    url = handler.get_authorization_url()
    return browser_url(settings, url), handler._state, handler._client.code_verifier


def x_exchange(settings: Settings, redirect_uri: str, code: str, verifier: str,
               now: datetime) -> Tokens:
    handler = _x_handler(settings, redirect_uri)
    handler._client.code_verifier = verifier
    try:
        # OAuth2Session.fetch_token with the code itself: tweepy's wrapper re-parses the
        # callback URL, which oauthlib refuses over plain http (the local sandbox).
        token = OAuth2Session.fetch_token(
            handler, X_TOKEN_URL, code=code, auth=handler.auth, include_client_id=True,
            code_verifier=verifier)
    except (OAuth2Error, requests.RequestException, ValueError) as exc:
        raise OAuthFailed(f"X refused the authorization code ({type(exc).__name__})") from None
    return _x_tokens(token, now)


def x_refresh(settings: Settings, refresh_token: str, now: datetime) -> Tokens:
    """A new access token and a new refresh token (X rotates them: the old one is spent)."""
    handler = _x_handler(settings, redirect_uri="")
    try:
        token = handler.refresh_token(X_TOKEN_URL, refresh_token=refresh_token,
                                      auth=handler.auth)
    except OAuth2Error as exc:
        raise OAuthFailed(f"X refused the refresh token ({type(exc).__name__})") from None
    except (requests.RequestException, ValueError) as exc:
        raise OAuthUnavailable(f"X did not answer the refresh ({type(exc).__name__})") from None
    return _x_tokens(token, now)


def x_identity(settings: Settings, access_token: str) -> Identity:
    client = tweepy.Client(bearer_token=access_token, return_type=requests.Response)
    client.session = http(settings)
    try:
        response = client.get_me(user_auth=False)
        data = response.json()["data"]
    except (tweepy.TweepyException, requests.RequestException, ValueError, KeyError) as exc:
        raise OAuthFailed(f"X did not say who the account is ({type(exc).__name__})") from None
    return Identity(str(data["id"]), data.get("username"))


def _x_tokens(token: dict, now: datetime) -> Tokens:
    expires_in = token.get("expires_in")
    scope = token.get("scope") or []
    scopes = tuple(scope.split() if isinstance(scope, str) else scope)
    return Tokens(
        access_token=token["access_token"], refresh_token=token.get("refresh_token"),
        expires_at=now + timedelta(seconds=int(expires_in)) if expires_in else None,
        scopes=scopes)


# -- Facebook -------------------------------------------------------------------------------

def facebook_authorization(settings: Settings, redirect_uri: str, state: str,
                           *, claim: bool = False) -> str:
    """The dialog URL; a claim also asks for `pages_show_list` (the Pages the person runs)."""
    scopes = FB_CLAIM_SCOPES if claim else FB_SCOPES
    query = urlencode({"client_id": settings.facebook_app_id, "redirect_uri": redirect_uri,
                       "state": state, "response_type": "code", "scope": ",".join(scopes)})
    return browser_url(
        settings, f"https://www.facebook.com/{settings.facebook_graph_version}/dialog/oauth?{query}")


def facebook_exchange(settings: Settings, redirect_uri: str, code: str,
                      now: datetime) -> tuple[Tokens, Identity]:
    """Code -> short-lived token -> long-lived token, then /debug_token for scopes and expiry.
    The code and the app secret travel in POST bodies; the Graph's read endpoints
    (/debug_token, /me) take their tokens as query parameters, so urllib3's URL logging is
    capped (runtime.logs)."""
    session = http(settings)
    short = _graph(session, settings, "oauth/access_token", {
        "client_id": settings.facebook_app_id, "client_secret": settings.facebook_app_secret,
        "redirect_uri": redirect_uri, "code": code})
    long = _graph(session, settings, "oauth/access_token", {
        "grant_type": "fb_exchange_token", "client_id": settings.facebook_app_id,
        "client_secret": settings.facebook_app_secret,
        "fb_exchange_token": short["access_token"]})
    debug = _graph(session, settings, "debug_token", method="GET", form={
        "input_token": long["access_token"],
        "access_token": f"{settings.facebook_app_id}|{settings.facebook_app_secret}"})
    data = debug.get("data") or {}
    if not data.get("is_valid") or not data.get("user_id"):
        raise OAuthFailed("Facebook says the new token is not valid")
    expires = int(data.get("expires_at") or 0)
    expires_at = (datetime.fromtimestamp(expires, now.tzinfo) if expires
                  else now + timedelta(seconds=int(long.get("expires_in") or 0)))
    tokens = Tokens(long["access_token"], None, expires_at, tuple(data.get("scopes") or ()))
    me = _graph(session, settings, "me", method="GET", form={
        "access_token": long["access_token"], "fields": "id,name"})
    return tokens, Identity(str(data["user_id"]), me.get("name"))


def facebook_pages(settings: Settings, access_token: str) -> list[ManagedPage]:
    """The Pages the token's user manages (`GET /me/accounts`, every page of results). Empty
    when the person did not grant `pages_show_list`; OAuthFailed on a Graph error body."""
    session = http(settings)
    body = _graph(session, settings, "me/accounts", method="GET", form={
        "access_token": access_token, "fields": "id,name", "limit": str(FB_PAGES_PER_REQUEST)})
    found: dict[str, ManagedPage] = {}
    for _ in range(FB_PAGES_LIMIT):
        for item in body.get("data") or ():
            if isinstance(item, dict) and str(item.get("id", "")).isdigit():
                page_id = str(item["id"])
                found.setdefault(page_id, ManagedPage(page_id, item.get("name")))
        following = (body.get("paging") or {}).get("next")
        if not following:
            break
        if not str(following).startswith("https://graph.facebook.com/"):
            raise OAuthFailed("Facebook's next page of managed Pages is not on the Graph API")
        body = _graph(session, settings, "me/accounts", method="GET", url=following)
    else:
        raise OAuthFailed("Facebook's list of managed Pages did not end")
    return list(found.values())


def _graph(session: requests.Session, settings: Settings, path: str, form: dict | None = None,
           method: str = "POST", url: str | None = None) -> dict:
    """One Graph call; `url` (a `paging.next` link, token included) replaces path and form."""
    url = url or f"https://graph.facebook.com/{settings.facebook_graph_version}/{path}"
    try:
        if method == "GET":
            response = session.get(url, params=form)
        else:
            response = session.post(url, data=form)
        body = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise OAuthFailed(f"Facebook did not answer /{path} ({type(exc).__name__})") from None
    if not isinstance(body, dict) or "error" in body:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        raise OAuthFailed(f"Facebook refused /{path} (code {error.get('code')})")
    return body
