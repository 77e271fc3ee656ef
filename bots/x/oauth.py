"""X's linking flow: OAuth 2.0 Authorization Code with PKCE through tweepy's
`OAuth2UserHandler` (a `requests_oauthlib.OAuth2Session`), the rotating token refresh, and
GET /2/users/me. It lives in bots/ because only bots/ imports tweepy; the web app reaches
it through the registry (NetworkSpec.link).

Nothing here logs a token, a code or a secret.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

import requests
import tweepy
from oauthlib.oauth2 import OAuth2Error
from requests_oauthlib import OAuth2Session

from bots.oauth import (
    AccountInfo,
    Authorization,
    OAuthFailed,
    OAuthUnavailable,
    Tokens,
    browser_url,
    http,
)
from config import Settings

# tweet.write: "announce my flattrs" posts from the person's own account.
X_SCOPES = ["tweet.read", "users.read", "like.read", "tweet.write", "offline.access"]
X_TOKEN_URL = "https://api.twitter.com/2/oauth2/token"


def _x_handler(settings: Settings, redirect_uri: str) -> tweepy.OAuth2UserHandler:
    # A person may grant fewer scopes than asked; oauthlib then raises "Scope has changed"
    # unless this variable is set. It reads it at call time, from os.environ only (no
    # argument does it), so it is set here, where every X OAuth session is built, rather
    # than when a module is imported.
    os.environ.setdefault("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")
    handler = tweepy.OAuth2UserHandler(
        client_id=settings.x_client_id, redirect_uri=redirect_uri, scope=X_SCOPES,
        client_secret=settings.x_client_secret)
    for prefix, adapter in http(settings).adapters.items():
        handler.mount(prefix, adapter)
    return handler


def authorize(settings: Settings, redirect_uri: str, claim: bool) -> Authorization:
    """The browser URL, state and PKCE verifier (the caller keeps the last two server-side).
    A claim asks for nothing more than a connection: the account is the identity."""
    handler = _x_handler(settings, redirect_uri)
    url = handler.get_authorization_url()
    return Authorization(browser_url(settings, url), handler._state,
                         handler._client.code_verifier)


def complete(settings: Settings, redirect_uri: str, code: str, verifier: str | None,
             now: datetime) -> tuple[Tokens, AccountInfo]:
    """The callback's code -> tokens, then who the account is."""
    tokens = exchange(settings, redirect_uri, code, verifier or "", now)
    return tokens, who_am_i(settings, tokens.access_token)


def exchange(settings: Settings, redirect_uri: str, code: str, verifier: str,
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


def refresh(settings: Settings, refresh_token: str, now: datetime) -> Tokens:
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


def who_am_i(settings: Settings, access_token: str) -> AccountInfo:
    client = tweepy.Client(bearer_token=access_token, return_type=requests.Response)
    client.session = http(settings)
    try:
        response = client.get_me(user_auth=False)
        data = response.json()["data"]
    except (tweepy.TweepyException, requests.RequestException, ValueError, KeyError) as exc:
        raise OAuthFailed(f"X did not say who the account is ({type(exc).__name__})") from None
    return AccountInfo(str(data["id"]), data.get("username"))


def _x_tokens(token: dict, now: datetime) -> Tokens:
    expires_in = token.get("expires_in")
    scope = token.get("scope") or []
    scopes = tuple(scope.split() if isinstance(scope, str) else scope)
    return Tokens(
        access_token=token["access_token"], refresh_token=token.get("refresh_token"),
        expires_at=now + timedelta(seconds=int(expires_in)) if expires_in else None,
        scopes=scopes)
