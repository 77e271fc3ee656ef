"""HTTP answers of the sandbox (each network's error shapes are in its own sandbox.py)."""

from __future__ import annotations

import json
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
