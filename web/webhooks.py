"""Webhooks: the networks push, we poll sooner.

Each registered network with a NetworkSpec.webhook answers at /webhooks/<network>. Every
POST is verified before anything is read from it (the network's `rejects`: Facebook's
`X-Hub-Signature-256`, X's `x-twitter-webhooks-signature`, each an HMAC of the raw body); a
request that fails gets 403 and changes nothing. A verified event makes the accounts it
names due now (core.accounts.wake: their next poll reads every stream): the poll does the
reading, the event is only a hint; an event about something that cannot mean a flattr (a
changed email) names nobody. An event saying the person revoked our access (X), like
Facebook's signed deauthorize callback, revokes the account (core.accounts.revoke: tokens
wiped, the person told once); a data deletion request deletes it (core.accounts.forget).

A signed body is still bounded before it is parsed (core.inputs.load_json: a deep one is a
400, not a RecursionError). A replayed event (same network, same body, within
DEDUPE_WINDOW) changes nothing: its digest is kept in `webhook_events`, shared by every web
process. An account is woken at most once per FLATTR_WEBHOOK_MIN_WAKE_SECONDS however many
distinct events name it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import timedelta
from typing import NoReturn

from flask import Blueprint, abort, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import delete

from bots import registry
from bots.registry import Webhook
from core import accounts, inputs
from core.db import rows_affected
from core.models import WebhookEvent, timed
from runtime import logs
from web.context import db_session, flattr_app

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

DEDUPE_WINDOW = timedelta(days=2)
MAX_EVENT_BYTES = 512 * 1024
MAX_EVENT_DEPTH = 32


def _webhook(network: str) -> Webhook:
    spec = registry.find(network)
    if spec is None or spec.webhook is None:
        abort(404)
    return spec.webhook


@bp.get("/<network>")
def handshake(network: str) -> ResponseReturnValue:
    reply = _webhook(network).handshake(flattr_app().settings, request.args)
    if reply.status >= 400:
        abort(reply.status)
    return reply.body, reply.status, {"Content-Type": reply.content_type}


@bp.post("/<network>")
def event(network: str) -> ResponseReturnValue:
    webhook = _webhook(network)
    body = request.get_data(cache=True)
    headers = {name.lower(): value for name, value in request.headers.items()}
    reason = webhook.rejects(flattr_app().settings, body, headers)
    if reason is not None:
        _reject(network, reason)
    pushed = inputs.load_json(body, what="the event", max_bytes=MAX_EVENT_BYTES,
                              max_depth=MAX_EVENT_DEPTH)  # an InvalidInput is a 400
    if not _first_time(network, body):
        logs.event("webhook.replayed", network=network)
        return jsonify(scheduled=0, revoked=0, duplicate=True)
    app = flattr_app()
    revoked = webhook.revoked(pushed) if webhook.revoked is not None else []
    gone = _revoke(network, revoked, f"access was revoked on {registry.get(network).display_name}")
    cap = app.settings.webhook_min_wake_seconds
    scheduled = accounts.wake(db_session(), network, webhook.accounts(pushed), now=app.now(),
                              min_interval=timedelta(seconds=cap) if cap else None)
    logs.event("webhook.scheduled", network=network, accounts=scheduled)
    return jsonify(scheduled=scheduled, revoked=gone)


@bp.post("/<network>/deauthorize")
def deauthorize(network: str) -> ResponseReturnValue:
    """The person removed the app on the network: the account is revoked (its tokens
    forgotten, the person asked once to reconnect)."""
    user_id = _signed_user(network)
    name = registry.get(network).display_name
    return jsonify(deauthorized=_revoke(network, [user_id], f"the app was removed on {name}"))


@bp.post("/<network>/data-deletion")
def data_deletion(network: str) -> ResponseReturnValue:
    user_id = _signed_user(network)
    accounts.forget(db_session(), network, user_id)
    code = _confirmation(network, user_id)
    base = flattr_app().settings.web_base_url
    path = url_for("webhooks.deletion_status", network=network, code=code)
    status_url = base.rstrip("/") + path if base else url_for(
        "webhooks.deletion_status", network=network, code=code, _external=True)
    return jsonify(url=status_url, confirmation_code=code)


@bp.get("/<network>/deletion/<code>")
def deletion_status(network: str, code: str) -> ResponseReturnValue:
    user_id, _, mac = code.partition(".")
    if not user_id or not mac or not hmac.compare_digest(
            _confirmation(network, user_id).encode(), code.encode()):
        abort(404)
    return jsonify(confirmation_code=code, status="deleted")


def _signed_user(network: str) -> str:
    webhook = _webhook(network)
    if webhook.signed_user is None:
        abort(404)
    user_id = webhook.signed_user(flattr_app().settings, request.form.get("signed_request", ""))
    if user_id is None:
        _reject(network, "bad or missing signed_request")
    return user_id


def _confirmation(network: str, user_id: str) -> str:
    webhook = _webhook(network)
    if webhook.confirmation is None:
        abort(404)
    return webhook.confirmation(flattr_app().settings, user_id)


def _reject(network: str, reason: str) -> NoReturn:
    logs.event("webhook.rejected", level=logging.WARNING, network=network, reason=reason,
               path=request.path)
    abort(403)


def _revoke(network: str, external_ids: list[str], reason: str) -> int:
    """The person took our access away on the network (core.accounts.revoke)."""
    now, session = flattr_app().now(), db_session()
    gone = sum(accounts.revoke(session, network, user, now=now, reason=reason)
               for user in sorted(set(external_ids)))
    if external_ids:
        logs.event("webhook.revoked", network=network, accounts=gone)
    return gone


def _first_time(network: str, body: bytes) -> bool:
    """Record the event's digest; False when it was seen within DEDUPE_WINDOW (by any web
    process: the digest is the table's key, so of two deliveries at once one wins)."""
    now, session = flattr_app().now(), db_session()
    session.execute(delete(WebhookEvent).where(WebhookEvent.received_at < now - DEDUPE_WINDOW))
    digest = hashlib.sha256(network.encode() + b"\0" + body).hexdigest()
    return bool(rows_affected(session.execute(
        timed("INSERT INTO webhook_events (digest, network, received_at)"
              " VALUES (:digest, :network, :now) ON CONFLICT (digest) DO NOTHING", "now"),
        {"digest": digest, "network": network, "now": now})))


