"""The sandbox's Bluesky, through the real clients: the atproto SDK for XRPC and the
`websockets` client for Jetstream v1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from atproto_client.exceptions import BadRequestError
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from bots import networks
from bots.bluesky import LIKE, REPOST, parse
from bots.bluesky.did import PdsDirectory
from bots.bluesky.ids import time_us
from bots.bluesky.sandbox_world import bluesky_of
from bots.bluesky.xrpc import RateLimited, SignInRefused, Unavailable, Xrpc
from bots.sandbox import SandboxServer, generate_scenario, start_sandbox


@pytest.fixture(scope="module")
def scenario() -> dict:
    return generate_scenario(3, days=6, seed=5)


@pytest.fixture
def server(scenario: dict) -> Iterator[SandboxServer]:
    networks.install()
    with start_sandbox(scenario) as running:
        running.advance(timedelta(days=4))
        yield running


@pytest.fixture
def xrpc(server: SandboxServer) -> Iterator[Xrpc]:
    """listRecords at each DID's PDS, as its DID document says (the people's are not the
    root's: tests/bots/test_bluesky_pds.py)."""
    directory = PdsDirectory(server.services["bluesky.plc"],
                             did_web_base=server.services["bluesky.did_web"], timeout=5)
    client = Xrpc(server.base_url, server.base_url, timeout=5, directory=directory)
    yield client
    client.close()


def _read(url: str, limit: int = 10_000, wait: float = 0.4) -> list[dict]:
    found: list[dict] = []
    with connect(url) as ws:
        try:
            while len(found) < limit:
                found.append(json.loads(ws.recv(timeout=wait)))
        except TimeoutError:
            pass
    return found


def test_handles_resolve_and_app_passwords_sign_in(scenario, xrpc):
    alice = scenario["people"][0]["bluesky"]
    assert xrpc.resolve_handle(alice["handle"]) == alice["did"]
    assert xrpc.sign_in(alice["handle"], alice["app_password"]) == (alice["did"],
                                                                    alice["handle"])
    with pytest.raises(SignInRefused):
        xrpc.sign_in(alice["handle"], "not-the-password")
    with pytest.raises(BadRequestError):
        xrpc.resolve_handle("nobody.bsky.example")


def test_list_records_pages_newest_first_with_a_cursor(scenario, server, xrpc):
    alice = scenario["people"][0]["bluesky"]
    pages, cursor = [], None
    while True:
        page = xrpc.list_records(alice["did"], LIKE, cursor, limit=2)
        pages.append(page)
        cursor = page.get("cursor")
        if not cursor:
            break
    keys = [r["uri"].rsplit("/", 1)[1] for p in pages for r in p["records"]]
    assert len(pages) >= 2 and keys == sorted(keys, reverse=True) and len(set(keys)) == len(keys)
    now = server.now
    visible = [r for r in bluesky_of(server.world).repos[alice["did"], LIKE] if r.exists(now)]
    assert len(keys) == len(visible)  # deleted and future likes are not listed


def test_get_posts_takes_at_most_25_uris_and_gives_targets(scenario, server, xrpc):
    posts = scenario["bluesky"]["posts"][:26]
    uris = [f"at://{p['did']}/app.bsky.feed.post/{p['rkey']}" for p in posts]
    found = {}
    for body in xrpc.get_posts(uris):  # in two calls of 25 and 1
        found.update(parse.parse_posts(body))
    linked = [p for p in posts if p.get("link") or p.get("facet_link")]
    assert linked and all(len(found[f"at://{p['did']}/app.bsky.feed.post/{p['rkey']}"]) == 2
                          for p in linked)
    too_many = requests.get(f"{server.base_url}/xrpc/app.bsky.feed.getPosts",
                            params=[("uris", u) for u in uris], timeout=5)
    assert too_many.status_code == 400 and too_many.json()["error"] == "InvalidRequest"


def test_xrpc_faults_are_429s_and_5xx_in_the_xrpc_shape(server, xrpc, scenario):
    alice = scenario["people"][0]["bluesky"]
    server.add_fault("rate_limit", path="listRecords", times=1)
    with pytest.raises(RateLimited) as limited:
        xrpc.list_records(alice["did"], LIKE)
    assert 0 < limited.value.delay_s <= 2
    server.add_fault("status", path="listRecords", status=502, times=1)
    with pytest.raises(Unavailable):
        xrpc.list_records(alice["did"], LIKE)
    assert xrpc.list_records(alice["did"], LIKE)["records"]


def test_jetstream_filters_by_did_and_collection_and_replays_from_the_cursor(scenario,
                                                                            server):
    alice = scenario["people"][0]["bluesky"]["did"]
    sky = bluesky_of(server.world)
    now = time_us(server.now)
    since = now - 20 * 3600 * 1_000_000
    url = server.services["bluesky.jetstream"]
    events = _read(f"{url}?wantedCollections={LIKE}&wantedDids={alice}&cursor={since}")
    assert events and {e["did"] for e in events} == {alice}
    assert {e["commit"]["collection"] for e in events} == {LIKE}
    assert all(since <= e["time_us"] <= now for e in events)
    expected = [t for t, (did, coll, _) in zip(sky.times, sky.frames, strict=True)
                if did == alice and coll == LIKE and since <= t <= now]
    assert [e["time_us"] for e in events] == expected
    again = _read(f"{url}?wantedCollections={LIKE}&wantedDids={alice}"
                  f"&cursor={events[-1]['time_us']}")
    assert [e["time_us"] for e in again] == [events[-1]["time_us"]]  # inclusive: repeats
    feed = _read(f"{url}?wantedCollections=app.bsky.feed.*&cursor={since}")
    assert {e["commit"]["collection"] for e in feed} >= {LIKE, REPOST}


def test_an_old_cursor_is_moved_silently_to_the_oldest_kept_event(server):
    sky = bluesky_of(server.world)
    sky.window = timedelta(hours=6)
    events = _read(f"{server.services['bluesky.jetstream']}?cursor=1")
    oldest = time_us(server.now) - 6 * 3600 * 1_000_000
    assert events and events[0]["time_us"] >= oldest
    assert events[0]["time_us"] == min(t for t in sky.times if t >= oldest)


def test_new_events_stream_as_the_clock_passes_them(server):
    url = f"{server.services['bluesky.jetstream']}?wantedCollections=app.bsky.feed.like"
    with connect(url) as ws:
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.2)  # no cursor: the live tail, nothing new yet
        server.advance(timedelta(days=1))
        event = json.loads(ws.recv(timeout=2))
        assert event["kind"] == "commit" and event["commit"]["collection"] == LIKE


def test_stream_faults_disconnect_duplicate_slow_consumer_and_refusal(server):
    url = f"{server.services['bluesky.jetstream']}?cursor=1"
    whole = _read(url)
    server.add_fault("disconnect", path="subscribe", after=3, times=1)
    with connect(url) as ws:
        got = [ws.recv(timeout=1) for _ in range(3)]
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=1)
    assert [json.loads(g) for g in got] == whole[:3]
    server.add_fault("duplicate", path="subscribe", after=2, times=1)
    doubled = _read(url)
    assert doubled[:4] == [whole[0], whole[1], whole[2], whole[2]]
    server.add_fault("slow_consumer", path="subscribe", after=1, times=1)
    with connect(url) as ws:
        ws.recv(timeout=1)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=1)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    server.add_fault("status", path="subscribe", status=503, times=1)
    with pytest.raises(InvalidStatus):
        connect(url).close()
