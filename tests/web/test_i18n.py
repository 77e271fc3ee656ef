"""French and English: every string shown is in the French catalogue, every page renders in
both languages without the other's words, and the language is the person's setting, else
the switch's cookie, else the browser's Accept-Language, else English."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from commands import catalogue
from core.models import Person
from runtime.app import App
from tests.web.conftest import ALICE_FB, ALICE_X, BOB_X
from tests.web.flow import close_october, poll, push_webhooks
from tests.web.helpers import connect, csrf_of, sign_up

FR = {"HTTP_ACCEPT_LANGUAGE": "fr-FR,fr;q=0.9,en;q=0.5"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}


def test_every_string_shown_is_translated_in_french() -> None:
    missing = catalogue.problems("fr")
    assert not missing, "missing or untranslated in runtime/locales/fr (run `python -m " \
        "commands.catalogue update`, then translate):\n" + "\n".join(missing)


def test_the_extraction_sees_templates_python_errors_and_notifications() -> None:
    found = {message if isinstance(message, str) else message[0]
             for _where, _line, message in catalogue.messages()}
    assert "Budget and wallet" in found  # a template
    assert "Unknown name or wrong password." in found  # a flash message
    assert "budget %(budget)s is below the minimum of %(minimum)s" in found  # core's error
    assert "Your flattr wallet is too low" in found  # a notification
    assert "1 hour a second" in found  # marked with N_ where it is defined


def _text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _phrases(language: str) -> tuple[list[str], list[str]]:
    """(English ids, French translations) of three words or more that differ, without
    placeholders or markup: what must not show on a page in the other language."""
    english, french = [], []
    for message in catalogue.read("fr"):
        if not message.id or isinstance(message.id, tuple | list):
            continue
        text, translated = str(message.id), str(message.string)
        if "%(" in text or "<" in text or text == translated or len(text.split()) < 3:
            continue
        english.append(text)
        french.append(translated)
    return english, french


def _pages(client: FlaskClient, app: App, clock: Any,
           headers: dict[str, str]) -> Iterator[tuple[str, str]]:
    """Every page of the app with something on it, as (what, html)."""
    client.environ_base.update(headers)
    for path in ("/", "/login", "/signup", "/forgot", "/reset/not-a-token"):
        yield path, client.get(path).get_data(as_text=True)
    yield "404", client.get("/no-such-page").get_data(as_text=True)
    sign_up(client, "bob")
    csrf = sign_up(client, "alice")
    client.post("/me/topup", data={"csrf_token": csrf, "amount": "20"})
    connect(client, csrf, "x", ALICE_X)
    poll(app)  # the first poll records where the streams are
    clock.set(datetime(2026, 10, 1, 10, 30, tzinfo=UTC))
    push_webhooks(client, app, ALICE_X, ALICE_FB)  # due now
    assert poll(app).flattrs == 2
    yield "/me with flattrs", client.get("/me").get_data(as_text=True)
    close_october(app)
    clock.set(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    with app.db.unit_of_work() as session:
        session.execute(select(Person).where(Person.name == "alice")).scalar_one().is_admin = True
    me = client.get("/me").get_data(as_text=True)
    yield "/me", me
    for path in ("/creator", "/admin/", "/me/statements/2026-10", "/link/bluesky",
                 "/me/settings", "/me/delete", "/email/confirm/not-a-token"):
        response = client.get(path)
        assert response.status_code == (400 if "confirm" in path else 200), path
        yield path, response.get_data(as_text=True)
    account = re.search(r"/accounts/([0-9]+)/disconnect", me)
    assert account
    for path in (f"/accounts/{account.group(1)}/disconnect", "/creator/opt-out"):
        response = client.post(path, data={"csrf_token": csrf})
        assert response.status_code == 200, path
        yield f"confirm {path}", response.get_data(as_text=True)
    yield "error 400", client.post("/me/budget", data={"csrf_token": "wrong"}).get_data(
        as_text=True)
    client.post("/logout", data={"csrf_token": csrf})
    csrf = csrf_of(client, "/login")
    client.post("/login", data={"csrf_token": csrf, "name": "bob", "password": "x" * 12})
    csrf = sign_up(client, "carol")
    connect(client, csrf, "x", BOB_X, purpose="claim")
    yield "/creator after a claim", client.get("/creator").get_data(as_text=True)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_page_renders_in_french_and_in_english(client: FlaskClient, app: App,
                                                      clock: Any, language: str) -> None:
    english, french = _phrases(language)
    foreign = english if language == "fr" else french
    seen = 0
    for what, page in _pages(client, app, clock, FR if language == "fr" else EN):
        assert f'<html lang="{language}">' in page, what
        text = _text(page)
        leaked = [phrase for phrase in foreign if phrase in text]
        assert not leaked, f"{what} in {language} shows {leaked}"
        seen += 1
    assert seen == 19 and len(foreign) > 80


def test_french_pages_format_amounts_and_months_for_the_locale(client: FlaskClient,
                                                               app: App) -> None:
    client.environ_base.update(FR)
    csrf = sign_up(client, "alice")
    client.post("/me/topup", data={"csrf_token": csrf, "amount": "20"})
    response = client.post("/me/budget", data={"csrf_token": csrf, "amount": "5,00"},
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "À partir de novembre 2026, votre budget mensuel est de 5,00\u00a0€." in page
    assert '<strong id="wallet"><span class="amount">20,00\u00a0€</span></strong>' in page
    assert "Budget pour octobre 2026" in page


def test_a_french_error_message_keeps_its_amounts_formatted(client: FlaskClient) -> None:
    client.environ_base.update(FR)
    csrf = sign_up(client, "alice")
    page = client.post("/me/budget", data={"csrf_token": csrf, "amount": "1"},
                       follow_redirects=True).get_data(as_text=True)
    assert "le budget de 1,00\u00a0€ est inférieur au minimum de 2,00\u00a0€" in page


def test_english_pages_put_the_currency_sign_first(client: FlaskClient) -> None:
    client.environ_base.update(EN)
    csrf = sign_up(client, "alice")
    page = client.post("/me/budget", data={"csrf_token": csrf, "amount": "5"},
                       follow_redirects=True).get_data(as_text=True)
    assert "From November 2026 on, your monthly budget is €5.00." in page


def _lang(client: FlaskClient, path: str = "/") -> str:
    match = re.search(r'<html lang="([a-z]+)">', client.get(path).get_data(as_text=True))
    assert match
    return match.group(1)


def test_without_a_choice_the_browser_decides_else_english(client: FlaskClient) -> None:
    assert _lang(client) == "en"
    client.environ_base.update(FR)
    assert _lang(client) == "fr"
    client.environ_base.update({"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"})
    assert _lang(client) == "en"
    client.environ_base.update({"HTTP_ACCEPT_LANGUAGE": "de,fr-CA;q=0.8,en;q=0.5"})
    assert _lang(client) == "fr"


def test_the_switch_wins_over_the_browser_for_a_visitor(client: FlaskClient) -> None:
    client.environ_base.update(FR)
    home = client.get("/").get_data(as_text=True)
    assert 'href="/language/en?next=/"' in home  # a plain link: no JavaScript needed
    response = client.get("/language/en?next=/login")
    assert response.status_code == 303 and response.headers["Location"].endswith("/login")
    assert _lang(client, "/login") == "en"
    client.get("/language/fr?next=https://evil.example/")
    assert _lang(client) == "fr"
    assert client.get("/language/de").status_code == 404


def test_the_persons_setting_wins_over_switch_and_browser(client: FlaskClient,
                                                          app: App) -> None:
    client.environ_base.update(FR)
    csrf = sign_up(client, "alice")  # signed up in French: their setting is French
    with app.db.unit_of_work() as session:
        assert session.execute(select(Person.language)).scalar_one() == "fr"
    response = client.post("/me/language", data={"csrf_token": csrf, "language": "en"},
                           follow_redirects=True)
    assert "The pages and your messages are now in English." in response.get_data(as_text=True)
    assert _lang(client, "/me") == "en"  # though the browser asks for French
    client.set_cookie("flattr_lang", "fr")
    assert _lang(client, "/me") == "en"  # and the cookie too
    client.post("/me/language", data={"csrf_token": csrf, "language": ""})
    client.delete_cookie("flattr_lang")
    assert _lang(client, "/me") == "fr"  # no setting: the browser again
    with app.db.unit_of_work() as session:
        assert session.execute(select(Person.language)).scalar_one() is None
    refused = client.post("/me/language", data={"csrf_token": csrf, "language": "xx"})
    assert refused.status_code == 400
