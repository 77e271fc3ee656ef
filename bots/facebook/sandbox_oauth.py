"""Facebook's OAuth flow in the sandbox: GET /vNN.N/dialog/oauth -> approve -> redirect;
/vNN.N/oauth/access_token exchanges a code, or a short token for a long-lived one
(fb_exchange_token)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from bots.facebook import NETWORK
from bots.facebook.sandbox_errors import fb_error
from bots.sandbox.oauth import approve_page, back
from bots.sandbox.replies import Reply, html_reply, json_reply
from bots.sandbox.request import Request
from bots.sandbox.world import World

FB_SHORT_LIFETIME = timedelta(hours=2)
FB_LONG_LIFETIME = timedelta(days=60)


def dialog(world: World, request: Request, version: str) -> Reply:
    q = request.query
    if not q.get("client_id") or not q.get("redirect_uri"):
        return html_reply(400, "<h1>Invalid dialog request</h1>client_id and redirect_uri needed")
    people = [
        (p["facebook"]["user_id"], p.get("name", p["key"])) for p in world.people if "facebook" in p
    ]
    known = {user_id for user_id, _ in people}
    others = [(u["id"], u.get("name") or u["id"]) for u in world.fb_users.values()
              if u["id"] not in known]
    return approve_page(
        "Log in to Flattr with Facebook", f"/{version}/dialog/oauth/approve", dict(q), people,
        others=others, network="Facebook",
    )


def approve(world: World, request: Request) -> Reply:
    q = request.query
    if q.get("decision") != "approve":
        return back(
            q["redirect_uri"],
            {"error": "access_denied", "error_reason": "user_denied", "state": q.get("state", "")},
        )
    code = secrets.token_urlsafe(24)
    with world.lock:
        world.pending_codes[code] = {"network": NETWORK, **q}
    params = {"code": code}
    if q.get("state"):
        params["state"] = q["state"]
    return back(q["redirect_uri"], params)


def access_token(world: World, request: Request) -> Reply:
    if request.param("grant_type") == "fb_exchange_token":
        short = world.grant_for(request.param("fb_exchange_token"), NETWORK)
        if short is None:
            return fb_error(400, 190, "Error validating access token", subcode=463)
        long = world.issue_token(
            NETWORK, short.user_id, scopes=short.scopes, lifetime=FB_LONG_LIFETIME
        )
        return _fb_tokens(long.token, FB_LONG_LIFETIME)
    with world.lock:
        pending = world.pending_codes.pop(request.param("code") or "", None)
    if pending is None or pending["network"] != NETWORK:
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
        NETWORK, pending["user_id"], scopes=scopes, lifetime=FB_SHORT_LIFETIME
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
