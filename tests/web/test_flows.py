"""The whole person and creator flows through the Flask test client, with the real poll job
and the sandbox over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from core import accounts
from core.models import Flattr, Person, SocialAccount
from jobs.tokens import refresh_tokens
from runtime.app import App
from tests.web.conftest import ALICE_FB, ALICE_X, BOB_X, PASSWORD
from tests.web.flow import close_october, poll, push_webhooks
from tests.web.helpers import connect, csrf_of, sign_up


def _flattrs(app: App) -> list[Flattr]:
    with app.db.unit_of_work() as session:
        return list(session.execute(select(Flattr).order_by(Flattr.id)).scalars())


def test_person_and_creator_flow(web: Flask, app: App, clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    alice = web.test_client()
    csrf = sign_up(alice, "alice")
    assert alice.post("/me/budget", data={"csrf_token": csrf, "amount": "5.00"}).status_code == 303
    assert alice.post("/me/topup", data={"csrf_token": csrf, "amount": "20.00"}).status_code == 303
    connect(alice, csrf, "x", ALICE_X)
    connect(alice, csrf, "facebook", ALICE_FB)
    page = alice.get("/me").get_data(as_text=True)
    assert "@alice" in page and "Alice" in page and page.count("status-active") == 2
    assert "€20.00" in page and "€5.00" in page

    assert poll(app).polled == 2  # the first poll only records where the streams are
    clock.set(datetime(2026, 10, 1, 10, 30, tzinfo=UTC))
    push_webhooks(alice, app, ALICE_X, ALICE_FB)
    stats = poll(app)
    assert stats.flattrs == 3, stats
    page = alice.get("/me").get_data(as_text=True)
    assert page.count('class="flattr"') == 3

    facebook_flattr = next(f for f in _flattrs(app) if f.source == "facebook")
    asked = alice.post(f"/me/flattrs/{facebook_flattr.id}/withdraw", data={"csrf_token": csrf})
    assert asked.status_code == 200 and 'name="confirm" value="yes"' in asked.get_data(
        as_text=True)  # a page that asks first; nothing withdrawn yet
    assert next(f for f in _flattrs(app) if f.source == "facebook").withdrawn_at is None
    response = alice.post(f"/me/flattrs/{facebook_flattr.id}/withdraw",
                          data={"csrf_token": csrf, "confirm": "yes"})
    assert response.status_code == 303
    assert "flattr withdrawn" in alice.get("/me").get_data(as_text=True)
    # nobody else can withdraw alice's flattrs
    mallory = web.test_client()
    other = sign_up(mallory, "mallory")
    x_flattr = next(f for f in _flattrs(app) if f.source == "x")
    mallory.post(f"/me/flattrs/{x_flattr.id}/withdraw",
                 data={"csrf_token": other, "confirm": "yes"})
    assert next(f for f in _flattrs(app) if f.id == x_flattr.id).withdrawn_at is None

    close_october(app)
    clock.set(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    page = alice.get("/me").get_data(as_text=True)
    assert "2026-10" in page and "€2.00" in page  # October's budget, charged
    statement = alice.get("/me/statements/2026-10").get_data(as_text=True)
    # Names, not ids: the creator as X showed them, the post by the start of its text.
    assert f'held for <span class="who" title="twitter:{BOB_X}">Bob (@bobmakes on X)' in statement
    assert ">Another one</a>" in statement and ">https://x.com/i/status/" not in statement

    bob = web.test_client()
    bob_csrf = sign_up(bob, "bob")
    connect(bob, bob_csrf, "x", BOB_X)  # linked, not yet claimed: the escrow waits for him
    creator = bob.get("/creator").get_data(as_text=True)
    assert "Bob (@bobmakes on X)" in creator and "€2.00" in creator
    connect(bob, bob_csrf, "x", BOB_X, purpose="claim")
    creator = bob.get("/creator").get_data(as_text=True)
    assert 'class="claim"' in creator and f"twitter:{BOB_X}" in creator
    assert 'class="earning"' in creator and "€1.80" in creator  # 2.00 less the 10% fee
    assert "No escrow is waiting" in creator


def test_x_token_is_refreshed_before_it_expires(client: FlaskClient, app: App, clock,  # type: ignore[no-untyped-def]
                                                sandbox) -> None:
    connect(client, sign_up(client, "alice"), "x", ALICE_X)
    with app.db.unit_of_work() as session:
        before = session.execute(select(SocialAccount)).scalar_one()
    old_refresh = accounts.open_token(app.keys, before.refresh_ciphertext)
    assert refresh_tokens(app.db, app.settings, now=clock.now).refreshed == 0  # 2 h left
    clock.advance(hours=1, minutes=50)
    assert refresh_tokens(app.db, app.settings, now=clock.now).refreshed == 1
    with app.db.unit_of_work() as session:
        after = session.execute(select(SocialAccount)).scalar_one()
    assert after.token_expires_at > before.token_expires_at
    new_access = accounts.open_token(app.keys, after.token_ciphertext)
    assert new_access != accounts.open_token(app.keys, before.token_ciphertext)
    assert accounts.open_token(app.keys, after.refresh_ciphertext) != old_refresh
    assert old_refresh not in sandbox.world.refresh_tokens  # rotated: the old one is spent
    clock.advance(minutes=30)  # past the old token's expiry: the new one still works
    assert sandbox.world.grant_for(new_access, "x") is not None


def test_refused_refresh_asks_to_reconnect(client: FlaskClient, app: App, clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    connect(client, sign_up(client, "alice"), "x", ALICE_X)
    sandbox.world.refresh_tokens.clear()  # the person revoked the app on X
    clock.advance(hours=2)
    result = refresh_tokens(app.db, app.settings, now=clock.now)
    assert (result.refreshed, result.failed) == (0, 1)
    page = client.get("/me").get_data(as_text=True)
    assert "needs reconnect" in page


def test_triggers_and_disconnect(client: FlaskClient, app: App) -> None:
    csrf = sign_up(client, "alice")
    connect(client, csrf, "x", ALICE_X)
    with app.db.unit_of_work() as session:
        account_id = session.execute(select(SocialAccount.id)).scalar_one()
    client.post(f"/accounts/{account_id}/triggers",
                data={"csrf_token": csrf, "trigger": ["likes", "bogus"]})
    with app.db.unit_of_work() as session:
        assert session.get(SocialAccount, account_id).triggers == "explicit,likes"
    asked = client.post(f"/accounts/{account_id}/disconnect", data={"csrf_token": csrf})
    assert asked.status_code == 200 and "Disconnect X @alice?" in asked.get_data(as_text=True)
    assert client.post(f"/accounts/{account_id}/disconnect",
                       data={"csrf_token": csrf, "confirm": "yes"}).status_code == 303
    with app.db.unit_of_work() as session:  # kept, so "never your own" still knows it
        gone = session.get(SocialAccount, account_id)
        assert gone.status == accounts.DISCONNECTED and gone.token_ciphertext is None
        assert (gone.refresh_ciphertext, gone.cursor, gone.triggers) == (None, None, None)
    assert 'data-network="x"' not in client.get("/me").get_data(as_text=True)
    refused = client.post(f"/accounts/{account_id}/triggers",
                          data={"csrf_token": csrf, "trigger": ["likes"]})
    # a user error on a form goes back to a fixed page with the message (never the Referer)
    assert refused.status_code == 303
    assert "no such linked account" in client.get(refused.location).get_data(as_text=True)
    with app.db.unit_of_work() as session:
        assert session.get(SocialAccount, account_id).triggers is None
    connect(client, csrf, "x", ALICE_X)  # linked again: the same row, active, fresh
    with app.db.unit_of_work() as session:
        back = session.execute(select(SocialAccount)).scalar_one()
        assert (back.id, back.status, back.triggers) == (account_id, accounts.ACTIVE, None)
        assert back.token_ciphertext is not None


def test_someone_elses_account_cannot_be_touched(web: Flask, app: App) -> None:
    alice, mallory = web.test_client(), web.test_client()
    connect(alice, sign_up(alice, "alice"), "x", ALICE_X)
    with app.db.unit_of_work() as session:
        account_id = session.execute(select(SocialAccount.id)).scalar_one()
    response = mallory.post(f"/accounts/{account_id}/disconnect",
                            data={"csrf_token": sign_up(mallory, "mallory"), "confirm": "yes"})
    assert response.status_code in (303, 400)
    with app.db.unit_of_work() as session:
        assert session.get(SocialAccount, account_id) is not None


def test_sign_in_and_bad_password(client: FlaskClient) -> None:
    sign_up(client, "alice")
    client.post("/logout", data={"csrf_token": csrf_of(client)})
    assert client.get("/me").status_code == 302
    bad = client.post("/login", data={"csrf_token": csrf_of(client, "/login"), "name": "alice",
                                      "password": "wrong password!"})
    assert bad.status_code == 401
    good = client.post("/login", data={"csrf_token": csrf_of(client, "/login"), "name": "alice",
                                       "password": PASSWORD, "next": "//evil.example"})
    assert good.status_code == 303 and good.headers["Location"] == "/"


def test_short_password_and_low_budget_are_refused(client: FlaskClient, app: App) -> None:
    token = csrf_of(client, "/signup")
    response = client.post("/signup", data={"csrf_token": token, "name": "al",
                                            "password": "short", "password2": "short"},
                           headers={"Referer": "https://evil.example/signup"})
    # The form again, with the message: never a redirect to the Referer (issue 11).
    assert response.status_code == 400 and "Location" not in response.headers
    assert "at least 10 characters" in response.get_data(as_text=True)
    with app.db.unit_of_work() as session:
        assert session.execute(select(Person)).first() is None
    csrf = sign_up(client, "alice")
    refused = client.post("/me/budget", data={"csrf_token": csrf, "amount": "1.00"},
                          headers={"Referer": "https://evil.example/phish"})
    assert refused.status_code == 303 and refused.headers["Location"] == "/me"
    assert "below the minimum" in client.get("/me").get_data(as_text=True)


def test_admin_pages_need_the_admin_role(client: FlaskClient, app: App) -> None:
    csrf = sign_up(client, "alice")
    assert client.get("/admin/").status_code == 403
    assert client.post("/admin/topup", data={"csrf_token": csrf, "name": "alice",
                                             "amount": "5.00"}).status_code == 403
    with app.db.unit_of_work() as session:
        session.execute(select(Person)).scalar_one().is_admin = True
    assert client.get("/admin/").status_code == 200
    assert client.post("/admin/topup", data={"csrf_token": csrf, "name": "alice",
                                             "amount": "5.00"}).status_code == 303
    assert "€5.00" in client.get("/me").get_data(as_text=True)


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["status"] == "ok"


def test_notification_preferences_and_opt_out(client: FlaskClient, app: App) -> None:
    csrf = sign_up(client, "alice")
    client.post("/creator/notifications", data={"csrf_token": csrf, "channel": ["email", "log"],
                                                "email": "a@example.org", "digest": "on",
                                                "password": PASSWORD})
    with app.db.unit_of_work() as session:
        person = session.execute(select(Person)).scalar_one()
        assert (person.notify_channels, person.digest_enabled) == ("email,log", True)
    asked = client.post("/creator/opt-out", data={"csrf_token": csrf}).get_data(as_text=True)
    assert "This is for good" in asked and "we will never send you" not in client.get(
        "/creator").get_data(as_text=True)
    client.post("/creator/opt-out", data={"csrf_token": csrf, "confirm": "yes"})
    page = client.get("/creator").get_data(as_text=True)
    assert "we will never send you a message" in page
    with app.db.unit_of_work() as session:
        assert session.execute(select(Person)).scalar_one().notify_channels == ""
