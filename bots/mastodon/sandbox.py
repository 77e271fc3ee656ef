"""Mastodon instances in the sandbox: every path under /mastodon/<host>/ is instance <host>
(bots.transport.HostPrefixAdapter sends https://<host>/... there), so one server is any
number of instances. Each answers app registration, the OAuth authorization-code flow
with PKCE S256, who the token is, account lookup, favourites paged by `Link` with internal
favourite ids, an account's statuses (boosts, cards, replies), one status, and posting
(direct messages and announcements are recorded in the world's `sent`). API answers carry
`X-RateLimit-*` headers (300 requests per 5 minutes per token; 429 past it), errors are
Mastodon's `{"error": ...}` bodies, and an instance may be down (faults).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from bots.mastodon import NETWORK
from bots.mastodon.sandbox_world import TOKEN_SCOPES, App, Mastodons, Status, iso_ms, mastodons
from bots.sandbox import pkce
from bots.sandbox.faults import Fault
from bots.sandbox.oauth import approve_page, back
from bots.sandbox.replies import Reply, html_reply, json_reply
from bots.sandbox.request import Request
from bots.sandbox.world import Grant, World

PREFIX = "/mastodon/"
RATE_LIMIT = 300
RATE_WINDOW = timedelta(minutes=5)
MAX_LIMIT = 40
_PATH = re.compile(r"/mastodon/([a-z0-9.-]+)(/.*)?")


def owns(path: str) -> bool:
    return path.startswith(PREFIX)


def route(world: World, request: Request) -> Reply | None:
    match = _PATH.fullmatch(request.path)
    if match is None:
        return None
    host, path = match.group(1), match.group(2) or "/"
    state = mastodons(world)
    if host not in state.hosts:
        return html_reply(502, f"<h1>502 Bad Gateway</h1>no instance {host}")
    get, post = request.method == "GET", request.method == "POST"
    if get and path == "/.well-known/oauth-authorization-server":
        return json_reply(200, server_metadata(host))
    if get and path in ("/api/v1/instance", "/api/v1/instance/", "/api/v2/instance"):
        return json_reply(200, {"uri": host, "domain": host, "title": host,
                                "version": "4.4.0", "rules": []})
    if post and path == "/api/v1/apps":
        return _register_app(state, host, request)
    if get and path == "/oauth/authorize":
        return _authorize(world, state, host, request)
    if get and path == "/oauth/authorize/approve":
        return _approve(world, host, request)
    if post and path == "/oauth/token":
        return _token(world, state, host, request)
    if post and path == "/oauth/revoke":
        world.revoke(request.param("token") or "")
        return json_reply(200, {})
    if get and path == "/api/v1/accounts/lookup":
        found = state.find_acct(host, request.query.get("acct", ""))
        return (json_reply(200, state.render_account(found, host)) if found
                else _error(404, "Record not found"))
    if get and (by_id := re.fullmatch(r"/api/v1/accounts/([0-9]+)", path)):
        someone = state.account_at(host, by_id.group(1))
        return (json_reply(200, state.render_account(someone, host)) if someone
                else _error(404, "Record not found"))
    return _api(world, state, host, path, request)


def server_metadata(host: str) -> dict[str, Any]:
    """As /.well-known/oauth-authorization-server (Mastodon 4.3 and later)."""
    base = f"https://{host}"
    return {
        "issuer": base + "/", "authorization_endpoint": base + "/oauth/authorize",
        "token_endpoint": base + "/oauth/token", "revocation_endpoint": base + "/oauth/revoke",
        "userinfo_endpoint": base + "/oauth/userinfo",
        "scopes_supported": ["read", "profile", "write", "read:favourites", "read:statuses",
                             "read:accounts", "write:statuses"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "app_registration_endpoint": base + "/api/v1/apps",
    }


# -- the authenticated API ----------------------------------------------------------------


def _api(world: World, state: Mastodons, host: str, path: str, request: Request) -> Reply:
    grant = world.grant_for(request.bearer, NETWORK)
    if grant is None or not grant.user_id.startswith(host + ":"):
        return _error(401, "The access token is invalid")
    limit, remaining, reset = world.count_request(grant.token, f"{NETWORK}/{host}",
                                                  RATE_LIMIT, RATE_WINDOW)
    headers = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(max(remaining, 0)),
               "X-RateLimit-Reset": iso_ms(reset)}
    if remaining < 0:
        return _error(429, "Too many requests", headers)
    now = world.current_time()
    me = state.accounts[grant.user_id]
    reply: Reply
    if request.method == "GET" and path == "/api/v1/accounts/verify_credentials":
        reply = json_reply(200, state.render_account(me, host))
    elif request.method == "GET" and path == "/api/v1/favourites":
        reply = _favourites(state, host, me.key, request, now)
    elif request.method == "GET" and (found := re.fullmatch(r"/api/v1/accounts/([0-9]+)/statuses",
                                                             path)):
        reply = _account_statuses(state, host, found.group(1), request, now)
    elif request.method == "GET" and (found := re.fullmatch(r"/api/v1/statuses/([0-9]+)", path)):
        status = state.visible(found.group(1), now)
        reply = (json_reply(200, state.render_status(status, host, now)) if status
                 else _error(404, "Record not found"))
    elif request.method == "POST" and path == "/api/v1/statuses":
        reply = _post(world, me.key, request)
    else:
        reply = _error(404, "Record not found")
    reply.headers.update(headers)
    return reply


def _page_params(request: Request) -> tuple[int, int | None, int | None, int | None]:
    def number(name: str) -> int | None:
        value = request.query.get(name)
        return int(value) if value and value.isdigit() else None

    limit = min(max(number("limit") or 20, 1), MAX_LIMIT)
    return limit, number("max_id"), number("min_id"), number("since_id")


def _window(ids: list[int], limit: int, max_id: int | None, min_id: int | None,
            since_id: int | None) -> list[int]:
    """Mastodon's paging over ids sorted newest first: max_id/since_id give the newest
    `limit` inside the bounds; min_id gives the `limit` just above it (still newest first)."""
    inside = [i for i in ids if (max_id is None or i < max_id)
              and (since_id is None or i > since_id) and (min_id is None or i > min_id)]
    return inside[-limit:] if min_id is not None else inside[:limit]


def _link(host: str, path: str, params: dict[str, str], page: list[int], limit: int) -> str:
    """`Link` as Mastodon sends it: next (older, max_id) when the page is full, prev (newer,
    min_id) when it holds anything; none for an empty page."""
    if not page:
        return ""
    base = {k: v for k, v in params.items() if k not in ("max_id", "min_id", "since_id")}
    base["limit"] = str(limit)
    links = []
    if len(page) == limit:
        links.append(f'<https://{host}{path}?{urlencode({**base, "max_id": page[-1]})}>; '
                     'rel="next"')
    links.append(f'<https://{host}{path}?{urlencode({**base, "min_id": page[0]})}>; rel="prev"')
    return ", ".join(links)


def _favourites(state: Mastodons, host: str, key: str, request: Request,
                now: datetime) -> Reply:
    limit, max_id, min_id, since_id = _page_params(request)
    mine = [(f, s) for f, at, s in state.favourites.get(key, [])
            if at <= now and state.visible(s, now)]
    by_fav = dict(mine)
    page = _window([f for f, _ in mine], limit, max_id, min_id, since_id)
    body = [state.render_status(state.statuses[by_fav[f]], host, now) for f in page]
    return _paged(body, _link(host, "/api/v1/favourites", request.query, page, limit))


def _account_statuses(state: Mastodons, host: str, local_id: str, request: Request,
                      now: datetime) -> Reply:
    account = state.account_at(host, local_id)
    if account is None:
        return _error(404, "Record not found")
    limit, max_id, min_id, since_id = _page_params(request)
    skip_boosts = request.query.get("exclude_reblogs", "").lower() in ("true", "1")
    mine: list[Status] = [s for s in state.by_author.get(account.key, [])
                          if s.at <= now and not (skip_boosts and s.reblog_of)]
    by_id = {int(s.id): s for s in mine}
    page = _window(list(by_id), limit, max_id, min_id, since_id)
    body = [state.render_status(by_id[i], host, now) for i in page]
    return _paged(body, _link(host, f"/api/v1/accounts/{local_id}/statuses", request.query,
                              page, limit))


def _paged(body: list[dict], link: str) -> Reply:
    return json_reply(200, body, {"Link": link} if link else None)


def _post(world: World, sender: str, request: Request) -> Reply:
    text = request.param("status") or ""
    if not text.strip():
        return _error(422, "Validation failed: Text can't be blank")
    visibility = request.param("visibility") or "public"
    entry = world.record_sent(network=NETWORK, sender=sender, text=text, visibility=visibility,
                              channel="mastodon_dm" if visibility == "direct" else "mastodon_post",
                              in_reply_to_id=request.param("in_reply_to_id"))
    number = len(world.sent)
    return json_reply(200, {"id": str(9_000_000_000 + number), "content": f"<p>{text}</p>",
                            "visibility": entry["visibility"], "created_at": entry["at"]})


# -- apps and OAuth -------------------------------------------------------------------------


def _register_app(state: Mastodons, host: str, request: Request) -> Reply:
    form = request.form or (request.json if isinstance(request.json, dict) else {})
    name, uris = form.get("client_name", ""), form.get("redirect_uris", "")
    if not name or not uris:
        return _error(422, "Validation failed: Application name can't be blank, "
                           "Redirect URI can't be blank")
    app = App(secrets.token_urlsafe(32), secrets.token_urlsafe(32), name,
              tuple(u for u in re.split(r"[\s]+", uris) if u),
              tuple((form.get("scopes") or "read").split()))
    state.apps.setdefault(host, {})[app.client_id] = app
    return json_reply(200, {"id": str(len(state.apps[host])), "name": name,
                            "website": form.get("website"), "redirect_uri": uris,
                            "redirect_uris": list(app.redirect_uris),
                            "client_id": app.client_id, "client_secret": app.client_secret,
                            "scopes": list(app.scopes)})


def _authorize(world: World, state: Mastodons, host: str, request: Request) -> Reply:
    q = request.query
    app = state.apps.get(host, {}).get(q.get("client_id", ""))
    if app is None:
        return html_reply(401, "<h1>Client authentication failed due to unknown client</h1>")
    if q.get("response_type") != "code" or q.get("redirect_uri") not in app.redirect_uris:
        return html_reply(400, "<h1>The redirect uri included is not valid.</h1>")
    if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
        return html_reply(400, "<h1>This sandbox instance requires PKCE (S256)</h1>")
    persons = {(str(p["mastodon"]["host"]), str(p["mastodon"]["id"]))
               for p in world.people if isinstance(p.get("mastodon"), dict)}
    here = [a for a in state.accounts.values() if a.host == host and not a.bot]
    people = [(a.key, f"@{a.username}@{host}") for a in here if (a.host, a.id) in persons]
    others = [(a.key, f"@{a.username}@{host}" + (f" ({a.name})" if a.name else ""))
              for a in here if (a.host, a.id) not in persons]
    return approve_page(f"Authorize {app.name} to use your account on {host}",
                        f"/mastodon/{host}/oauth/authorize/approve", dict(q), people,
                        others=others, network="Mastodon")


def _approve(world: World, host: str, request: Request) -> Reply:
    q = request.query
    if q.get("decision") != "approve":
        return back(q["redirect_uri"], {"error": "access_denied", "state": q.get("state", "")})
    code = secrets.token_urlsafe(24)
    with world.lock:
        world.pending_codes[code] = {"network": NETWORK, "host": host, **q}
    return back(q["redirect_uri"], {"state": q.get("state", ""), "code": code})


def _token(world: World, state: Mastodons, host: str, request: Request) -> Reply:
    form = request.form
    app = state.apps.get(host, {}).get(form.get("client_id", ""))
    if app is None or not pkce.same(app.client_secret, form.get("client_secret", "")):
        return json_reply(401, {"error": "invalid_client",
                                "error_description": "Client authentication failed"})
    if form.get("grant_type") != "authorization_code":
        return json_reply(400, {"error": "unsupported_grant_type"})
    with world.lock:
        pending = world.pending_codes.pop(form.get("code", ""), None)
    if (pending is None or pending.get("network") != NETWORK or pending["host"] != host
            or pending.get("client_id") != app.client_id
            or form.get("redirect_uri") != pending.get("redirect_uri")
            or not pkce.matches(form.get("code_verifier", ""),
                                pending.get("code_challenge", ""), "S256")):
        return json_reply(400, {"error": "invalid_grant", "error_description":
                                "The provided authorization grant is invalid, expired, revoked,"
                                " does not match the redirection URI used in the authorization"
                                " request, or was issued to another client."})
    token = f"msdn-{secrets.token_urlsafe(24)}"
    scopes = tuple(pending.get("scope", "read").split()) or TOKEN_SCOPES
    with world.lock:
        world.grants[token] = Grant(token, NETWORK, pending["user_id"], scopes=scopes)
    return json_reply(200, {"access_token": token, "token_type": "Bearer",
                            "scope": " ".join(scopes),
                            "created_at": int(world.current_time().timestamp())})


# -- errors and faults --------------------------------------------------------------------


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    return json_reply(status, {"error": message}, headers)


def fault(fault: Fault, now: datetime) -> Reply | None:
    if fault.kind == "status":  # what the reverse proxy in front of Mastodon says
        return html_reply(fault.status, f"<html><body><h1>{fault.status}</h1>"
                                        "We're sorry, but something went wrong.</body></html>")
    if fault.kind == "rate_limit":
        return _error(429, "Too many requests", {
            "X-RateLimit-Limit": str(RATE_LIMIT), "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": iso_ms(now + timedelta(seconds=fault.reset_in_s))})
    if fault.kind == "revoked":
        return _error(401, "The access token was revoked")
    return None  # latency, malformed, truncated, disconnect: the generic server's
