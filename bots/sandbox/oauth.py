"""Both networks' OAuth flows: an approve page per network, and the token endpoints.

X: GET /i/oauth2/authorize (PKCE S256) -> approve -> redirect with code+state; POST
/2/oauth2/token with authorization_code (verifier checked) or refresh_token (rotating: each
refresh token works once). Facebook: GET /vNN.N/dialog/oauth -> approve -> redirect;
/vNN.N/oauth/access_token exchanges a code, or a short token for a long-lived one
(fb_exchange_token)."""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
from datetime import timedelta
from urllib.parse import urlencode

from bots.sandbox.replies import Reply, fb_error, html_reply, json_reply, redirect
from bots.sandbox.request import Request
from bots.sandbox.world import World

X_ACCESS_LIFETIME = timedelta(hours=2)
FB_SHORT_LIFETIME = timedelta(hours=2)
FB_LONG_LIFETIME = timedelta(days=60)


def _approve_page(
    title: str, action: str, hidden: dict[str, str], choices: list[tuple[str, str]]
) -> Reply:
    fields = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in hidden.items()
    )
    options = "".join(
        f'<option value="{html.escape(v)}">{html.escape(label)}</option>' for v, label in choices
    )
    page = (
        f"<!doctype html><title>{html.escape(title)}</title><h1>{html.escape(title)}</h1>"
        f'<form method="get" action="{html.escape(action)}">{fields}'
        f'<label>Sign in as <select name="user_id">{options}</select></label> '
        f'<button type="submit" name="decision" value="approve">Authorize app</button> '
        f'<button type="submit" name="decision" value="deny">Cancel</button></form>'
    )
    return html_reply(200, page)


def _back(redirect_uri: str, params: dict[str, str]) -> Reply:
    joiner = "&" if "?" in redirect_uri else "?"
    return redirect(redirect_uri + joiner + urlencode(params))


# -- X ---------------------------------------------------------------------------------------


def x_authorize(world: World, request: Request) -> Reply:
    q = request.query
    missing = [
        k
        for k in ("response_type", "client_id", "redirect_uri", "state", "code_challenge")
        if not q.get(k)
    ]
    if missing or q.get("response_type") != "code":
        return html_reply(400, f"<h1>Invalid authorize request</h1>missing: {missing}")
    if q.get("code_challenge_method", "plain") not in ("S256", "plain"):
        return html_reply(400, "<h1>Unsupported code_challenge_method</h1>")
    people = [
        (p["x"]["user_id"], f"@{p['x'].get('username', p['key'])}")
        for p in world.people
        if "x" in p
    ]
    return _approve_page(
        "Authorize Flattr to use your X account", "/i/oauth2/authorize/approve", dict(q), people
    )


def x_approve(world: World, request: Request) -> Reply:
    q = request.query
    if q.get("decision") != "approve":
        return _back(q["redirect_uri"], {"error": "access_denied", "state": q.get("state", "")})
    code = secrets.token_urlsafe(24)
    with world.lock:
        world.pending_codes[code] = {"network": "x", "user_id": q["user_id"], **q}
    return _back(q["redirect_uri"], {"state": q["state"], "code": code})


def x_token(world: World, request: Request) -> Reply:
    form = request.form
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        with world.lock:
            pending = world.pending_codes.pop(form.get("code", ""), None)
        if pending is None or pending["network"] != "x":
            return _x_oauth_error(
                "invalid_request", "Value passed for the authorization code was invalid."
            )
        if form.get("redirect_uri") != pending["redirect_uri"]:
            return _x_oauth_error("invalid_request", "redirect_uri does not match")
        if not _pkce_ok(
            form.get("code_verifier", ""),
            pending["code_challenge"],
            pending.get("code_challenge_method", "plain"),
        ):
            return _x_oauth_error("invalid_request", "code_verifier does not match the challenge")
        return _x_tokens(world, pending["user_id"], tuple(pending.get("scope", "").split()))
    if grant_type == "refresh_token":
        with world.lock:
            old = world.refresh_tokens.pop(form.get("refresh_token", ""), None)
        if old is None or old.revoked:
            return _x_oauth_error("invalid_request", "Value passed for the token was invalid.")
        return _x_tokens(world, old.user_id, old.scopes)
    return _x_oauth_error("unsupported_grant_type", f"grant_type {grant_type!r}")


def _x_tokens(world: World, user_id: str, scopes: tuple[str, ...]) -> Reply:
    access = world.issue_token("x", user_id, scopes=scopes, lifetime=X_ACCESS_LIFETIME)
    body = {
        "token_type": "bearer",
        "expires_in": int(X_ACCESS_LIFETIME.total_seconds()),
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


def _pkce_ok(verifier: str, challenge: str, method: str) -> bool:
    if method == "plain":
        return secrets.compare_digest(verifier, challenge)
    digest = hashlib.sha256(verifier.encode()).digest()
    expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return secrets.compare_digest(expected, challenge)


# -- Facebook --------------------------------------------------------------------------------


def fb_dialog(world: World, request: Request, version: str) -> Reply:
    q = request.query
    if not q.get("client_id") or not q.get("redirect_uri"):
        return html_reply(400, "<h1>Invalid dialog request</h1>client_id and redirect_uri needed")
    people = [
        (p["facebook"]["user_id"], p.get("name", p["key"])) for p in world.people if "facebook" in p
    ]
    return _approve_page(
        "Log in to Flattr with Facebook", f"/{version}/dialog/oauth/approve", dict(q), people
    )


def fb_approve(world: World, request: Request) -> Reply:
    q = request.query
    if q.get("decision") != "approve":
        return _back(
            q["redirect_uri"],
            {"error": "access_denied", "error_reason": "user_denied", "state": q.get("state", "")},
        )
    code = secrets.token_urlsafe(24)
    with world.lock:
        world.pending_codes[code] = {"network": "facebook", **q}
    params = {"code": code}
    if q.get("state"):
        params["state"] = q["state"]
    return _back(q["redirect_uri"], params)


def fb_access_token(world: World, request: Request) -> Reply:
    if request.param("grant_type") == "fb_exchange_token":
        short = world.grant_for(request.param("fb_exchange_token"), "facebook")
        if short is None:
            return fb_error(400, 190, "Error validating access token", subcode=463)
        long = world.issue_token(
            "facebook", short.user_id, scopes=short.scopes, lifetime=FB_LONG_LIFETIME
        )
        return _fb_tokens(long.token, FB_LONG_LIFETIME)
    with world.lock:
        pending = world.pending_codes.pop(request.param("code") or "", None)
    if pending is None or pending["network"] != "facebook":
        return fb_error(400, 100, "Invalid verification code format.", error_type="OAuthException")
    if request.param("redirect_uri") != pending["redirect_uri"]:
        return fb_error(
            400,
            100,
            "Error validating verification code. Please make sure your "
            "redirect_uri is identical to the one you used in the OAuth dialog request",
        )
    scopes = tuple(filter(None, pending.get("scope", "public_profile").split(",")))
    grant = world.issue_token(
        "facebook", pending["user_id"], scopes=scopes, lifetime=FB_SHORT_LIFETIME
    )
    return _fb_tokens(grant.token, FB_SHORT_LIFETIME)


def _fb_tokens(token: str, lifetime: timedelta) -> Reply:
    return json_reply(
        200,
        {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": int(lifetime.total_seconds()),
        },
    )
