"""HTTP answers of the sandbox, in each network's own error shapes."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # 'disconnect': announce the full length, send half, close (a broken connection).
    mode: str = "normal"


def json_reply(
    status: int,
    payload: Any,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json; charset=utf-8",
) -> Reply:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Reply(status, body, {"Content-Type": content_type, **(headers or {})})


def html_reply(status: int, html: str) -> Reply:
    return Reply(status, html.encode(), {"Content-Type": "text/html; charset=utf-8"})


def redirect(location: str) -> Reply:
    return Reply(302, b"", {"Location": location})


_X_TITLES = {
    400: "Invalid Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found Error",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def x_problem(
    status: int,
    detail: str | None = None,
    problem_type: str = "about:blank",
    headers: dict[str, str] | None = None,
) -> Reply:
    """X API v2 errors are RFC 7807 problem+json."""
    title = _X_TITLES.get(status, "Error")
    payload: dict[str, Any] = {
        "title": title,
        "detail": detail or title,
        "type": problem_type,
        "status": status,
    }
    if status == 400:
        payload["errors"] = [{"message": detail or title, "parameters": {}}]
    return json_reply(status, payload, headers, "application/problem+json")


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
