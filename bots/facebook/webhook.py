"""Facebook's webhooks, verified and read; the web app does the rest (web/webhooks.py).

The subscription check (GET) must echo `hub.challenge` when `hub.verify_token` is ours.
Every event POST carries `X-Hub-Signature-256`, the hex HMAC-SHA256 of the raw body under
the app secret. The deauthorize and data-deletion callbacks post a `signed_request`
(base64url HMAC-SHA256 of the payload under the app secret) naming the user.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from bots.facebook.parse import users_to_poll
from bots.registry import WebhookReply
from config import Settings
from core import inputs
from core.errors import UserError


def hub_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


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
        data = inputs.load_json(_b64url(payload), what="signed_request", max_depth=16)
    except (ValueError, UnicodeError, UserError):  # a deep payload is no signed_request
        return None
    if not isinstance(data, dict) or str(data.get("algorithm", "")).upper() != "HMAC-SHA256":
        return None
    return data


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_token(settings: Settings) -> str:
    """FLATTR_FACEBOOK_WEBHOOK_VERIFY_TOKEN, or one derived from the app secret (shown to
    operators on /admin, to paste into the app's webhook settings)."""
    if settings.facebook_webhook_verify_token:
        return settings.facebook_webhook_verify_token
    return hmac.new(settings.facebook_app_secret.encode(), b"flattr-webhook-verify",
                    hashlib.sha256).hexdigest()[:32]


def handshake(settings: Settings, args: Mapping[str, str]) -> WebhookReply:
    if args.get("hub.mode") != "subscribe" or not signature_ok(
            verify_token(settings), args.get("hub.verify_token")):
        return WebhookReply(403, "")
    return WebhookReply(200, args.get("hub.challenge", ""))


def rejects(settings: Settings, body: bytes, headers: Mapping[str, str]) -> str | None:
    if signature_ok(hub_signature(settings.facebook_app_secret, body),
                    headers.get("x-hub-signature-256")):
        return None
    return "bad or missing X-Hub-Signature-256"


def accounts(event: Any) -> list[str]:
    """The users whose feed or likes an event says changed (the event only says something
    changed: poll them), in the current `changes[]` and the older `changed_fields` shapes;
    a change to a field that means nothing to us (email, photos) names nobody."""
    return users_to_poll(event)


def signed_user(settings: Settings, signed_request: str) -> str | None:
    """The user a deauthorize or data-deletion callback names; None when not genuine."""
    data = parse_signed_request(signed_request, settings.facebook_app_secret)
    return None if data is None else str(data.get("user_id") or "")


def confirmation(settings: Settings, user_id: str) -> str:
    """A data deletion's confirmation code: the user id and a MAC only we can make."""
    secret = settings.facebook_app_secret.encode()
    mac = hmac.new(secret, b"deletion:" + user_id.encode(), hashlib.sha256).hexdigest()[:20]
    return f"{user_id}.{mac}"
