"""CSRF, OAuth state (tampered, foreign, replayed), cookies, tokens at rest, and logs."""

from __future__ import annotations

import logging

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text

from core import accounts, crypto
from core.models import OAuthState, Person, SocialAccount
from core.people import budget_for
from runtime.app import App
from runtime.keys import key_ring
from tests.web.conftest import ALICE_FB, ALICE_X, PASSWORD, SESSION_SECRET, TOKEN_KEY
from tests.web.helpers import approve, connect, csrf_of, local, sign_up, start_connect


def _accounts(app: App) -> list[SocialAccount]:
    with app.db.unit_of_work() as session:
        return list(session.execute(select(SocialAccount)).scalars())


def test_session_cookie_is_httponly_and_lax(client: FlaskClient) -> None:
    client.get("/signup")
    cookie = client.get_cookie("flattr_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_post_without_the_right_csrf_token_is_refused(client: FlaskClient, app: App,
                                                      token: str | None) -> None:
    sign_up(client, "alice")
    data = {"amount": "7.00"} | ({"csrf_token": token} if token is not None else {})
    response = client.post("/me/budget", data=data)
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    with app.db.unit_of_work() as session:
        person = session.execute(select(Person)).scalar_one()
        assert budget_for(session, person.id, "2026-11") == 200  # unchanged


def test_signup_and_login_forms_need_csrf_too(client: FlaskClient) -> None:
    assert client.post("/signup", data={"name": "mallory", "password": PASSWORD,
                                        "password2": PASSWORD}).status_code == 400
    assert client.post("/login", data={"name": "x", "password": "y"}).status_code == 400


def test_csrf_token_accepted(client: FlaskClient, app: App) -> None:
    csrf = sign_up(client, "alice")
    response = client.post("/me/budget", data={"amount": "7.00", "csrf_token": csrf})
    assert response.status_code == 303
    with app.db.unit_of_work() as session:
        person = session.execute(select(Person)).scalar_one()
        assert budget_for(session, person.id, "2026-11") == 700


def test_tampered_state_is_rejected(client: FlaskClient, app: App) -> None:
    csrf = sign_up(client, "alice")
    callback = approve(start_connect(client, csrf, "x"), ALICE_X)
    tampered = callback.replace("state=", "state=X", 1)
    response = client.get(local(tampered))
    assert response.status_code == 400
    assert _accounts(app) == []
    # the real state is still unspent: the person can finish
    assert client.get(local(callback)).status_code == 303
    assert len(_accounts(app)) == 1


def test_state_of_someone_else_is_rejected(web, app: App) -> None:  # type: ignore[no-untyped-def]
    alice, mallory = web.test_client(), web.test_client()
    callback = approve(start_connect(alice, sign_up(alice, "alice"), "facebook"), ALICE_FB)
    sign_up(mallory, "mallory")
    assert mallory.get(local(callback)).status_code == 400
    assert _accounts(app) == []


def test_replayed_callback_is_rejected(client: FlaskClient, app: App) -> None:
    csrf = sign_up(client, "alice")
    callback = connect(client, csrf, "x", ALICE_X)
    before = _accounts(app)[0].token_ciphertext
    replay = client.get(callback)
    assert replay.status_code == 400
    assert "not valid any more" in replay.get_data(as_text=True)
    assert _accounts(app)[0].token_ciphertext == before


def test_expired_state_is_rejected(client: FlaskClient, app: App, clock) -> None:  # type: ignore[no-untyped-def]
    csrf = sign_up(client, "alice")
    callback = approve(start_connect(client, csrf, "x"), ALICE_X)
    clock.advance(minutes=16)
    assert client.get(local(callback)).status_code == 400
    assert _accounts(app) == []


def test_callback_needs_sign_in(web, app: App) -> None:  # type: ignore[no-untyped-def]
    alice = web.test_client()
    callback = approve(start_connect(alice, sign_up(alice, "alice"), "x"), ALICE_X)
    response = web.test_client().get(local(callback))
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert _accounts(app) == []


def test_tokens_are_unreadable_without_the_key(client: FlaskClient, app: App) -> None:
    csrf = sign_up(client, "alice")
    connect(client, csrf, "x", ALICE_X)
    connect(client, csrf, "facebook", ALICE_FB)
    stored = _accounts(app)
    plaintexts = [accounts.open_token(key_ring(app.settings), a.token_ciphertext) for a in stored]
    with app.db.engine.connect() as connection:
        dump = " ".join(str(v) for row in connection.execute(
            text("SELECT * FROM social_accounts")) for v in row)
    for token in plaintexts:
        assert len(token) > 20 and token not in dump
    other = app.settings.model_copy(update={"token_keys": crypto.generate_key()})
    for account in stored:
        with pytest.raises(crypto.TokenUnreadable):
            accounts.open_token(key_ring(other), account.token_ciphertext)
    x = next(a for a in stored if a.network == "x")
    assert x.refresh_ciphertext and x.token_expires_at is not None


def test_key_rotation_keeps_old_tokens_readable(client: FlaskClient, app: App) -> None:
    from jobs.tokens import reseal_all

    connect(client, sign_up(client, "alice"), "x", ALICE_X)
    old_sealed = _accounts(app)[0].token_ciphertext
    plaintext = accounts.open_token(key_ring(app.settings), old_sealed)
    new_key = crypto.generate_key()
    rotated = app.settings.model_copy(update={"token_keys": f"{new_key},{TOKEN_KEY}"})
    assert accounts.open_token(key_ring(rotated), old_sealed) == plaintext
    assert reseal_all(app.db, rotated) == 1
    new_only = app.settings.model_copy(update={"token_keys": new_key})
    resealed = _accounts(app)[0]
    assert accounts.open_token(key_ring(new_only), resealed.token_ciphertext) == plaintext
    assert accounts.open_token(key_ring(new_only), resealed.refresh_ciphertext)


def test_no_secret_in_any_log_line(client: FlaskClient, app: App, sandbox, clock,  # type: ignore[no-untyped-def]
                                   caplog: pytest.LogCaptureFixture) -> None:
    from jobs.tokens import refresh_tokens

    caplog.set_level(logging.DEBUG)
    csrf = sign_up(client, "alice")
    callbacks = [connect(client, csrf, "x", ALICE_X), connect(client, csrf, "facebook", ALICE_FB)]
    clock.advance(hours=2)
    assert refresh_tokens(app.db, app.settings, now=app.now()).refreshed == 1
    client.post("/logout", data={"csrf_token": csrf})
    client.post("/login", data={"csrf_token": csrf_of(client, "/login"), "name": "alice",
                                "password": PASSWORD})
    secrets = {PASSWORD, SESSION_SECRET, TOKEN_KEY, app.settings.x_client_secret,
               app.settings.facebook_app_secret}
    secrets |= set(sandbox.world.grants)  # every token the networks issued
    secrets |= set(sandbox.world.refresh_tokens)
    for callback in callbacks:
        query = dict(p.split("=", 1) for p in callback.split("?", 1)[1].split("&"))
        secrets |= {query["code"], query["state"]}
    with app.db.unit_of_work() as session:
        secrets |= {s.code_verifier for s in session.execute(select(OAuthState)).scalars()
                    if s.code_verifier}
    assert len(caplog.records) > 0
    lines = [r.getMessage() for r in caplog.records] + [caplog.text]
    for secret in secrets:
        assert not any(secret in line for line in lines), "a secret reached the log"
