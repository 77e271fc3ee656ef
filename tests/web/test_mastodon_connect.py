"""Issue 14, connecting Mastodon through the web app: the person types their instance, the
service registers its app there once (secret sealed), signs in with the authorization
code and PKCE S256 (Mastodon.py has neither parameter: added by bots/mastodon/oauth.py),
polls, and a creator claims mastodon:<host>:<id> by signing in, receiving its escrow."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask import Flask
from sqlalchemy import select

from bots.mastodon.sandbox_world import mastodons
from bots.sandbox import SandboxServer, start_sandbox
from core import accounts
from core.models import Claim, InstanceApp, SocialAccount
from runtime.app import App
from tests.web.flow import close_october, poll
from tests.web.helpers import approve, csrf_of, local, sign_up

ALICE, BOB = "social.example:200000", "fedi.example:100001"
TOOT = "114100000000000001"
SCENARIO: dict[str, Any] = {
    "start": "2026-10-01T00:00:00+00:00",
    "people": [{"key": "alice", "name": "Alice",
                "mastodon": {"host": "social.example", "id": "200000", "username": "alice"}}],
    "mastodon": {
        "instances": ["social.example", "fedi.example"],
        "accounts": [{"host": "fedi.example", "id": "100001", "username": "bob",
                      "legacy_uri": True}],
        "statuses": [{"id": TOOT, "host": "fedi.example", "account_id": "100001",
                      "at": "2026-09-30T08:00:00+00:00", "text": "My new song",
                      "card": "https://songs.example.org/first"}],
        "favourites": [{"host": "social.example", "account_id": "200000", "status_id": TOOT,
                        "at": "2026-10-01T10:00:00+00:00"}],
    },
}


@pytest.fixture
def sandbox(clock: Any) -> Iterator[SandboxServer]:
    server = start_sandbox(SCENARIO)
    server.set_clock(clock)
    yield server
    server.stop()


def start(client, csrf: str, instance: str, purpose: str = "connect"):  # type: ignore[no-untyped-def]
    return client.post("/connect/mastodon", data={"csrf_token": csrf, "purpose": purpose,
                                                  "instance": instance})


def sign_in(client, csrf: str, instance: str, account: str,  # type: ignore[no-untyped-def]
            purpose: str = "connect") -> str:
    response = start(client, csrf, instance, purpose)
    assert response.status_code == 303, response.get_data(as_text=True)
    callback = client.get(local(approve(response.headers["Location"], account)))
    assert callback.status_code == 303, callback.get_data(as_text=True)
    return response.headers["Location"]


def due_now(app: App, now: datetime) -> None:
    """What a webhook does: every stream of the account due now (core.accounts.wake)."""
    with app.db.unit_of_work() as session:
        account = session.execute(select(SocialAccount)).scalar_one()
        assert accounts.wake(session, account.network, [account.external_user_id], now=now)


def test_connecting_registers_the_app_once_per_instance_and_uses_pkce(
        web: Flask, app: App, sandbox: SandboxServer, clock) -> None:  # type: ignore[no-untyped-def]
    alice = web.test_client()
    csrf = sign_up(alice, "alice")
    url = sign_in(alice, csrf, "@alice@Social.Example", ALICE)
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    assert parts.path == "/mastodon/social.example/oauth/authorize"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["scope"] == "read:accounts read:favourites read:statuses write:statuses"
    page = alice.get("/me").get_data(as_text=True)
    assert "@alice@social.example" in page and "status-active" in page
    with app.db.unit_of_work() as session:
        account = session.execute(select(SocialAccount)).scalar_one()
        kept = session.execute(select(InstanceApp)).scalar_one()
        assert (account.identity, account.external_user_id) == (f"mastodon:{ALICE}", ALICE)
        assert account.token_ciphertext and not account.token_ciphertext.startswith("msdn-")
        registered = mastodons(sandbox.world).apps["social.example"][kept.client_id]
        assert kept.host == "social.example"
        assert registered.client_secret not in kept.secret_ciphertext
    # Reconnecting, and anyone else on the same instance, use the app kept.
    sign_in(alice, csrf, "social.example", ALICE)
    assert len(mastodons(sandbox.world).apps["social.example"]) == 1
    # Favourites flattr from the second poll on; the author is held at home (a lookup).
    assert poll(app).polled == 1
    clock.set(datetime(2026, 10, 1, 11, 0, tzinfo=UTC))
    due_now(app, clock.now)
    assert poll(app).activities == 1  # (no money yet: no flattr)


def test_what_is_not_a_public_server_is_refused_before_any_request(
        web: Flask, sandbox: SandboxServer) -> None:
    alice = web.test_client()
    csrf = sign_up(alice, "alice")
    for typed in ("127.0.0.1", "localhost", "printer.local", "http://[::1]/", "not a host"):
        response = start(alice, csrf, typed)
        assert response.status_code == 400, typed
        assert "server" in response.get_data(as_text=True)
    assert mastodons(sandbox.world).apps == {}
    response = start(alice, csrf, "nowhere.example")  # no such instance: a clear 502
    assert response.status_code == 502 and "nowhere.example" in response.get_data(as_text=True)


def test_a_creator_claims_their_mastodon_account_and_its_escrow(
        web: Flask, app: App, sandbox: SandboxServer, clock) -> None:  # type: ignore[no-untyped-def]
    alice = web.test_client()
    csrf = sign_up(alice, "alice")
    assert alice.post("/me/budget", data={"csrf_token": csrf, "amount": "5.00"}).status_code == 303
    assert alice.post("/me/topup", data={"csrf_token": csrf, "amount": "20.00"}).status_code == 303
    sign_in(alice, csrf, "social.example", ALICE)
    poll(app)
    clock.set(datetime(2026, 10, 1, 11, 0, tzinfo=UTC))
    due_now(app, clock.now)
    assert poll(app).flattrs == 1
    close_october(app)
    clock.set(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    bob = web.test_client()
    sign_up(bob, "bob")
    creator_csrf = csrf_of(bob, "/creator")
    sign_in(bob, creator_csrf, "@bob@fedi.example", BOB, purpose="claim")
    page = bob.get("/creator").get_data(as_text=True)
    assert (f"You are @bob@fedi.example on Mastodon: claimed mastodon:{BOB} (1 thing, "
            "€2.00 released from escrow)") in page  # October's 2.00, all for bob's toot
    with app.db.unit_of_work() as session:
        claim = session.execute(select(Claim)).scalar_one()
        assert claim.value == f"mastodon:{BOB}"
    assert len(mastodons(sandbox.world).apps["fedi.example"]) == 1
