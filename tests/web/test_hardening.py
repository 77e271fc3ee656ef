"""Issue 11 on the web: open redirects, sessions that end server-side, 400 (never 500) for
bad input, webhooks that sign only X's challenges and ignore replays, the sign-in pause a
known browser gets through, and logs without SQL parameters. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from bots.x.webhook import x_signature
from commands.main import main
from core.models import Person, SocialAccount, WebhookEvent
from core.users import SIGN_IN_ATTEMPTS
from runtime.app import App
from tests.web.conftest import ALICE_X, PASSWORD
from tests.web.helpers import connect, csrf_of, sign_up


def _login(client: FlaskClient, name: str = "alice", password: str = PASSWORD,
           **extra: str):  # type: ignore[no-untyped-def]
    return client.post("/login", data={"csrf_token": csrf_of(client, "/login"), "name": name,
                                       "password": password, **extra})


# -- item 3: open redirect ----------------------------------------------------------------

@pytest.mark.parametrize("target", [
    "/%09/evil.example/phish", "/\t/evil.example", "//evil.example", "/\\evil.example",
    "\\\\evil.example", "/%2F%2Fevil.example", "/%5cevil.example", "https://evil.example/",
    "/me%0d%0aLocation:%20https://evil.example", "/ /evil.example", "/me/../..//evil.example",
    "/nowhere-of-ours", "javascript:alert(1)", "/me?next=//evil.example", "",
])
def test_next_after_sign_in_never_leaves_the_site(client: FlaskClient, target: str) -> None:
    sign_up(client, "alice")
    client.post("/logout", data={"csrf_token": csrf_of(client)})
    response = _login(client, next=target)
    assert response.status_code in (303, 400)
    if response.status_code == 303:
        assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["/me", "/creator", "/me/statements/2026-09", "/admin/"])
def test_next_to_a_page_of_ours_is_kept(client: FlaskClient, target: str) -> None:
    sign_up(client, "alice")
    client.post("/logout", data={"csrf_token": csrf_of(client)})
    assert _login(client, next=target).headers["Location"] == target


def test_a_newline_in_next_is_a_400(client: FlaskClient) -> None:
    sign_up(client, "alice")
    client.post("/logout", data={"csrf_token": csrf_of(client)})
    assert _login(client, next="/me\nSet-Cookie: x=1").status_code == 400
    assert client.get("/login", query_string={"next": "/me\r\n"}).status_code == 400


def test_a_user_error_never_redirects_to_the_referer(client: FlaskClient) -> None:
    csrf = sign_up(client, "alice")
    response = client.post("/me/budget", data={"csrf_token": csrf, "amount": "nope"},
                           headers={"Referer": "https://evil.example/phish"})
    assert response.status_code == 303 and response.headers["Location"] == "/me"
    response = client.post("/creator/notifications", headers={"Referer": "//evil.example"},
                           data={"csrf_token": csrf, "channel": "email", "email": "x"})
    assert response.status_code == 303 and response.headers["Location"] == "/creator"


# -- item 5: sessions end server-side -----------------------------------------------------

def _copied_cookie(client: FlaskClient, web) -> FlaskClient:  # type: ignore[no-untyped-def]
    copy = web.test_client()
    cookie = client.get_cookie("flattr_session")
    assert cookie is not None
    copy.set_cookie("flattr_session", cookie.value)
    assert copy.get("/me").status_code == 200
    return copy


def test_signing_out_ends_every_copy_of_the_session(client: FlaskClient, web) -> None:  # type: ignore[no-untyped-def]
    csrf = sign_up(client, "alice")
    copy = _copied_cookie(client, web)
    client.post("/logout", data={"csrf_token": csrf})
    assert copy.get("/me").status_code == 302
    assert client.get("/me").status_code == 302


def test_a_new_password_ends_the_other_sessions(client: FlaskClient, web) -> None:  # type: ignore[no-untyped-def]
    csrf = sign_up(client, "alice")
    copy = _copied_cookie(client, web)
    new = "a brand new password"
    wrong = client.post("/me/password", data={"csrf_token": csrf, "password": "not it!!!!!",
                                              "new_password": new, "new_password2": new})
    assert wrong.status_code == 303 and copy.get("/me").status_code == 200
    response = client.post("/me/password", data={"csrf_token": csrf, "password": PASSWORD,
                                                 "new_password": new, "new_password2": new})
    assert response.status_code == 303
    assert copy.get("/me").status_code == 302
    assert client.get("/me").status_code == 200  # this browser stays signed in
    client.post("/logout", data={"csrf_token": csrf_of(client)})
    assert _login(client, password=PASSWORD).status_code == 401
    assert _login(client, password=new).status_code == 303


def test_an_operator_revoke_ends_every_session(client: FlaskClient, web, app: App,  # type: ignore[no-untyped-def]
                                               database_url: str, monkeypatch, capsys) -> None:
    sign_up(client, "alice")
    copy = _copied_cookie(client, web)
    monkeypatch.setenv("FLATTR_DATABASE_URL", database_url)
    assert main(["users", "signout", "alice"]) == 0
    assert copy.get("/me").status_code == 302 and client.get("/me").status_code == 302
    # and from the operators' page
    _login(client)
    copy = _copied_cookie(client, web)
    operator = web.test_client()
    sign_up(operator, "olga")
    with app.db.unit_of_work() as session:
        session.execute(select(Person).where(Person.name == "olga")).scalar_one().is_admin = True
    assert operator.post("/admin/sessions/end", data={
        "csrf_token": csrf_of(operator), "name": "alice"}).status_code == 303
    assert copy.get("/me").status_code == 302


# -- item 9: the sign-in pause, and the way in from a known browser ------------------------

def test_a_known_browser_gets_through_a_paused_name(client: FlaskClient, web) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, "alice")
    client.post("/logout", data={"csrf_token": csrf_of(client)})
    attacker = web.test_client()
    for _ in range(SIGN_IN_ATTEMPTS):
        assert _login(attacker, password="guess guess guess").status_code == 401
    paused = _login(attacker)
    assert paused.status_code == 429
    assert "browser you signed in with before" in paused.get_data(as_text=True)
    assert _login(client, password="wrong password!").status_code == 401  # still checked
    assert _login(client).status_code == 303  # alice, from her own browser
    stranger = web.test_client()
    stranger.set_cookie("flattr_device", "forged.value.here")
    assert _login(stranger).status_code == 429


def test_an_operator_can_reopen_paused_sign_ins(client: FlaskClient, database_url: str,  # type: ignore[no-untyped-def]
                                                monkeypatch, web) -> None:
    sign_up(client, "alice")
    stranger = web.test_client()
    for _ in range(SIGN_IN_ATTEMPTS):
        _login(stranger, password="guess guess guess")
    assert _login(stranger).status_code == 429
    monkeypatch.setenv("FLATTR_DATABASE_URL", database_url)
    assert main(["users", "unpause", "alice"]) == 0
    assert _login(stranger).status_code == 303


# -- item 6: 400, not 500 ------------------------------------------------------------------

LONG_EMAIL = "a" * 250 + "@example.org"


@pytest.mark.parametrize(("path", "fields"), [
    ("/signup", {"name": "al\0ice", "password": PASSWORD, "password2": PASSWORD}),
    ("/signup", {"name": "alice", "password": PASSWORD, "password2": PASSWORD,
                 "email": LONG_EMAIL}),
    ("/signup", {"name": "alice", "password": PASSWORD + "\0", "password2": PASSWORD + "\0"}),
    ("/login", {"name": "ali\0ce", "password": PASSWORD}),
    ("/login", {"name": "alice", "password": PASSWORD, "next": "/me\n"}),
])
def test_bad_text_in_public_forms_is_a_400(client: FlaskClient, app: App, path: str,
                                           fields: dict[str, str]) -> None:
    response = client.post(path, data={"csrf_token": csrf_of(client, path), **fields})
    assert response.status_code == 400
    with app.db.unit_of_work() as session:
        assert session.execute(select(func.count()).select_from(Person)).scalar_one() == 0


@pytest.mark.parametrize(("path", "fields"), [
    ("/creator/notifications", {"channel": "email", "email": LONG_EMAIL}),
    ("/creator/notifications", {"channel": "email", "email": "ann@exa\0mple.org"}),
    ("/me/budget", {"amount": "5\0"}),
    ("/me/topup", {"amount": "\x7f"}),
])
def test_bad_text_in_signed_in_forms_is_refused(client: FlaskClient, app: App, path: str,
                                                fields: dict[str, str]) -> None:
    csrf = sign_up(client, "alice")
    response = client.post(path, data={"csrf_token": csrf, **fields})
    assert response.status_code in (303, 400)
    with app.db.unit_of_work() as session:
        person = session.execute(select(Person)).scalar_one()
        assert person.email is None


def test_a_unicode_digit_is_no_flattr_id(client: FlaskClient) -> None:
    csrf = sign_up(client, "alice")
    assert client.post("/me/flattrs/١/withdraw", data={"csrf_token": csrf}).status_code == 404


# -- item 4: webhooks ---------------------------------------------------------------------

def _x_event(app: App, client: FlaskClient, body: bytes):  # type: ignore[no-untyped-def]
    headers = {"x-twitter-webhooks-signature": x_signature(app.settings.x_client_secret, body)}
    return client.post("/webhooks/x", data=body, headers=headers)


@pytest.mark.parametrize("token", ['{"for_user_id": "100000001"}', "a b", "short", "x" * 300,
                                   "abc\ndef12345"])
def test_crc_signs_only_x_challenge_tokens(client: FlaskClient, token: str) -> None:
    response = client.get("/webhooks/x", query_string={"crc_token": token})
    assert response.status_code == 400 and "response_token" not in response.get_data(as_text=True)


def test_a_json_body_signed_by_the_crc_answer_is_no_event(client: FlaskClient, app: App) -> None:
    forged = json.dumps({"for_user_id": ALICE_X}).encode()
    answer = client.get("/webhooks/x", query_string={"crc_token": forged.decode()})
    assert answer.status_code == 400
    response = client.post("/webhooks/x", data=forged, headers={
        "x-twitter-webhooks-signature": "sha256=AAAA"})
    assert response.status_code == 403


def test_replayed_events_change_nothing_and_wakes_are_capped(client: FlaskClient, app: App,
                                                             clock) -> None:  # type: ignore[no-untyped-def]
    csrf = sign_up(client, "alice")
    connect(client, csrf, "x", ALICE_X)
    later = clock.now + timedelta(hours=6)

    def push_back() -> None:
        with app.db.unit_of_work() as session:
            session.execute(select(SocialAccount)).scalar_one().next_poll_at = later

    push_back()
    event = json.dumps({"for_user_id": ALICE_X, "favorite_events": [{"id": "1"}]}).encode()
    assert _x_event(app, client, event).get_json()["scheduled"] == 1
    push_back()
    replay = _x_event(app, client, event)
    assert replay.status_code == 200 and replay.get_json()["scheduled"] == 0
    # Another event within the cap: recorded, but the account is not woken again.
    other = json.dumps({"for_user_id": ALICE_X, "favorite_events": [{"id": "2"}]}).encode()
    assert _x_event(app, client, other).get_json()["scheduled"] == 0
    clock.advance(minutes=2)
    third = json.dumps({"for_user_id": ALICE_X, "favorite_events": [{"id": "3"}]}).encode()
    assert _x_event(app, client, third).get_json()["scheduled"] == 1
    with app.db.unit_of_work() as session:
        assert session.execute(select(func.count()).select_from(WebhookEvent)).scalar_one() == 3
        assert session.execute(select(SocialAccount)).scalar_one().next_poll_at == clock.now
    clock.advance(days=3)  # past the window: the digest is forgotten
    assert _x_event(app, client, event).get_json()["scheduled"] == 1


def test_a_deep_signed_event_is_a_400(client: FlaskClient, app: App) -> None:
    deep = b"[" * 50_000 + b"]" * 50_000
    response = _x_event(app, client, deep)
    assert response.status_code == 400 and "nested too deeply" in response.get_json()["error"]


def test_put_on_a_webhook_is_405(client: FlaskClient) -> None:
    assert client.put("/webhooks/x", data=b"{}").status_code == 405
    assert client.delete("/webhooks/facebook").status_code == 405


# -- item 9: no SQL parameters in the logs ------------------------------------------------

def test_sql_errors_never_print_parameters(app: App, web, caplog) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    with pytest.raises(SQLAlchemyError) as caught, app.db.engine.begin() as connection:
        connection.execute(text("INSERT INTO people (name, email) VALUES (:n, :e)"),
                           {"n": "x", "e": "secret.person@example.org"})
    assert "[SQL parameters hidden" in str(caught.value)
    with caplog.at_level(logging.ERROR):
        web.logger.error("Exception on /signup [POST]", exc_info=caught.value)
    assert "INSERT INTO people" in caplog.text
    assert "secret.person" not in caplog.text


# -- found by the campaign (tests/campaign) -----------------------------------------------

def test_a_non_ascii_csrf_token_is_a_400(client: FlaskClient) -> None:
    sign_up(client, "alice")
    response = client.post("/me/budget", data={"csrf_token": "\xa0", "amount": "5"})
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)


def test_a_deep_signed_request_is_refused_not_a_500(client: FlaskClient, app: App) -> None:
    import base64
    import hashlib
    import hmac

    deep = b"[" * 1400 + b"]" * 1400  # deeper than Python's recursion limit, under 4096
    payload = base64.urlsafe_b64encode(deep).decode().rstrip("=")
    sig = hmac.new(app.settings.facebook_app_secret.encode(), payload.encode(),
                   hashlib.sha256).digest()
    signed = base64.urlsafe_b64encode(sig).decode().rstrip("=") + "." + payload
    response = client.post("/webhooks/facebook/deauthorize", data={"signed_request": signed})
    assert response.status_code == 403


def test_a_new_password_forgets_the_known_browsers(client: FlaskClient, web) -> None:  # type: ignore[no-untyped-def]
    csrf = sign_up(client, "alice")
    device = client.get_cookie("flattr_device")
    assert device is not None
    new = "a brand new password"
    assert client.post("/me/password", data={"csrf_token": csrf, "password": PASSWORD,
                                             "new_password": new,
                                             "new_password2": new}).status_code == 303
    stranger = web.test_client()
    for _ in range(SIGN_IN_ATTEMPTS):
        _login(stranger, password="guess guess guess")
    old_browser = web.test_client()
    old_browser.set_cookie("flattr_device", device.value)
    assert _login(old_browser, password=new).status_code == 429
    client.post("/logout", data={"csrf_token": csrf_of(client)})
    assert _login(client, password=new).status_code == 303  # its cookie is the new one
