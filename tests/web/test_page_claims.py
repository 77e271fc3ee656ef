"""A creator who claims through Facebook also claims the Pages they run: Page likes are held
in escrow for `facebook:page:ID`, not for the person's `facebook:user:ID`."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from bots.facebook import oauth as networks
from bots.oauth import OAuthFailed
from bots.sandbox import SandboxServer, start_sandbox
from core.models import Claim, Flattr, Person, ThingTotal
from runtime.app import App
from tests.web.conftest import ALICE_FB, PAGE, SCENARIO
from tests.web.flow import close_october, poll, push_webhooks
from tests.web.helpers import connect, sign_up, start_connect

BOB_FB, MALLORY_FB, SHARED_PAGE = "400000001", "400000002", "600000002"


def _scenario() -> dict[str, Any]:
    """The web tests' world, where Bob runs his Page and shares a second one with Mallory."""
    scenario = copy.deepcopy(SCENARIO)
    scenario["people"][1]["facebook"] = {"user_id": BOB_FB}
    scenario["people"].append({"key": "mallory", "name": "Mallory",
                               "facebook": {"user_id": MALLORY_FB}})
    scenario["facebook_pages"][0]["managers"] = [BOB_FB]
    scenario["facebook_pages"].append({"id": SHARED_PAGE, "name": "Band Page",
                                       "managers": [MALLORY_FB, BOB_FB]})
    return scenario


@pytest.fixture
def sandbox(clock: Any) -> Iterator[SandboxServer]:
    server = start_sandbox(_scenario())
    server.set_clock(clock)
    yield server
    server.stop()


def _claims(app: App) -> dict[str, str]:
    with app.db.unit_of_work() as session:
        rows = session.execute(select(Claim.value, Person.name)
                               .join(Person, Person.id == Claim.person_id))
        return {value: name for value, name in rows}


def _page_like_escrow(app: App) -> list[ThingTotal]:
    with app.db.unit_of_work() as session:
        totals = list(session.execute(
            select(ThingTotal).where(ThingTotal.identity == f"facebook:page:{PAGE}")).scalars())
        session.expunge_all()
        return totals


def test_claiming_facebook_claims_the_pages_and_releases_their_escrow(  # type: ignore[no-untyped-def]
        web: Flask, app: App, clock, sandbox) -> None:
    alice = web.test_client()
    csrf = sign_up(alice, "alice")
    assert alice.post("/me/budget", data={"csrf_token": csrf, "amount": "5.00"}).status_code == 303
    assert alice.post("/me/topup", data={"csrf_token": csrf, "amount": "20.00"}).status_code == 303
    connect(alice, csrf, "facebook", ALICE_FB)
    poll(app)  # the first poll only records where the streams are
    clock.set(datetime(2026, 10, 1, 10, 30, tzinfo=UTC))
    push_webhooks(alice, app, "0", ALICE_FB)
    assert poll(app).flattrs == 1  # alice liked Bob's Page
    with app.db.unit_of_work() as session:
        assert session.execute(select(Flattr.source)).scalars().all() == ["facebook"]
    close_october(app)
    held = _page_like_escrow(app)
    assert held and {s.state for s in held} == {"escrow"}
    held_cents = sum(s.gross_cents for s in held)

    clock.set(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    mallory = web.test_client()
    connect(mallory, sign_up(mallory, "mallory"), "facebook", MALLORY_FB, purpose="claim")
    assert _claims(app) == {f"facebook:user:{MALLORY_FB}": "mallory",
                            f"facebook:page:{SHARED_PAGE}": "mallory"}

    bob = web.test_client()
    bob_csrf = sign_up(bob, "bob")
    authorize = start_connect(bob, bob_csrf, "facebook", purpose="claim")
    assert "pages_show_list" in dict(parse_qsl(urlsplit(authorize).query))["scope"]
    connect(bob, bob_csrf, "facebook", BOB_FB, purpose="claim")
    claims = _claims(app)
    assert claims[f"facebook:user:{BOB_FB}"] == "bob"
    assert claims[f"facebook:page:{PAGE}"] == "bob"
    assert claims[f"facebook:page:{SHARED_PAGE}"] == "mallory"  # refused, not taken

    released = _page_like_escrow(app)
    assert {s.state for s in released} == {"released"}
    with app.db.unit_of_work() as session:
        bob_id = session.execute(select(Person.id).where(Person.name == "bob")).scalar_one()
    assert {s.creator_id for s in released} == {bob_id}

    creator = bob.get("/creator").get_data(as_text=True)
    assert f"facebook:page:{PAGE}" in creator and f"facebook:user:{BOB_FB}" in creator
    assert "Claimed your Page Bob&#39;s Page" in creator
    assert f"Band Page (facebook:page:{SHARED_PAGE}) is already claimed by someone else" \
        in creator
    assert 'class="earning"' in creator
    net = held_cents - sum(s.fee_cents for s in released)
    assert f"€{net // 100}.{net % 100:02d}" in creator


def test_connecting_facebook_for_polling_asks_no_page_scope(  # type: ignore[no-untyped-def]
        web: Flask, app: App, sandbox) -> None:
    client = web.test_client()
    csrf = sign_up(client, "bob")
    authorize = start_connect(client, csrf, "facebook")
    assert "pages_show_list" not in dict(parse_qsl(urlsplit(authorize).query))["scope"]
    connect(client, csrf, "facebook", BOB_FB)  # linked for polling: nothing is claimed
    assert _claims(app) == {}


def _token(sandbox: SandboxServer, user_id: str, scopes: tuple[str, ...]) -> str:
    return sandbox.world.issue_token("facebook", user_id, scopes=scopes).token


def test_me_accounts_pages_through_the_managed_pages(  # type: ignore[no-untyped-def]
        app: App, sandbox, monkeypatch) -> None:
    token = _token(sandbox, BOB_FB, ("public_profile", "pages_show_list"))
    first = requests.get(f"{sandbox.base_url}/v22.0/me/accounts",
                         params={"access_token": token, "limit": "1"}, timeout=5).json()
    page = first["data"][0]
    assert set(page) >= {"id", "name", "access_token", "category", "tasks"}
    assert page["id"] == PAGE and "MANAGE" in page["tasks"]
    nxt = first["paging"]["next"]
    assert nxt.startswith("https://graph.facebook.com/v22.0/") and "limit=1" in nxt
    assert sandbox.world.grant_for(page["access_token"], "facebook").kind == "page"

    monkeypatch.setattr(networks, "FB_PAGES_PER_REQUEST", 1)  # the loop follows paging.next
    listed = networks.facebook_pages(app.settings, token)
    assert [(p.page_id, p.name) for p in listed] == [(PAGE, "Bob's Page"),
                                                     (SHARED_PAGE, "Band Page")]
    without_scope = _token(sandbox, BOB_FB, ("public_profile",))
    assert networks.facebook_pages(app.settings, without_scope) == []
    with pytest.raises(OAuthFailed, match="refused /me/accounts"):
        networks.facebook_pages(app.settings, "not-a-token")
