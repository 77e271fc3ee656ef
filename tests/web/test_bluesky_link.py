"""Bluesky on the web pages: linking by one app-password sign-in (nothing secret kept), the
person's likes read from Jetstream, and the creator's claim of `bluesky:<did>` releasing
what escrow held for it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bots.bluesky.ids import plc, tid_at
from bots.sandbox import SandboxServer, start_sandbox
from core.accounts import open_token
from core.models import Claim, SocialAccount
from jobs.worker import Worker
from runtime.app import App
from tests.web.conftest import SCENARIO
from tests.web.flow import close_october
from tests.web.helpers import csrf_of, sign_up

ALICE, BOB = plc("web:alice"), plc("web:bob")
POSTED, LIKED = datetime(2026, 9, 30, 8, tzinfo=UTC), datetime(2026, 10, 1, 10, tzinfo=UTC)
POST_KEY, LIKE_KEY = tid_at(POSTED), tid_at(LIKED)


@pytest.fixture
def sandbox(clock: Any) -> Iterator[SandboxServer]:
    scenario = {**SCENARIO, "bluesky": {
        "accounts": [{"did": ALICE, "handle": "alice.bsky.example", "app_password": "a-b-c-d"},
                     {"did": BOB, "handle": "bob.bsky.example", "app_password": "w-x-y-z"}],
        "posts": [{"did": BOB, "rkey": POST_KEY, "at": POSTED.isoformat(),
                   "text": "A drawing a day"}],
        "likes": [{"did": ALICE, "rkey": LIKE_KEY, "at": LIKED.isoformat(),
                   "subject": f"at://{BOB}/app.bsky.feed.post/{POST_KEY}"}],
    }}
    server = start_sandbox(scenario)
    server.set_clock(clock)
    yield server
    server.stop()


def _link(client: FlaskClient, handle: str, password: str, purpose: str = "connect") -> str:
    csrf = csrf_of(client)
    started = client.post("/connect/bluesky", data={"csrf_token": csrf, "purpose": purpose})
    assert started.status_code == 303
    form = started.headers["Location"]
    page = client.get(form).get_data(as_text=True)
    assert 'type="password"' in page and "never kept" in page
    done = client.post("/link/bluesky", data={"csrf_token": csrf_of(client, form),
                                              "purpose": purpose, "handle": handle,
                                              "app_password": password})
    assert done.status_code == 303
    return client.get(done.headers["Location"]).get_data(as_text=True)


def test_link_by_app_password_then_likes_flattr_and_the_creator_claims_the_escrow(
        client: FlaskClient, web: Any, app: App, clock: Any, sandbox: SandboxServer) -> None:
    sign_up(client, "alice")
    csrf = csrf_of(client)
    client.post("/me/budget", data={"csrf_token": csrf, "amount": "5.00"})
    client.post("/me/topup", data={"csrf_token": csrf, "amount": "20.00"})
    refused = _link(client, "alice.bsky.example", "wrong")
    assert "was not connected" in refused and "wrong" not in refused.split("</form>")[-1]
    page = _link(client, "@Alice.bsky.example", "a-b-c-d")
    assert "Connected Bluesky as @alice.bsky.example" in page
    with app.db.unit_of_work() as session:
        account = session.execute(select(SocialAccount)).scalar_one()
        assert (account.identity, account.handle) == (f"bluesky:{ALICE}", "alice.bsky.example")
        assert open_token(app.keys, account.token_ciphertext) == ""  # nothing secret kept
        assert account.refresh_ciphertext is None

    worker = Worker(app, api_base_url=sandbox.base_url, owner="web-test")
    try:
        worker.stream()  # the shard starts now (October 1st, 9:00)
        clock.advance(hours=2)
        stats = worker.stream()
    finally:
        worker.close()
    assert (stats.activities, stats.flattrs) == (1, 1)
    close_october(app)

    bob = web.test_client()
    sign_up(bob, "bob")
    page = _link(bob, "bob.bsky.example", "w-x-y-z", purpose="claim")
    assert f"claimed bluesky:{BOB}" in page and "released from escrow" in page
    assert "€0.00 released" not in page
    with app.db.unit_of_work() as session:
        assert session.execute(select(Claim.value)).scalars().all() == [f"bluesky:{BOB}"]
