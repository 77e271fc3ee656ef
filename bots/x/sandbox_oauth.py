"""X's OAuth 2.0 flow in the sandbox: GET /i/oauth2/authorize (PKCE S256) -> approve ->
redirect with code+state; POST /2/oauth2/token with authorization_code (verifier checked)
or refresh_token (rotating: each refresh token works once)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from bots.sandbox import pkce
from bots.sandbox.oauth import approve_page, back
from bots.sandbox.replies import Reply, html_reply, json_reply
from bots.sandbox.request import Request
from bots.sandbox.world import World
from bots.x import NETWORK

X_ACCESS_LIFETIME = timedelta(hours=2)


def authorize(world: World, request: Request) -> Reply:
    q = request.query
    missing = [
        k
        for k in ("response_type", "client_id", "redirect_uri", "state", "code_challenge")
        if not q.get(k)
    ]
    if missing or q.get("response_type") != "code":
        return html_reply(400, f"<h1>Invalid authorize request</h1>missing: {missing}")
    method = q.get("code_challenge_method", "plain")
    if method not in ("S256", "plain"):
        return html_reply(400, "<h1>Unsupported code_challenge_method</h1>")
    if not pkce.valid_challenge(q["code_challenge"], method) or not pkce.valid_state(q["state"]):
        return html_reply(400, "<h1>Invalid authorize request</h1>malformed code_challenge"
                          " or state")
    people = [
        (p["x"]["user_id"], f"@{p['x'].get('username', p['key'])}")
        for p in world.people
        if "x" in p
    ]
    known = {user_id for user_id, _ in people} | {str(world.service.get("x_user_id", ""))}
    others = [(u["id"], f"@{u['username']} ({u['name']})") for u in world.x_users.values()
              if u["id"] not in known]
    return approve_page(
        "Authorize Flattr to use your X account", "/i/oauth2/authorize/approve", dict(q), people,
        others=others, network="X",
    )


def approve(world: World, request: Request) -> Reply:
    q = request.query
    if q.get("decision") != "approve":
        return back(q["redirect_uri"], {"error": "access_denied", "state": q.get("state", "")})
    code = secrets.token_urlsafe(24)
    with world.lock:
        world.pending_codes[code] = {"network": NETWORK, "user_id": q["user_id"], **q}
    return back(q["redirect_uri"], {"state": q["state"], "code": code})


def token(world: World, request: Request) -> Reply:
    form = request.form
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        with world.lock:
            pending = world.pending_codes.pop(form.get("code", ""), None)
        if pending is None or pending["network"] != NETWORK:
            return _x_oauth_error(
                "invalid_request", "Value passed for the authorization code was invalid."
            )
        if form.get("redirect_uri") != pending["redirect_uri"]:
            return _x_oauth_error("invalid_request", "redirect_uri does not match")
        verifier = form.get("code_verifier", "")
        if not pkce.valid_verifier(verifier):
            return _x_oauth_error("invalid_request", "Value passed for code_verifier was invalid.")
        if not pkce.matches(verifier, pending["code_challenge"],
                            pending.get("code_challenge_method", "plain")):
            return _x_oauth_error("invalid_request", "code_verifier does not match the challenge")
        return _x_tokens(world, pending["user_id"], tuple(pending.get("scope", "").split()))
    if grant_type == "refresh_token":
        with world.lock:
            old = world.refresh_tokens.pop(form.get("refresh_token", ""), None)
        if old is None or old.revoked:
            return _x_oauth_error("invalid_request", "Value passed for the token was invalid.")
        return _x_tokens(world, old.user_id, old.scopes)
    return _x_oauth_error("unsupported_grant_type", f"grant_type {grant_type!r}")


def access_lifetime(world: World) -> timedelta:
    """X's two hours, unless the scenario says otherwise (`service.x_access_lifetime_hours`:
    the living sandbox, whose clock runs thousands of times faster than the worker's refresh
    job was made for)."""
    hours = world.service.get("x_access_lifetime_hours")
    return timedelta(hours=float(hours)) if hours else X_ACCESS_LIFETIME


def _x_tokens(world: World, user_id: str, scopes: tuple[str, ...]) -> Reply:
    lifetime = access_lifetime(world)
    access = world.issue_token(NETWORK, user_id, scopes=scopes, lifetime=lifetime)
    body = {
        "token_type": "bearer",
        "expires_in": int(lifetime.total_seconds()),
        "access_token": access.token,
        "scope": " ".join(scopes),
    }
    if "offline.access" in scopes:
        refresh = f"xr-{secrets.token_urlsafe(24)}"
        with world.lock:
            world.refresh_tokens[refresh] = access
        body["refresh_token"] = refresh
    return json_reply(200, body)


def _x_oauth_error(error: str, description: str) -> Reply:
    return json_reply(400, {"error": error, "error_description": description})
