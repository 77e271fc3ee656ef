"""Web fixtures: a sandbox sharing the test clock, settings pointing OAuth at it, the Flask
app and its test client, and a live threaded server for the browser tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bots.sandbox import SandboxServer, start_sandbox
from config import Settings
from core import crypto
from runtime.app import App
from web.app import create_app

TOKEN_KEY = crypto.generate_key()
SESSION_SECRET = "test-session-secret-0123456789abcdef"
PASSWORD = "correct horse battery"
ALICE_X, ALICE_FB, BOB_X, PAGE = "100000001", "200000001", "300000001", "600000001"

SCENARIO: dict[str, Any] = {
    "start": "2026-10-01T00:00:00+00:00",
    "people": [
        {"key": "alice", "name": "Alice", "x": {"user_id": ALICE_X, "username": "alice"},
         "facebook": {"user_id": ALICE_FB}},
        {"key": "bob", "name": "Bob", "x": {"user_id": BOB_X, "username": "bobmakes"}},
    ],
    "x_posts": [
        {"id": "1840000000000000001", "author_id": BOB_X, "at": "2026-09-30T08:00:00+00:00",
         "text": "My new song", "urls": ["https://songs.example.org/first"]},
        {"id": "1840000000000000002", "author_id": BOB_X, "at": "2026-09-30T09:00:00+00:00",
         "text": "Another one"},
    ],
    "x_likes": [
        {"user_id": ALICE_X, "post_id": "1840000000000000001", "at": "2026-10-01T10:00:00+00:00"},
        {"user_id": ALICE_X, "post_id": "1840000000000000002", "at": "2026-10-01T10:05:00+00:00"},
    ],
    "facebook_pages": [{"id": PAGE, "name": "Bob's Page", "website": "https://songs.example.org/"}],
    "facebook_page_likes": [
        {"user_id": ALICE_FB, "page_id": PAGE, "at": "2026-10-01T10:10:00+00:00"},
    ],
}


@pytest.fixture
def sandbox(clock: Any) -> Iterator[SandboxServer]:
    server = start_sandbox(SCENARIO)
    server.set_clock(clock)
    yield server
    server.stop()


@pytest.fixture
def settings(database_url: str, sandbox: SandboxServer) -> Settings:
    return Settings(database_url=database_url, token_keys=TOKEN_KEY,
                    session_secret=SESSION_SECRET, sandbox_url=sandbox.base_url,
                    x_triggers="likes,reposts,explicit")


@pytest.fixture
def web(app: App) -> Flask:
    return create_app(app, testing=True)


@pytest.fixture
def client(web: Flask) -> FlaskClient:
    return web.test_client()


@pytest.fixture
def live_server(web: Flask) -> Iterator[str]:
    from web.server import make

    server = make(web, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
