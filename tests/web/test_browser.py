"""The flows in headless Chromium (Debian's /usr/bin/chromium driven by Playwright; no
browser download): sign up, set a budget, connect X and Facebook on the sandbox's own
authorize pages, see flattrs appear after the worker's poll, withdraw one, close the month,
and as a creator claim the X identity and see its escrow released. Every page is
photographed (tests/web/browser.py says where)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from core.models import Person
from runtime.app import App
from tests.web.browser import authorize, browser_page, needs_chromium, shot, sign_up
from tests.web.conftest import ALICE_FB, ALICE_X
from tests.web.flow import close_october, poll, push_webhooks

pytestmark = needs_chromium
__all__ = ["browser_page"]  # a fixture


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_whole_flow_in_a_browser(browser_page, live_server: str, app: App, client, clock,  # type: ignore[no-untyped-def]
                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    page, base = browser_page, live_server
    page.goto(base + "/")
    shot(page, "home")

    sign_up(page, base, "alice", screenshot=True)
    page.fill("#budget input[name=amount] >> nth=0", "5.00")
    page.click("button:has-text('Set budget')")
    page.wait_for_selector("text=From November 2026 on, your monthly budget is €5.00")
    page.fill("input[placeholder='20.00']", "20.00")
    page.click("button:has-text('Top up (sandbox)')")
    assert page.inner_text("#wallet") == "€20.00"

    page.click("#connect-x")
    authorize(page, "@alice", screenshot="sandbox-x-authorize")
    page.wait_for_selector("text=Connected X as @alice")
    page.click("#connect-facebook")
    authorize(page, "Alice", screenshot="sandbox-facebook-dialog")
    page.wait_for_selector("text=Connected Facebook as Alice")
    assert page.locator(".status-active").count() == 2

    poll(app)  # the worker's first poll records where each stream stands
    clock.set(datetime(2026, 10, 1, 10, 30, tzinfo=UTC))  # alice likes things on X and Facebook
    push_webhooks(client, app, ALICE_X, ALICE_FB)  # the networks tell us: poll now
    assert poll(app).flattrs == 3
    page.reload()
    assert page.locator("tr.flattr").count() == 3
    shot(page, "me")

    page.locator("tr.flattr", has_text="Facebook").locator("button:has-text('Withdraw')").click()
    page.wait_for_selector("#confirm")  # it asks first, without JavaScript
    shot(page, "confirm-withdraw")
    page.click("#confirm-button")
    page.wait_for_selector("text=Withdrawn: it will not get a share")
    assert page.locator("tr.flattr.withdrawn").count() == 1

    close_october(app)
    clock.set(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    page.reload()
    page.click("#statements a:has-text('October 2026')")
    page.wait_for_selector("text=Statement for October 2026")
    assert page.locator("text=held for Bob (@bobmakes on X)").count() == 2
    shot(page, "statement")

    page.click("button:has-text('Sign out')")
    sign_up(page, base, "bob")
    page.click("#connect-x")
    authorize(page, "@bobmakes")
    page.wait_for_selector("text=Connected X as @bobmakes")
    page.goto(base + "/creator")
    assert "€2.00" in page.inner_text("#escrow")
    shot(page, "creator-escrow-waiting")
    page.click("#claim-x")
    authorize(page, "@bobmakes")
    page.wait_for_selector("text=claimed twitter:")
    assert "€2.00 released from escrow" in page.inner_text(".flash")
    assert "€1.80" in page.inner_text("#earnings")  # 2.00 gross less the 10% fee
    shot(page, "creator")

    with app.db.unit_of_work() as session:
        session.execute(select(Person).where(Person.name == "bob")).scalar_one().is_admin = True
    page.goto(base + "/admin/")
    page.wait_for_selector("text=Linked accounts")
    linked = page.locator("section", has_text="Linked accounts").inner_text()
    assert "alice\tx" in linked and "bob\tx" in linked  # names, not person ids
    shot(page, "admin")

    page.goto(base + "/callback/x?state=forged&code=forged")
    assert "not valid any more" in page.inner_text("main")
    shot(page, "error-bad-state")

    page.click("button:has-text('Sign out')")
    page.goto(base + "/login")
    shot(page, "login")

    access = [r.getMessage() for r in caplog.records if r.name == "web.access"]
    assert any("/callback/x" in line for line in access)
    assert not any("code=" in line or "state=" in line for line in access)
