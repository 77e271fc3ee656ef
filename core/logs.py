"""The one logging style: `event(name, **fields)` writes one line, `name key=value ...`, to
the `flattr` logger, never a token or a secret. Here, in core, so that core and bots (which
may not import runtime) log the same way; runtime.logs re-exports it and installs the
handler that `flattr run`, `flattr web` and every other command log through, which redacts
every record again (library loggers and tracebacks included).

What counts as a secret: a field whose name says so (token, secret, password, key ...);
text that looks like one (`access_token=...`, `Bearer ...`, `"client_secret": "..."`, a
Fernet token such as a sealed access token); and every value registered with
`add_secrets` (the deployment's own secrets, from its settings: runtime.app does it).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("flattr")
REDACTED = "[redacted]"

_SECRET_KEY = re.compile(r"token|secret|password|authorization|cookie|verifier|key$",
                         re.IGNORECASE)
# Bearer credentials, key=value and "key": "value" pairs whose key names a secret, and
# Fernet tokens (our sealed tokens) that might hide inside an error message.
_SECRET_TEXT = re.compile(
    r"(bearer\s+"
    r"|[A-Za-z_]*(?:token|secret|password|verifier)[\"']?\s*[:=]\s*[\"']?)"
    r"([A-Za-z0-9._~+/=%-]{6,})"
    r"|()(gAAAAA[A-Za-z0-9_=-]{20,})",
    re.IGNORECASE)
MIN_SECRET_LENGTH = 6  # shorter registered values would redact ordinary words
_known: frozenset[str] = frozenset()
_known_lock = threading.Lock()


def add_secrets(values: Iterable[str | None]) -> None:
    """Values that must never appear in a log line, wherever they turn up."""
    global _known
    fresh = {v for v in values if v and len(v) >= MIN_SECRET_LENGTH}
    with _known_lock:
        _known = _known | fresh


def redact(text: str) -> str:
    for secret in sorted(_known, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _SECRET_TEXT.sub(lambda m: (m.group(1) or m.group(3) or "") + REDACTED, text)


def _value(key: str, value: Any) -> str:
    if _SECRET_KEY.search(key):
        return REDACTED
    if isinstance(value, float):
        value = round(value, 4)
    shown = redact(value if isinstance(value, str) else json.dumps(value, default=str))
    if shown == "" or re.search(r"[\s\"=]", shown):
        return json.dumps(shown)
    return shown


def format_event(event: str, **fields: Any) -> str:
    parts = [event] + [f"{k}={_value(k, v)}" for k, v in fields.items() if v is not None]
    return " ".join(parts)


def event(name: str, level: int = logging.INFO, *, exc_info: bool = False,
          **fields: Any) -> None:
    """Log one event; `exc_info`: with the traceback of the exception being handled."""
    if log.isEnabledFor(level):
        log.log(level, format_event(name, **fields), exc_info=exc_info)
