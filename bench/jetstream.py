"""Jetstream consumption: like events consumed per second by one process, against a floor.

A local Jetstream v1 stand-in (a `websockets` sync server in a second process) sends
`--events` like events in the production shape, from `--population` DIDs; the consumer
(bots.bluesky.consumer.Jetstream, the worker's code) subscribes to the firehose and filters
locally against `--linked` linked DIDs (100,000 by default: ten shards' worth, so no server
filter), parses the linked ones' likes and fetches their posts with getPosts (25 URIs a
call, from the sandbox's XRPC server in the server process). The floor, measured in the
same run, reads and decodes the same frames from the same server and does nothing else.

Prints the rates, their ratio (target >= 0.5) and the consumer's resident memory sampled
every 100,000 events (target: flat).

    .venv/bin/python bench/jetstream.py [--events 1000000] [--linked 100000]
                                        [--population 10000000] [--runs 1]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from websockets.sync.client import connect  # noqa: E402

from bots.base import StreamAccount, StreamBroken  # noqa: E402
from bots.bluesky.consumer import Jetstream, Limits  # noqa: E402
from bots.bluesky.xrpc import Xrpc  # noqa: E402
from bots.networks import install  # noqa: E402

install()  # the identity schemes

HEX_TO_B32 = str.maketrans("0123456789abcdef", "abcdefghijklmnop")
BASE_US = 1_783_175_888_000_000
SAMPLE_EVERY = 100_000


def did_of(index: int) -> str:
    """A valid did:plc for a number (hex digits spelled as base32 letters)."""
    return "did:plc:" + f"{index:024x}".translate(HEX_TO_B32)


def actor_of(n: int, population: int) -> int:
    return (n * 2654435761) % population  # spread over the population


# -- the server process ------------------------------------------------------------------


def serve(events: int, population: int) -> None:
    """Print the websocket URL and the XRPC base URL, then serve until stdin closes."""
    from websockets.sync.server import serve as ws_serve

    from bots.sandbox import start_sandbox

    xrpc = start_sandbox({"start": "2026-07-04T00:00:00+00:00", "bluesky": {}})
    tails = []
    cid = "bafyreiguce4jh7kcbmof3pmcvasifqtw24b6isakj5ve5ga2b4z4alpc4i"  # a recorded one
    for k in range(4096):
        subject = f"at://{did_of(population + k)}/app.bsky.feed.post/3mpsjbtci2c{k % 10}o"
        record = {"$type": "app.bsky.feed.like", "createdAt": "2026-07-04T14:38:08.999Z",
                  "subject": {"cid": cid, "uri": subject}}
        commit = {"rev": "3mptbypluud2a", "operation": "create",
                  "collection": "app.bsky.feed.like", "rkey": f"3mptbyplj5d{k % 10}a",
                  "record": record, "cid": cid}
        tails.append(json.dumps({"kind": "commit", "commit": commit},
                                separators=(",", ":"))[1:].encode())

    def handler(ws) -> None:  # type: ignore[no-untyped-def]
        """After the handshake, frames are written straight to the socket, many at a time
        (unmasked text frames, as a server sends them): the server is not what is measured."""
        chunk: list[bytes] = []
        for n in range(events):
            payload = b'{"did":"%s","time_us":%d,%s' % (
                did_of(actor_of(n, population)).encode(), BASE_US + n * 50, tails[n & 4095])
            size = len(payload)
            header = (bytes((0x81, size)) if size < 126
                      else bytes((0x81, 126)) + size.to_bytes(2, "big"))
            chunk += (header, payload)
            if len(chunk) >= 512:
                with ws.protocol_mutex:  # a pong the library sends never lands mid-frame
                    ws.socket.sendall(b"".join(chunk))
                chunk = []
        with ws.protocol_mutex:
            ws.socket.sendall(b"".join(chunk))
        with contextlib.suppress(Exception):
            ws.recv()  # until the client goes

    with ws_serve(handler, "127.0.0.1", 0, compression=None, ping_interval=None) as server:
        port = server.socket.getsockname()[1]
        print(f"ws://127.0.0.1:{port}/subscribe {xrpc.base_url}", flush=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        sys.stdin.read()
    xrpc.stop()


# -- the two readers ----------------------------------------------------------------------


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def floor(url: str, events: int) -> float:
    with connect(url, compression=None, max_size=2**22) as ws:
        start = time.perf_counter()
        for _ in range(events):
            json.loads(ws.recv(decode=False))
        return events / (time.perf_counter() - start)


def consume(url: str, xrpc_url: str, events: int, accounts: dict[str, StreamAccount]
            ) -> tuple[float, int, list[float]]:
    source = Jetstream(url, Xrpc(xrpc_url, xrpc_url), limits=Limits(max_wait=0.05))
    stop = threading.Event()
    seen, intents, samples = 0, 0, [rss_mb()]
    next_sample = SAMPLE_EVERY
    start = time.perf_counter()
    try:
        for batch in source.batches(accounts, None, stop):
            seen += batch.events
            intents += len(batch.activities)
            if seen >= next_sample:
                samples.append(rss_mb())
                next_sample += SAMPLE_EVERY
            if seen >= events:
                break
    except StreamBroken as exc:
        raise SystemExit(f"the stream broke: {exc}") from None
    elapsed = time.perf_counter() - start
    source.close()
    return seen / elapsed, intents, samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--linked", type=int, default=100_000)
    parser.add_argument("--population", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=1, help="median of this many of each")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.events, args.population)
        return 0
    server = subprocess.Popen([sys.executable, __file__, "--serve", "--events", str(args.events),
                               "--population", str(args.population)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url, xrpc_url = server.stdout.readline().split()
        linked = {did_of(i): StreamAccount(did_of(i), frozenset({"like", "repost",
                                                                  "explicit"}))
                  for i in range(args.linked)}
        floors: list[float] = []
        rates: list[float] = []
        intents, samples = 0, [0.0]
        for _ in range(args.runs):
            floors.append(floor(url, args.events))
            rate, intents, samples = consume(url, xrpc_url, args.events, linked)
            rates.append(rate)
        f, r = statistics.median(floors), statistics.median(rates)
        print(f"events {args.events:,}, linked DIDs {args.linked:,} of {args.population:,} "
              f"(pid {os.getpid()})")
        print(f"floor (read + decode only): {f:,.0f} events/s")
        print(f"consumer (decode, filter, parse, getPosts): {r:,.0f} events/s, "
              f"{intents:,} likes of linked accounts")
        print(f"ratio: {r / f:.2f} (target >= 0.50)")
        print(f"consumer RSS MB every {SAMPLE_EVERY:,} events: "
              + " ".join(f"{s:.1f}" for s in samples))
        grown = max(samples[1:]) - samples[1] if len(samples) > 2 else 0.0
        print(f"memory growth after the first {SAMPLE_EVERY:,} events: {grown:.1f} MB")
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
