"""Webhooks: the networks push, we poll sooner.

Every POST is verified before anything is read from it: Facebook's `X-Hub-Signature-256`
(hex HMAC-SHA256 of the raw body under the app secret), Facebook's `signed_request`
(base64url HMAC-SHA256 of the payload under the app secret), X's
`x-twitter-webhooks-signature` (base64 HMAC-SHA256 of the raw body under the consumer
secret). A request that fails gets 403 and changes nothing. A verified event makes the
account due now (`next_poll_at = now`): the poll does the reading, the event is only a hint.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from typing import Any, NoReturn

from flask import Blueprint, abort, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select, update

from bots.polling import make_due
from core import accounts
from core.db import rows_affected
from core.models import SocialAccount
from runtime import logs
from web.context import db_session, flattr_app

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


# -- verification (pure) -------------------------------------------------------------------

def hub_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def x_signature(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def signature_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def parse_signed_request(signed_request: str, secret: str) -> dict[str, Any] | None:
    """Facebook's signed_request, or None when malformed or not signed with `secret`.
    (facebook-sdk's version raises on malformed input and compares non-constant-time.)"""
    try:
        encoded_sig, payload = signed_request.split(".", 1)
        sig = _b64url(encoded_sig)
        expected = hmac.new(secret.encode(), payload.encode("ascii"), hashlib.sha256).digest()
        if not hmac.compare_digest(sig, expected):
            return None
        data = json.loads(_b64url(payload))
    except (ValueError, UnicodeError):
        return None
    if not isinstance(data, dict) or str(data.get("algorithm", "")).upper() != "HMAC-SHA256":
        return None
    return data


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def facebook_verify_token() -> str:
    settings = flattr_app().settings
    configured = getattr(settings, "facebook_webhook_verify_token", None)
    if configured:
        return str(configured)
    # Derived from the app secret when not configured: shown to operators on /admin.
    return hmac.new(settings.facebook_app_secret.encode(), b"flattr-webhook-verify",
                    hashlib.sha256).hexdigest()[:32]


def x_webhook_secret() -> str:
    settings = flattr_app().settings
    return str(getattr(settings, "x_consumer_secret", None) or settings.x_client_secret)


# -- Facebook ------------------------------------------------------------------------------

@bp.get("/facebook")
def facebook_handshake() -> ResponseReturnValue:
    args = request.args
    if args.get("hub.mode") != "subscribe" or not signature_ok(
            facebook_verify_token(), args.get("hub.verify_token")):
        abort(403)
    return args.get("hub.challenge", ""), 200, {"Content-Type": "text/plain"}


@bp.post("/facebook")
def facebook_event() -> ResponseReturnValue:
    body = request.get_data(cache=True)
    secret = flattr_app().settings.facebook_app_secret
    if not signature_ok(hub_signature(secret, body), request.headers.get("X-Hub-Signature-256")):
        _reject("facebook", "bad or missing X-Hub-Signature-256")
    try:
        event = json.loads(body)
    except ValueError:
        abort(400)
    users = [str(e.get("uid") or e.get("id")) for e in _entries(event)
             if e.get("uid") or e.get("id")]
    return jsonify(scheduled=_poll_soon("facebook", users))


@bp.post("/facebook/deauthorize")
def facebook_deauthorize() -> ResponseReturnValue:
    data = _signed_request()
    user_id = str(data.get("user_id") or "")
    changed = rows_affected(db_session().execute(
        update(SocialAccount)
        .where(SocialAccount.network == "facebook", SocialAccount.external_user_id == user_id)
        .values(status=accounts.STATUS_RECONNECT, token_ciphertext=None,
                refresh_ciphertext=None, token_expires_at=None,
                last_error="the app was removed on Facebook")))
    return jsonify(deauthorized=changed)


@bp.post("/facebook/data-deletion")
def facebook_data_deletion() -> ResponseReturnValue:
    data = _signed_request()
    user_id = str(data.get("user_id") or "")
    session = db_session()
    for account in session.query(SocialAccount).filter_by(network="facebook",
                                                          external_user_id=user_id):
        session.delete(account)
    code = _confirmation_code(user_id)
    base = flattr_app().settings.web_base_url
    path = url_for("webhooks.deletion_status", code=code)
    status_url = base.rstrip("/") + path if base else url_for(
        "webhooks.deletion_status", code=code, _external=True)
    return jsonify(url=status_url, confirmation_code=code)


@bp.get("/facebook/deletion/<code>")
def deletion_status(code: str) -> ResponseReturnValue:
    user_id, _, mac = code.partition(".")
    if not user_id or not signature_ok(_confirmation_code(user_id), code) or not mac:
        abort(404)
    return jsonify(confirmation_code=code, status="deleted")


def _signed_request() -> dict[str, Any]:
    secret = flattr_app().settings.facebook_app_secret
    data = parse_signed_request(request.form.get("signed_request", ""), secret)
    if data is None:
        _reject("facebook", "bad or missing signed_request")
    return data


def _confirmation_code(user_id: str) -> str:
    secret = flattr_app().settings.facebook_app_secret.encode()
    mac = hmac.new(secret, b"deletion:" + user_id.encode(), hashlib.sha256).hexdigest()[:20]
    return f"{user_id}.{mac}"


def _entries(event: Any) -> list[dict[str, Any]]:
    if not isinstance(event, dict) or not isinstance(event.get("entry"), list):
        return []
    return [e for e in event["entry"] if isinstance(e, dict)]


# -- X -------------------------------------------------------------------------------------

@bp.get("/x")
def x_crc() -> ResponseReturnValue:
    crc_token = request.args.get("crc_token")
    if not crc_token:
        abort(400)
    return jsonify(response_token=x_signature(x_webhook_secret(), crc_token.encode()))


@bp.post("/x")
def x_event() -> ResponseReturnValue:
    body = request.get_data(cache=True)
    if not signature_ok(x_signature(x_webhook_secret(), body),
                        request.headers.get("x-twitter-webhooks-signature")):
        _reject("x", "bad or missing x-twitter-webhooks-signature")
    try:
        event = json.loads(body)
    except ValueError:
        abort(400)
    return jsonify(scheduled=_poll_soon("x", _x_users(event)))


def _x_users(event: Any) -> list[str]:
    """Account Activity (`for_user_id`) and X Activity API (`data.filter.user_id`)."""
    if not isinstance(event, dict):
        return []
    users = [event.get("for_user_id")]
    data = event.get("data")
    if isinstance(data, dict) and isinstance(data.get("filter"), dict):
        users.append(data["filter"].get("user_id"))
    return [str(u) for u in users if u]


def _reject(network: str, reason: str) -> NoReturn:
    logs.event("webhook.rejected", level=logging.WARNING, network=network, reason=reason,
               path=request.path)
    abort(403)


def _poll_soon(network: str, external_ids: list[str]) -> int:
    """Make the accounts due now, every stream of their cursor included (bots.polling.
    make_due); an account leased by a worker is being polled already and is left alone."""
    if not external_ids:
        return 0
    now, session = flattr_app().now(), db_session()
    free = (SocialAccount.lease_until.is_(None)) | (SocialAccount.lease_until <= now)
    rows = session.execute(
        select(SocialAccount.id, SocialAccount.cursor)
        .where(SocialAccount.network == network,
               SocialAccount.external_user_id.in_(sorted(set(external_ids))),
               SocialAccount.status == accounts.STATUS_ACTIVE, free)
    ).all()
    scheduled = 0
    for account_id, cursor in rows:
        due = make_due(json.loads(cursor)) if cursor else None
        scheduled += rows_affected(session.execute(
            update(SocialAccount).where(SocialAccount.id == account_id, free).values(
                next_poll_at=now, cursor=json.dumps(due, sort_keys=True) if due else cursor)
        ))
    logs.event("webhook.scheduled", network=network, accounts=scheduled)
    return scheduled
