"""Structured logs: one line per event, `event key=value ...`, never a token or a secret.

Several libraries log secrets at DEBUG: urllib3 logs every URL with its query string
(Graph tokens, `client_secret`), requests_oauthlib logs token responses, oauthlib logs
request bodies. `quiet_leaky_loggers` caps them at INFO; the web app's access log
(web.server) writes the path without its query string.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import IO, Any

log = logging.getLogger("flattr")
LEAKY_LOGGERS = ("urllib3", "requests_oauthlib", "oauthlib", "tweepy", "facebook")

_SECRET_KEY = re.compile(r"token|secret|password|authorization|cookie|key$", re.IGNORECASE)
# Bearer tokens and query-string tokens that might hide inside an error message.
_SECRET_TEXT = re.compile(
    r"(access_token=|bearer\s+|token[\"']?\s*[:=]\s*[\"']?)([A-Za-z0-9._~+/=-]{6,})",
    re.IGNORECASE)


def redact(text: str) -> str:
    return _SECRET_TEXT.sub(lambda m: m.group(1) + "[redacted]", text)


def _value(key: str, value: Any) -> str:
    if _SECRET_KEY.search(key):
        return "[redacted]"
    if isinstance(value, float):
        value = round(value, 4)
    shown = redact(value if isinstance(value, str) else json.dumps(value, default=str))
    if shown == "" or re.search(r"[\s\"=]", shown):
        return json.dumps(shown)
    return shown


def format_event(event: str, **fields: Any) -> str:
    parts = [event] + [f"{k}={_value(k, v)}" for k, v in fields.items() if v is not None]
    return " ".join(parts)


def event(name: str, level: int = logging.INFO, **fields: Any) -> None:
    if log.isEnabledFor(level):
        log.log(level, format_event(name, **fields))


def configure(level: str | int = "INFO", stream: IO[str] | None = None) -> None:
    """Log lines with a UTC timestamp to `stream` (stderr by default)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s",
                                           "%Y-%m-%dT%H:%M:%S%z"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def quiet_leaky_loggers() -> None:
    for name in LEAKY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.INFO:
            logger.setLevel(logging.INFO)
