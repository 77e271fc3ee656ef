"""The sandbox's Jetstream v1: a websocket server (the `websockets` package's sync server)
on its own loopback port that streams the world's events in the real event shape.

`GET /subscribe?wantedCollections=...&wantedDids=...&cursor=<time_us>`: at most 100
collections (a prefix like `app.bsky.feed.*` allowed) and 10,000 DIDs; without a cursor it
tails from now; a cursor is replayed from (inclusive, so the last event seen comes again),
but never from before the replay window (`BlueskyWorld.window`): an older cursor is
silently moved to the oldest kept event, as Jetstream does. With `requireHello=true`
nothing is sent until the client's first message, an `options_update` with its
wantedDids. New events are sent as the sandbox clock passes them.

Faults (server.add_fault(kind, path="subscribe", after=N, times=1)), taken once per
connection: 'disconnect' (the TCP connection drops after N events), 'duplicate' (from the
Nth event on, each is sent twice), 'slow_consumer' (closed with 1008 after N events, as a
server drops a client that does not keep up), 'latency' (each event delayed by
latency_ms), 'status' / 'rate_limit' (the handshake refused with that HTTP status).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request as WsRequest
from websockets.http11 import Response as WsResponse
from websockets.sync.server import ServerConnection, serve

from bots.bluesky.ids import time_us
from bots.bluesky.sandbox_world import BlueskyWorld, bluesky_of
from bots.registry import Service
from bots.sandbox.faults import Fault

if TYPE_CHECKING:
    from bots.sandbox.server import SandboxServer

MAX_COLLECTIONS, MAX_DIDS = 100, 10_000
TICK_S = 0.01  # how often a caught-up connection looks for newly visible events


def start_jetstream(server: SandboxServer) -> Service:
    host = server.base_url.split("://", 1)[1].rsplit(":", 1)[0]
    faults: dict[int, Fault | None] = {}
    stopping = threading.Event()

    def process_request(connection: ServerConnection, request: WsRequest) -> WsResponse | None:
        parts = urlsplit(request.path)
        if parts.path != "/subscribe":
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        params = parse_qsl(parts.query, keep_blank_values=True)
        collections = [v for k, v in params if k == "wantedCollections"]
        dids = [v for k, v in params if k == "wantedDids"]
        if len(collections) > MAX_COLLECTIONS or len(dids) > MAX_DIDS:
            return connection.respond(HTTPStatus.BAD_REQUEST,
                                      "too many wantedCollections or wantedDids\n")
        cursor = dict(params).get("cursor")
        if cursor is not None and not cursor.isdigit():
            return connection.respond(HTTPStatus.BAD_REQUEST, "invalid cursor\n")
        latency, fault = server.faults.take(request.path, None)
        if fault is not None and fault.kind in ("status", "rate_limit"):
            status = 429 if fault.kind == "rate_limit" else fault.status
            return connection.respond(HTTPStatus(status), "unavailable\n")
        if latency and fault is None:
            fault = Fault("latency", latency_ms=latency)
        faults[id(connection)] = fault
        return None

    def handler(connection: ServerConnection) -> None:
        fault = faults.pop(id(connection), None)
        assert connection.request is not None
        params = parse_qsl(urlsplit(connection.request.path).query, keep_blank_values=True)
        with contextlib.suppress(ConnectionClosed, OSError):
            _stream(server, bluesky_of(server.world), connection, params, fault, stopping)

    ws = serve(handler, host, 0, process_request=process_request, compression=None,
               max_queue=None)
    thread = threading.Thread(target=ws.serve_forever, name="sandbox-jetstream", daemon=True)
    thread.start()
    port = ws.socket.getsockname()[1]

    def stop() -> None:
        stopping.set()
        ws.shutdown()
        thread.join(timeout=5)

    return Service("bluesky.jetstream", f"ws://{host}:{port}/subscribe", stop)


def _stream(server: SandboxServer, sky: BlueskyWorld, connection: ServerConnection,
            params: list[tuple[str, str]], fault: Fault | None, stopping: threading.Event
            ) -> None:
    collections = [v for k, v in params if k == "wantedCollections"]
    dids = {v for k, v in params if k == "wantedDids"}
    cursor = dict(params).get("cursor")
    if dict(params).get("requireHello") == "true":  # the options come in the first message
        options = json.loads(connection.recv(timeout=30))
        payload = options.get("payload") or {} if options.get("type") == "options_update" \
            else {}
        collections = list(payload.get("wantedCollections") or collections)
        dids = set(payload.get("wantedDids") or [])
        if len(collections) > MAX_COLLECTIONS or len(dids) > MAX_DIDS:
            connection.close(1008, "too many wantedCollections or wantedDids")
            return
    exact = {c for c in collections if not c.endswith(".*")}
    prefixes = tuple(c[:-1] for c in collections if c.endswith(".*"))
    now_us = time_us(server.world.current_time())
    oldest = now_us - int(sky.window.total_seconds() * 1_000_000)
    start = max(int(cursor), oldest) if cursor else now_us + 1
    position, _ = sky.events_between(start, start)
    sent = 0
    while not stopping.is_set():
        now_us = time_us(server.world.current_time())
        _, end = sky.events_between(0, now_us)
        if position >= end:
            time.sleep(TICK_S)
            continue
        did, collection, frame = sky.frames[position]
        position += 1
        if (dids and did not in dids) or (collections and collection not in exact
                                          and not collection.startswith(prefixes)):
            continue
        if fault is not None and sent >= fault.after:
            if fault.kind == "disconnect":
                connection.socket.shutdown(socket.SHUT_RDWR)
                connection.socket.close()
                return
            if fault.kind == "slow_consumer":
                connection.close(1008, "consumer too slow")
                return
            if fault.kind == "latency":
                time.sleep(fault.latency_ms / 1000)
            if fault.kind == "duplicate":
                connection.send(frame, text=True)
        connection.send(frame, text=True)
        sent += 1
