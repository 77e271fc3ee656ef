"""Every page of the web app, in the states a person sees it, fits a phone (390 px) and a
desktop (1280 px) and passes axe-core (no serious or critical violation): signed out, a
reader with linked accounts, flattrs and a closed month, a creator with a claim, the
operator, the confirmation pages, the error pages and the sandbox's consent pages. The
pages come from the Flask url_map: a new GET route fails this test until VISITS covers it
(one line) or EXCLUDED says why not."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from core.models import Person
from tests.web.a11y import chromium, problems
from tests.web.browser import needs_chromium, sign_up
from tests.web.test_living_browser import living, reload_until, start
from web.app import create_app

__all__ = ["living", "start"]  # fixtures

# (endpoint, who, path): who is "visitor" (signed out), "reader" (linked X and Facebook,
# flattrs, October closed), "maker" (claimed an X identity) or "admin" (the reader, made an
# operator). An endpoint of None: a page no route serves (the 404).
VISITS: list[tuple[str | None, str, str]] = [
    ("pages.home", "visitor", "/"),
    ("auth.login", "visitor", "/login"),
    ("auth.signup", "visitor", "/signup"),
    (None, "visitor", "/no-such-page"),
    ("pages.home", "reader", "/"),
    ("pages.me", "reader", "/me"),
    ("pages.statement", "reader", "/me/statements/2026-10"),
    ("pages.creator", "reader", "/creator"),
    ("accounts.link_form", "reader", "/link/bluesky"),
    ("accounts.callback", "reader", "/callback/x?state=spent&code=1"),  # the 400 page
    ("pages.creator", "maker", "/creator"),
    ("admin.index", "admin", "/admin/"),
    ("reset.forgot", "visitor", "/forgot"),
    ("reset.reset", "visitor", "/reset/made-up"),  # "this link does not work" (400)
    ("account.index", "reader", "/me/settings"),
    ("account.delete", "reader", "/me/delete"),
    ("account.confirm_email", "reader", "/email/confirm/made-up"),  # 400 as above
]
EXCLUDED = {
    "static": "files (the stylesheet), not pages",
    "healthz": "JSON for monitors",
    "webhooks.handshake": "the networks' webhook handshake (JSON or plain text), not a page",
    "webhooks.deletion_status": "JSON for Facebook's data deletion callback",
    "language.switch": "a redirect (303) that keeps the chosen language in a cookie",
    "account.export": "a JSON download (tests/web/test_account_data.py checks it)",
}
# Pages a POST answers with: the confirmations of what cannot be undone (who, page, button).
CONFIRMS = [
    ("reader", "/me", "tr.flattr button:has-text('Withdraw')"),
    ("reader", "/me", "tr.account button:has-text('Disconnect')"),
    ("reader", "/creator", "#opt-out"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the module's tests; each test opens its own contexts."""
    with chromium() as launched:
        yield launched


def in_a_browser(test: Any) -> Any:
    for mark in needs_chromium:
        test = mark(test)
    return test


def unlisted(web: Flask) -> tuple[set[str], set[str]]:
    """(GET endpoints neither visited nor excluded, listed endpoints no route has)."""
    routes = {rule.endpoint for rule in web.url_map.iter_rules() if "GET" in (rule.methods or ())}
    listed = {endpoint for endpoint, _, _ in VISITS if endpoint} | set(EXCLUDED)
    return routes - listed, listed - routes


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_get_page_is_visited_or_excluded_with_a_reason(web: Flask) -> None:
    missing, gone = unlisted(web)
    assert missing == set(), "a GET page neither visited nor excluded: add it to VISITS"
    assert gone == set(), "VISITS or EXCLUDED name a route that is gone"


@in_a_browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_page_fits_a_phone_and_passes_axe(browser, living) -> None:  # type: ignore[no-untyped-def]
    here, base = living
    assert unlisted(create_app(here.app, testing=True, living=here)) == (set(), set())

    found: list[str] = []
    for who in ("visitor", "reader", "admin", "maker"):
        context = browser.new_context(viewport={"width": 390, "height": 800})
        page = context.new_page()
        page.set_default_timeout(15_000)
        found += become(page, here, base, who)
        for _, visitor, path in VISITS:
            if visitor == who:
                page.goto(base + path)
                found += problems(page, who)
        for visitor, path, button in CONFIRMS:
            if visitor == who:
                page.goto(base + path)
                page.click(button)
                page.wait_for_selector("#confirm")
                found += problems(page, f"{who}, confirmation")
                page.click("#confirm .cancel")
        context.close()
    assert not found, "\n".join(found)


def become(page, here, base: str, who: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Sign in as `who`, making the state on the way (the sandbox's consent pages are
    checked as they come: their problems are returned)."""
    found: list[str] = []
    if who == "visitor":
        return found
    if who == "admin":
        with here.app.db.unit_of_work() as session:
            person = session.execute(select(Person).where(Person.name == "reader")).scalar_one()
            person.is_admin = True
        sign_in(page, base, "reader")
        return found
    deadline = time.monotonic() + 90
    sign_up(page, base, who)
    if who == "maker":
        page.goto(base + "/creator")
        page.click("#claim-x")
        found += consent(page, "@creator0 (Creator 0)")
        page.wait_for_selector("li.claim")
        return found
    page.fill("#budget input[name=amount] >> nth=0", "5.00")
    page.click("button:has-text('Set budget')")
    page.click("#connect-x")
    found += consent(page, "@alice")
    page.wait_for_selector("text=Connected X as @alice")
    page.click("#connect-facebook")
    found += consent(page, "Alice")
    page.wait_for_selector("text=Connected Facebook as Alice")
    reload_until(page, "tr.flattr", deadline)
    reload_until(page, "#statements a:has-text('October 2026')", deadline)
    reload_until(page, "tr.flattr", deadline)  # November's first flattrs
    here.clock.pause()  # November stands still: the pages stay as they are checked
    return found


def consent(page, label: str) -> list[str]:  # type: ignore[no-untyped-def]
    page.wait_for_selector("select[name=user_id]")
    found = problems(page, "sandbox consent")
    page.select_option("select[name=user_id]", label=label)
    page.click("button[value=approve]")
    return found


def sign_in(page, base: str, name: str) -> None:  # type: ignore[no-untyped-def]
    from tests.web.conftest import PASSWORD

    page.goto(base + "/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(base + "/me")


def tab_to(page, selector: str, limit: int = 80) -> None:  # type: ignore[no-untyped-def]
    """Press Tab until `selector` has the focus, and see that the focus shows."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", f"{selector} has the focus but does not show it"
            return
    raise AssertionError(f"Tab never reached {selector}")


@in_a_browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_keyboard_alone_signs_up_sets_a_budget_and_confirms(browser, live_server) -> None:  # type: ignore[no-untyped-def]
    from tests.web.conftest import PASSWORD

    base = live_server
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(base + "/")
    tab_to(page, "a.skip")  # the first stop skips the header
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    tab_to(page, "main a[href='/signup']")
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/signup")
    tab_to(page, "input[name=name]")
    page.keyboard.type("keys")
    tab_to(page, "input[name=password]")
    page.keyboard.type(PASSWORD)
    tab_to(page, "input[name=password2]")
    page.keyboard.type(PASSWORD)
    tab_to(page, "main button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/me")

    tab_to(page, "#budget input[name=amount]")
    page.keyboard.type("5.00")
    page.keyboard.press("Enter")
    page.wait_for_selector("#budget-next")
    assert "5.00" in page.inner_text("#budget-next")

    tab_to(page, "header a[href='/creator']")
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/creator")
    tab_to(page, "#opt-out")
    page.keyboard.press("Enter")
    page.wait_for_selector("#confirm")
    tab_to(page, "#confirm-button")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=we will never send you a message")
    context.close()
