"""Issue 15, account basics that send e-mail: forgot password (the same answer for any
address, limited, a single-use expiring link), change of password (other sessions end,
the owner is told) and of e-mail address (nothing changes until the new address confirms;
the old one is told). Mail goes to a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import logging
import threading
from urllib.parse import urlsplit

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import select

from core.account_tokens import MAX_PER_WINDOW, digest
from core.models import AccountToken, Person
from runtime.app import App
from runtime.mail import Mail
from tests.web.conftest import PASSWORD
from tests.web.helpers import csrf_of
from tests.web.smtp import Inbox, body, inbox, link, settings, smtp
from web import context
from web import mail as web_mail

__all__ = ["inbox", "settings", "smtp"]  # fixtures
NEW = "a brand new password"


def _join(client: FlaskClient, name: str = "alice", email: str = "alice@test.example") -> None:
    response = client.post("/signup", data={
        "csrf_token": csrf_of(client, "/signup"), "name": name, "email": email,
        "budget": "2.00", "password": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)


def _login(client: FlaskClient, password: str, name: str = "alice") -> int:
    return client.post("/login", data={"csrf_token": csrf_of(client, "/login"), "name": name,
                                       "password": password}).status_code


def _second_browser(web: Flask, client: FlaskClient) -> FlaskClient:
    other = web.test_client()
    cookie = client.get_cookie("flattr_session")
    assert cookie is not None
    other.set_cookie("flattr_session", cookie.value)
    assert other.get("/me").status_code == 200
    return other


def _forgot(client: FlaskClient, address: str):  # type: ignore[no-untyped-def]
    return client.post("/forgot", data={"csrf_token": csrf_of(client, "/forgot"),
                                        "email": address}, follow_redirects=True)


def test_forgot_password_answers_the_same_and_its_link_works_once(
        web: Flask, client: FlaskClient, inbox: Inbox, app: App, clock) -> None:  # type: ignore[no-untyped-def]
    _join(client)
    other = _second_browser(web, client)
    stranger = web.test_client()
    known = _forgot(stranger, "ALICE@test.example")
    unknown = _forgot(stranger, "nobody@test.example")
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True) == unknown.get_data(as_text=True)
    mail = inbox.wait("alice@test.example")
    assert mail["Subject"] == "Reset your Flattr password" and "alice" in body(mail)
    url = link(mail)
    assert urlsplit(url).netloc == "localhost"  # sandbox mode without a base URL
    path = urlsplit(url).path
    token = path.rsplit("/", 1)[1]
    with app.db.unit_of_work() as session:  # only the hash is kept
        assert session.execute(select(AccountToken.token_hash)).scalar_one() == digest(token)
        assert token not in str(session.execute(select(AccountToken.token_hash)).all())

    assert stranger.get(path).status_code == 200
    too_short = stranger.post(path, data={"csrf_token": csrf_of(stranger, path),
                                          "password": "short", "password2": "short"})
    assert too_short.status_code == 400  # refused; the link still works
    response = stranger.post(path, data={"csrf_token": csrf_of(stranger, path),
                                         "password": NEW, "password2": NEW})
    assert response.status_code == 303 and response.headers["Location"] == "/me"
    assert stranger.get("/me").status_code == 200  # signed in here
    assert other.get("/me").status_code == 302 and client.get("/me").status_code == 302
    assert _login(web.test_client(), PASSWORD) == 401
    assert _login(web.test_client(), NEW) == 303
    again = web.test_client()
    assert again.get(path).status_code == 400  # spent
    assert "does not work any more" in again.get(path).get_data(as_text=True)

    _forgot(stranger, "alice@test.example")
    late = urlsplit(link(inbox.wait("alice@test.example", count=2))).path
    clock.advance(hours=1, seconds=1)
    assert web.test_client().get(late).status_code == 400  # expired
    assert len(inbox.to("nobody@test.example")) == 0


def test_reset_requests_are_limited_without_saying_so(web: Flask, client: FlaskClient,
                                                      inbox: Inbox, clock) -> None:  # type: ignore[no-untyped-def]
    _join(client)
    stranger = web.test_client()
    answers = {_forgot(stranger, "alice@test.example").get_data(as_text=True)
               for _ in range(MAX_PER_WINDOW + 2)}
    assert len(answers) == 1
    inbox.wait("alice@test.example", count=MAX_PER_WINDOW)
    clock.advance(seconds=1)
    assert len(inbox.to("alice@test.example")) == MAX_PER_WINDOW
    clock.advance(minutes=16)
    _forgot(stranger, "alice@test.example")
    inbox.wait("alice@test.example", count=MAX_PER_WINDOW + 1)


def test_mail_links_use_the_public_base_url(web: Flask, client: FlaskClient, inbox: Inbox,
                                            app: App) -> None:
    app.settings = app.settings.model_copy(update={"web_base_url": "https://flattr.example"})
    _join(client)
    _forgot(web.test_client(), "alice@test.example")
    assert link(inbox.wait("alice@test.example")).startswith("https://flattr.example/reset/")


def test_changing_the_password_ends_other_sessions_and_tells_the_owner(
        web: Flask, client: FlaskClient, inbox: Inbox) -> None:
    _join(client)
    other = _second_browser(web, client)
    assert client.get("/me").status_code == 200
    assert 'href="/me/settings"' in client.get("/me").get_data(as_text=True)
    wrong = client.post("/me/settings/password", data={
        "csrf_token": csrf_of(client, "/me/settings"), "password": "not my password",
        "new_password": NEW, "new_password2": NEW}, follow_redirects=True)
    assert "current password is wrong" in wrong.get_data(as_text=True)
    response = client.post("/me/settings/password", data={
        "csrf_token": csrf_of(client, "/me/settings"), "password": PASSWORD,
        "new_password": NEW, "new_password2": NEW})
    assert response.status_code == 303
    assert client.get("/me/settings").status_code == 200  # this browser stays in
    assert other.get("/me").status_code == 302  # the other one is out
    mail = inbox.wait("alice@test.example")
    assert mail["Subject"] == "Your Flattr password was changed"
    assert _login(web.test_client(), NEW) == 303


def test_a_new_email_address_counts_once_confirmed_and_the_old_one_is_told(
        web: Flask, client: FlaskClient, inbox: Inbox, app: App) -> None:
    _join(client)
    response = client.post("/me/settings/email", data={
        "csrf_token": csrf_of(client, "/me/settings"), "email": "alice@new.example",
        "password": PASSWORD}, follow_redirects=True)
    assert "nothing changes" in response.get_data(as_text=True)
    with app.db.unit_of_work() as session:
        person = session.execute(select(Person).where(Person.name == "alice")).scalar_one()
        assert person.email == "alice@test.example"  # not yet
    notice = inbox.wait("alice@test.example")
    assert "alice@new.example" in body(notice) and "reset" not in notice["Subject"].lower()
    confirm = urlsplit(link(inbox.wait("alice@new.example"))).path
    elsewhere = web.test_client()  # opened in the mail app's browser, not signed in
    page = elsewhere.get(confirm)
    assert page.status_code == 200 and "alice@new.example" in page.get_data(as_text=True)
    assert elsewhere.post(confirm, data={"csrf_token": csrf_of(elsewhere, confirm)}
                          ).status_code == 303
    with app.db.unit_of_work() as session:
        person = session.execute(select(Person).where(Person.name == "alice")).scalar_one()
        assert person.email == "alice@new.example"
    assert elsewhere.get(confirm).status_code == 400  # once
    assert "alice@new.example" in client.get("/me/settings").get_data(as_text=True)


def test_the_creator_page_cannot_change_the_address_without_confirmation(
        client: FlaskClient, inbox: Inbox, app: App) -> None:
    _join(client)
    client.post("/creator/notifications", data={
        "csrf_token": csrf_of(client, "/creator"), "channel": "email",
        "email": "someone@else.example", "password": PASSWORD})
    with app.db.unit_of_work() as session:
        person = session.execute(select(Person).where(Person.name == "alice")).scalar_one()
        assert person.email == "alice@test.example" and person.notify_channels == "email"
    inbox.wait("someone@else.example")


def test_a_failed_request_sends_nothing(web: Flask, client: FlaskClient, inbox: Inbox,
                                        clock) -> None:  # type: ignore[no-untyped-def]
    _join(client)
    bad = client.post("/me/settings/email", data={
        "csrf_token": csrf_of(client, "/me/settings"), "email": "not an address",
        "password": PASSWORD})
    assert bad.status_code == 303  # back to the settings with the message
    clock.advance(seconds=1)
    _forgot(web.test_client(), "alice@test.example")  # a later mail proves the queue ran
    inbox.wait("alice@test.example")
    assert len(inbox.messages) == 1


def test_the_creator_page_does_not_change_the_address_without_the_password(
        client: FlaskClient, inbox: Inbox, app: App) -> None:
    _join(client)
    for password in ("", "wrong"):
        answer = client.post("/creator/notifications", data={
            "csrf_token": csrf_of(client, "/creator"), "channel": "email",
            "email": "thief@else.example", "password": password}, follow_redirects=True)
        assert "current password" in answer.get_data(as_text=True)
    with app.db.unit_of_work() as session:
        assert session.execute(select(AccountToken)).first() is None
    _forgot(client, "alice@test.example")  # a later mail proves the queue ran
    inbox.wait("alice@test.example")
    assert [rcpt for rcpt, _ in inbox.messages] == [["alice@test.example"]]


def _ask_address(client: FlaskClient, address: str) -> None:
    assert client.post("/me/settings/email", data={
        "csrf_token": csrf_of(client, "/me/settings"), "email": address,
        "password": PASSWORD}).status_code == 303


def test_a_confirmed_address_spends_every_other_link(
        web: Flask, client: FlaskClient, inbox: Inbox, clock) -> None:  # type: ignore[no-untyped-def]
    _join(client)
    _forgot(web.test_client(), "alice@test.example")
    reset = urlsplit(link(inbox.wait("alice@test.example"))).path
    _ask_address(client, "alice@gmial.example")  # a typo
    typo = urlsplit(link(inbox.wait("alice@gmial.example"))).path
    clock.advance(seconds=1)
    _ask_address(client, "alice@gmail.example")
    right = urlsplit(link(inbox.wait("alice@gmail.example"))).path
    assert client.get(typo).status_code == 400  # only the newest request counts
    assert client.post(right, data={"csrf_token": csrf_of(client, right)}).status_code == 303
    assert web.test_client().get(reset).status_code == 400  # sent to the old address


def test_a_changed_password_spends_the_address_links(
        web: Flask, client: FlaskClient, inbox: Inbox) -> None:
    _join(client)
    _ask_address(client, "alice@new.example")
    confirm = urlsplit(link(inbox.wait("alice@new.example"))).path
    assert client.post("/me/settings/password", data={
        "csrf_token": csrf_of(client, "/me/settings"), "password": PASSWORD,
        "new_password": NEW, "new_password2": NEW}).status_code == 303
    assert client.get(confirm).status_code == 400


@pytest.mark.parametrize("path", ["/me/settings/email", "/me/settings/password", "/me/delete"])
def test_wrong_passwords_on_signed_in_pages_count_towards_the_sign_in_limit(
        web: Flask, client: FlaskClient, app: App, path: str) -> None:
    _join(client)
    form = {"email": "alice@new.example", "new_password": NEW, "new_password2": NEW,
            "confirm": "yes"}
    for _ in range(5):
        client.post(path, data={"csrf_token": csrf_of(client, "/me/settings"),
                                "password": "wrong", **form})
    refused = client.post(path, data={"csrf_token": csrf_of(client, "/me/settings"),
                                      "password": PASSWORD, **form}, follow_redirects=True)
    assert "too many wrong passwords" in refused.get_data(as_text=True)
    with app.db.unit_of_work() as session:
        person = session.execute(select(Person).where(Person.name == "alice")).scalar_one()
        assert person.deleted_at is None and person.email == "alice@test.example"
        assert session.execute(select(AccountToken)).first() is None
    assert _login(web.test_client(), PASSWORD) == 429


def test_a_rolled_back_request_forgets_its_queued_mails(web: Flask) -> None:
    with web.test_request_context("/"):
        context.after_commit(lambda: None)
        context.rollback()
        assert "after_commit" not in g


class _Broken:
    def send(self, mail: Mail) -> None:
        raise UnicodeEncodeError("ascii", mail.to, 0, 1, "no SMTPUTF8")


def test_any_error_in_the_mail_thread_is_logged(
        web: Flask, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    web.extensions[web_mail.EXTENSION] = _Broken()
    with web.test_request_context("/"):
        web_mail.send_later(Mail("anne@exämple.org", "Hi", "text"))
        for action in g.pop("after_commit"):
            action()
    for thread in threading.enumerate():
        if thread.name == "mail":
            thread.join(5)
    assert any("mail.failed" in r.getMessage() and "UnicodeEncodeError" in r.getMessage()
               for r in caplog.records)
