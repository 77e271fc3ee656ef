"""Logging for the processes: the one handler, its format, and redaction of every record.

Our code logs with `event(name, **fields)` (core.logs, re-exported here). `configure` puts
ONE handler on the root logger, so our events and every library's records (urllib3,
oauthlib, waitress, werkzeug, apscheduler ...) pass through the same RedactingFormatter,
which redacts the whole formatted line, message and traceback alike. `flattr run`,
`flattr web` and every other command call it (commands.main, commands.worker,
commands.web); runtime.app.build_app registers the deployment's secrets.

Several libraries log secrets at DEBUG: urllib3 logs every URL with its query string
(Graph tokens, `client_secret`), requests_oauthlib logs token responses, oauthlib logs
request bodies. `quiet_leaky_loggers` caps them at INFO as well; the web app's access log
(web.server) writes the path without its query string.
"""

from __future__ import annotations

import logging
import sys
from typing import IO

from core.logs import REDACTED, add_secrets, event, format_event, log, redact

__all__ = ["REDACTED", "LEAKY_LOGGERS", "RedactingFormatter", "add_secrets", "configure",
           "event", "format_event", "log", "quiet_leaky_loggers", "redact"]

LEAKY_LOGGERS = ("urllib3", "requests_oauthlib", "oauthlib", "tweepy", "facebook")
TIMESTAMPED = "%(asctime)s %(levelname)s %(message)s"


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then redacts the line: message, arguments and traceback."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure(level: str | int = "INFO", stream: IO[str] | None = None, *,
              timestamps: bool = True, libraries: str | int = logging.WARNING,
              force: bool = False) -> None:
    """Our events at `level`, libraries' records at `libraries` and above, one line each
    on `stream` (stderr by default), UTC timestamps unless `timestamps` is False (the
    one-shot commands print plain warnings). Like logging.basicConfig, it leaves a root
    logger that someone else gave handlers (a test runner, an embedding app) alone, unless
    `force`; only our events' level is set then."""
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h.formatter, RedactingFormatter)]
    log.handlers[:] = []
    log.setLevel(level)
    log.propagate = True
    quiet_leaky_loggers()
    if len(ours) < len(root.handlers) and not force:
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(RedactingFormatter(TIMESTAMPED if timestamps else "%(message)s",
                                            "%Y-%m-%dT%H:%M:%S%z"))
    root.handlers[:] = [h for h in root.handlers if h not in ours] + [handler]
    root.setLevel(libraries)


def quiet_leaky_loggers() -> None:
    for name in LEAKY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.INFO:
            logger.setLevel(logging.INFO)
