"""Serving the app. `flattr web` uses waitress, a production WSGI server (put TLS in front
of it); the tests use werkzeug's threaded server, which they can stop in-process. Neither
access log shows query strings (OAuth callbacks carry codes and states in theirs).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from runtime import logs

access = logging.getLogger("web.access")  # its own logger: `flattr web` shows it at INFO


class QuietRequestHandler(WSGIRequestHandler):
    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        path = self.path.split("?", 1)[0]
        access.info(logs.format_event("http.request", remote=self.address_string(),
                                      method=self.command, path=path, status=code))

    def log(self, type: str, message: str, *args: Any) -> None:  # errors: no request line
        # werkzeug's own %-style message (a library's stdlib logging call, passed on).
        getattr(access, type if type in ("info", "warning", "error") else "info")(
            message.split("?", 1)[0] if "%" not in message else message, *args)


def make(flask_app: Flask, host: str, port: int) -> BaseWSGIServer:
    return make_server(host, port, flask_app, threaded=True,
                       request_handler=QuietRequestHandler)


class ProductionServer:
    """waitress, with the same three methods as werkzeug's server."""

    def __init__(self, flask_app: Flask, host: str, port: int, threads: int = 8) -> None:
        from waitress.server import create_server

        self._server = create_server(flask_app, host=host, port=port, threads=threads,
                                     ident="flattr")
        self.server_port = int(self._server.effective_port)  # type: ignore[union-attr]

    def serve_forever(self) -> None:
        self._server.run()

    def server_close(self) -> None:
        self._server.close()


def make_production(flask_app: Flask, host: str, port: int) -> ProductionServer:
    return ProductionServer(flask_app, host, port)
