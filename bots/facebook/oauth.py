"""Facebook's linking flow over plain `requests`: the code flow, the long-lived exchange
(`fb_exchange_token`), `/debug_token`, and the Pages a person runs (`/me/accounts`). The web
app reaches it through the registry (NetworkSpec.link).

Nothing here logs a token, a code or a secret.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

import requests

from bots.facebook import NETWORK, PAGE_KIND
from bots.oauth import AccountInfo, Authorization, Managed, OAuthFailed, Tokens, browser_url, http
from config import Settings
from core import identity

FB_SCOPES = ["public_profile", "user_likes", "user_posts"]
# A creator claiming through Facebook also proves which Pages they run (Page likes flattr
# the Page, so its escrow is held for facebook:page:ID).
FB_CLAIM_SCOPES = [*FB_SCOPES, "pages_show_list"]
FB_PAGES_PER_REQUEST = 100
FB_PAGES_LIMIT = 100  # at most this many /me/accounts pages of results are followed


@dataclass(frozen=True)
class ManagedPage:
    """A Facebook Page the person runs (its Page access token is not kept)."""

    page_id: str
    name: str | None


def authorize(settings: Settings, redirect_uri: str, claim: bool) -> Authorization:
    """The dialog URL and a new state; a claim also asks for `pages_show_list` (the Pages
    the person runs)."""
    state = secrets.token_urlsafe(32)
    scopes = FB_CLAIM_SCOPES if claim else FB_SCOPES
    query = urlencode({"client_id": settings.facebook_app_id, "redirect_uri": redirect_uri,
                       "state": state, "response_type": "code", "scope": ",".join(scopes)})
    return Authorization(browser_url(
        settings, f"https://www.facebook.com/{settings.facebook_graph_version}/dialog/oauth?{query}"
    ), state)


def complete(settings: Settings, redirect_uri: str, code: str, verifier: str | None,
             now: datetime) -> tuple[Tokens, AccountInfo]:
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
    return tokens, AccountInfo(str(data["user_id"]), me.get("name"))


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


def managed(settings: Settings, access_token: str) -> list[Managed]:
    """The Pages the person runs, as the identities a claim through Facebook also proves
    (Page likes are held in escrow for `facebook:page:ID`, not for the person)."""
    return [Managed(identity.of(NETWORK, PAGE_KIND, page.page_id), page.name)
            for page in facebook_pages(settings, access_token)]


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
