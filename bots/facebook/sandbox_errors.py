"""The Graph API's error shape, as the sandbox answers it."""

from __future__ import annotations

import secrets
from typing import Any

from bots.sandbox.replies import Reply, json_reply


def fb_error(
    status: int,
    code: int,
    message: str,
    subcode: int | None = None,
    error_type: str = "OAuthException",
    transient: bool | None = None,
) -> Reply:
    """Graph errors: always application/json, {"error": {...}} with a fbtrace_id."""
    error: dict[str, Any] = {
        "message": message,
        "type": error_type,
        "code": code,
        "fbtrace_id": "A" + secrets.token_hex(10),
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    if transient is not None:
        error["is_transient"] = transient
    return json_reply(status, {"error": error}, content_type="application/json; charset=UTF-8")
