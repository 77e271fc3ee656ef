"""X's webhooks (Account Activity API, X Activity API), verified and read; the web app does
the rest (web/webhooks.py). X signs with the app's consumer secret: the CRC answer is the
base64 HMAC-SHA256 of the challenge, and every POST carries `x-twitter-webhooks-signature`,
the same of the raw body."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from bots.registry import WebhookReply
from bots.x.parse import webhook_actions
from config import Settings


def x_signature(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def signature_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def webhook_secret(settings: Settings) -> str:
    return settings.x_consumer_secret or settings.x_client_secret


# X's challenge is a random token (base64 or base64url characters). The answer is signed
# with the secret that signs events, so nothing else may be signed: a JSON body (an event
# naming accounts) never matches, having braces, quotes and colons.
CRC_TOKEN = re.compile(r"[A-Za-z0-9+/_\-]{8,200}={0,2}")


def handshake(settings: Settings, args: Mapping[str, str]) -> WebhookReply:
    """The CRC check: X sends `crc_token` and expects its signature back."""
    crc_token = args.get("crc_token")
    if not crc_token or not CRC_TOKEN.fullmatch(crc_token):
        return WebhookReply(400, "")
    token = x_signature(webhook_secret(settings), crc_token.encode())
    return WebhookReply(200, json.dumps({"response_token": token}), "application/json")


def rejects(settings: Settings, body: bytes, headers: Mapping[str, str]) -> str | None:
    if signature_ok(x_signature(webhook_secret(settings), body),
                    headers.get("x-twitter-webhooks-signature")):
        return None
    return "bad or missing x-twitter-webhooks-signature"


def accounts(event: Any) -> list[str]:
    """The people whose likes or posts an event reports (Account Activity `for_user_id`,
    X Activity API `data.filter.user_id`): poll them. Events we do not use (follows, DMs,
    likes of the person's own posts) name nobody."""
    return _users(event, "poll")


def revoked(event: Any) -> list[str]:
    """The people who revoked our access (`user_event.revoke`, X Activity API
    `oauth.revoke`): their accounts need reconnecting."""
    return _users(event, "revoke")


def _users(event: Any, action: str) -> list[str]:
    return list(dict.fromkeys(a.user_id for a in webhook_actions(event) if a.action == action))
