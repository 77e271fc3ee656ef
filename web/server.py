"""Serving the app: werkzeug's threaded WSGI server, with an access log that never shows
query strings (OAuth callbacks carry codes and states in theirs).

No production-grade WSGI server (waitress, gunicorn) is installed in this environment; for
production run `web.wsgi:application` under one, behind TLS.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

log = logging.getLogger("web.access")


class QuietRequestHandler(WSGIRequestHandler):
    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        path = self.path.split("?", 1)[0]
        log.info('%s "%s %s" %s', self.address_string(), self.command, path, code)

    def log(self, type: str, message: str, *args: Any) -> None:  # errors: no request line
        getattr(log, type if type in ("info", "warning", "error") else "info")(
            message.split("?", 1)[0] if "%" not in message else message, *args)


def make(flask_app: Flask, host: str, port: int) -> BaseWSGIServer:
    return make_server(host, port, flask_app, threaded=True,
                       request_handler=QuietRequestHandler)
