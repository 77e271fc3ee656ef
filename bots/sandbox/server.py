"""The sandbox HTTP server: stdlib ThreadingHTTPServer, HTTP/1.1 keep-alive, TCP_NODELAY
(without it a keep-alive connection stalls on delayed ACKs: ~23 requests/s).

The server is generic: each registered network's SandboxHandler (bots/<network>/sandbox.py,
found through bots.registry) answers its own paths and shapes its own injected faults."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from bots import registry
from bots.registry import SandboxHandler
from bots.sandbox.faults import Fault, FaultTable
from bots.sandbox.oauth import stylesheet
from bots.sandbox.replies import Reply, html_reply, json_reply
from bots.sandbox.request import Request
from bots.sandbox.world import World, load_world


class SandboxServer:
    """A running sandbox. Drive it from Python: set_now/advance (the clock), add_fault/
    clear_faults, revoke_token, sent_messages; or over HTTP under /_sandbox/."""

    def __init__(self, world: World, host: str = "127.0.0.1", port: int = 0,
                 handlers: tuple[SandboxHandler, ...] | None = None) -> None:
        self.world = world
        # The registered networks', unless given (a test's own network).
        self.handlers = handlers if handlers is not None else tuple(
            spec.sandbox for spec in registry.all_networks() if spec.sandbox is not None)
        if not self.handlers:  # it would answer 404 to everything
            raise RuntimeError("the sandbox emulates no network: register them first "
                               "(bots.networks.install())")
        self.faults = FaultTable()
        for options in world.faults:  # the scenario's own (its `faults` list)
            self.faults.add(**options)
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.sandbox = self
        self._thread: threading.Thread | None = None
        self.services: dict[str, str] = {}  # the handlers' own servers: name -> URL
        self._stops: list[Callable[[], None]] = []
        bound_host, bound_port = self._httpd.server_address[:2]
        self.base_url = f"http://{bound_host!s}:{bound_port}"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            name="sandbox",
            kwargs={"poll_interval": 0.1},
            daemon=True,
        )
        self._thread.start()
        self._start_services()
        return self

    def _start_services(self) -> None:
        for handler in self.handlers:
            for service in handler.serve(self) if handler.serve else []:
                self.services[service.name] = service.url
                self._stops.append(service.stop)

    def serve_forever(self) -> None:
        self._start_services()
        self._httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        for stop in self._stops:
            stop()
        self._stops.clear()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- Python API ------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self.world.current_time()

    def set_now(self, moment: datetime | str) -> None:
        self.world.set_now(moment)

    def set_clock(self, clock: Callable[[], datetime]) -> None:
        self.world.clock = clock

    def advance(self, delta: timedelta) -> datetime:
        return self.world.advance(delta)

    def add_fault(self, kind: str, **options: Any) -> int:
        """See bots.sandbox.faults.Fault; returns an id for remove_fault."""
        return self.faults.add(kind, **options)

    def remove_fault(self, fault_id: int) -> None:
        self.faults.remove(fault_id)

    def clear_faults(self) -> None:
        self.faults.clear()

    def revoke_token(self, token: str) -> None:
        self.world.revoke(token)

    def sent_messages(self) -> list[dict]:
        with self.world.lock:
            return list(self.world.sent)

    def request_counts(self) -> dict[str, int]:
        with self.world.lock:
            return dict(self.world.requests_by_route)

    # -- dispatch --------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Reply:
        if request.path.startswith("/_sandbox/"):
            return self._admin(request)
        token = request.bearer or request.param("access_token")
        target = request.path + ("?" + urlencode(request.query) if request.query else "")
        latency, fault = self.faults.take(target, token)
        if latency:
            time.sleep(latency / 1000)
        if fault is not None:
            return _inject(self, fault, request)
        return self._route(request)

    def _route(self, request: Request) -> Reply:
        for handler in self.handlers:
            reply = handler.route(self.world, request)
            if reply is not None:
                return reply
        return html_reply(404, f"<h1>Not found</h1>{request.path}")

    def _admin(self, request: Request) -> Reply:
        """POST /_sandbox/faults {kind,...}; DELETE /_sandbox/faults; GET /_sandbox/faults;
        POST /_sandbox/clock {"now": iso} or {"advance_s": n}; GET /_sandbox/sent;
        POST /_sandbox/revoke {"token": ...}; GET /_sandbox/consent.css."""
        what = request.path[len("/_sandbox/") :]
        if what == "consent.css":  # the consent pages' stylesheet (bots/sandbox/oauth.py)
            return stylesheet()
        payload = request.json or {}
        try:
            if what == "faults" and request.method == "POST":
                return json_reply(201, {"id": self.add_fault(**payload)})
            if what == "faults" and request.method == "DELETE":
                self.clear_faults()
                return json_reply(200, {"cleared": True})
            if what == "faults":
                return json_reply(200, {"faults": self.faults.list()})
            if what == "clock" and request.method == "POST":
                if "advance_s" in payload:
                    self.advance(timedelta(seconds=float(payload["advance_s"])))
                else:
                    self.set_now(payload["now"])
                return json_reply(200, {"now": self.now.isoformat()})
            if what == "clock":
                return json_reply(200, {"now": self.now.isoformat()})
            if what == "services":
                return json_reply(200, {"services": self.services})
            if what == "sent":
                return json_reply(200, {"sent": self.sent_messages()})
            if what == "revoke" and request.method == "POST":
                self.revoke_token(payload["token"])
                return json_reply(200, {"revoked": True})
        except (TypeError, ValueError, KeyError) as exc:
            return json_reply(400, {"error": f"{type(exc).__name__}: {exc}"})
        return json_reply(404, {"error": f"unknown admin path {request.path}"})


def _inject(server: SandboxServer, fault: Fault, request: Request) -> Reply:
    """The answer a fault gives: in the shape of the network whose path it is (its
    handler's `fault`), else the real answer, spoilt as the fault says."""
    owner = next((h for h in server.handlers if h.owns(request.path)), None)
    shaped = owner.fault(fault, server.now) if owner is not None else None
    if shaped is not None:
        return shaped
    real = server._route(request)
    if fault.kind == "malformed":
        real.status, real.body = 200, b"<html>upstream hiccup</html>" + real.body[:10]
    elif fault.kind == "truncated":
        real.body = real.body[: max(1, len(real.body) // 2)]
    elif fault.kind == "disconnect":
        real.mode = "disconnect"
    return real


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    sandbox: SandboxServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up is part of the game (latency faults).
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests and benches
        pass

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            self.command,
            parts.path,
            dict(parse_qsl(parts.query, keep_blank_values=True)),
            {k.lower(): v for k, v in self.headers.items()},
            body,
            raw_query=parts.query,
        )
        try:
            reply = self.server.sandbox.dispatch(request)
        except Exception as exc:  # a sandbox bug must not hang the client
            reply = json_reply(500, {"error": f"sandbox bug: {type(exc).__name__}: {exc}"})
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        if reply.mode == "disconnect":
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(reply.body[: len(reply.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = do_POST = do_DELETE = do_PUT = _serve


def start_sandbox(
    scenario: dict | str | Path,
    host: str = "127.0.0.1",
    port: int = 0,
    clock: Callable[[], datetime] | None = None,
    handlers: tuple[SandboxHandler, ...] | None = None,
) -> SandboxServer:
    """Load a scenario (dict, JSON text or file path) and serve it in a background thread;
    `handlers`: the networks it emulates (default: every registered one)."""
    return SandboxServer(load_world(scenario, clock), host, port, handlers).start()


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=str)
