"""Issue 15 in headless Chromium: forgot password, change of password and of e-mail,
download my data, delete my account; the mail is read from a real SMTP server on
loopback (aiosmtpd) and its link opened in the browser. No JavaScript is needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.web.browser import browser_page, needs_chromium, shot
from tests.web.conftest import PASSWORD
from tests.web.smtp import Inbox, body, inbox, link, settings, smtp

pytestmark = [*needs_chromium, pytest.mark.parametrize("database_url", ["sqlite"],
                                                       indirect=True)]
__all__ = ["browser_page", "inbox", "settings", "smtp"]  # fixtures
NEW = "a brand new password"


def _join(page, base: str, name: str = "alice") -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/signup")
    page.fill("input[name=name]", name)
    page.fill("input[name=email]", f"{name}@test.example")
    page.fill("input[name=budget]", "4.00")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("button[type=submit]:has-text('Create my account')")
    page.wait_for_url(f"{base}/me")
    page.wait_for_selector("text=Your budget of €4.00 counts from this month")


def _settings(page, base: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/me")
    page.click("#settings")
    page.wait_for_url(f"{base}/me/settings")


def test_forgot_password_in_a_browser(browser_page, live_server: str, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    page, base = browser_page, live_server
    _join(page, base)
    page.click("button:has-text('Sign out')")
    page.goto(f"{base}/login")
    page.click("#forgot")
    page.fill("input[name=email]", "alice@test.example")
    shot(page, "forgot-password")
    page.click("button:has-text('Send me a link')")
    page.wait_for_selector("text=If an account uses that address")
    page.goto(link(inbox.wait("alice@test.example")))
    page.fill("input[name=password]", NEW)
    page.fill("input[name=password2]", NEW)
    shot(page, "reset-password")
    page.click("button:has-text('Set my new password')")
    page.wait_for_url(f"{base}/me")
    page.wait_for_selector("text=Your password is changed")


def test_change_password_in_a_browser(browser_page, live_server: str, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    page, base = browser_page, live_server
    _join(page, base)
    _settings(page, base)
    shot(page, "settings")
    section = page.locator("#password")
    section.locator("input[name=password]").fill(PASSWORD)
    section.locator("input[name=new_password]").fill(NEW)
    section.locator("input[name=new_password2]").fill(NEW)
    section.locator("button").click()
    page.wait_for_selector("text=signed out everywhere else")
    assert "was changed" in body(inbox.wait("alice@test.example"))


def test_change_email_in_a_browser(browser_page, live_server: str, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    page, base = browser_page, live_server
    _join(page, base)
    _settings(page, base)
    section = page.locator("#email")
    section.locator("input[name=email]").fill("alice@new.example")
    section.locator("input[name=password]").fill(PASSWORD)
    section.locator("button").click()
    page.wait_for_selector("text=Until then nothing changes")
    assert page.inner_text("#current-email") == "alice@test.example"
    assert "alice@new.example" in body(inbox.wait("alice@test.example"))
    page.goto(link(inbox.wait("alice@new.example")))
    page.click("button:has-text('Confirm')")
    page.wait_for_url(f"{base}/me/settings")
    assert page.inner_text("#current-email") == "alice@new.example"


def test_download_my_data_in_a_browser(browser_page, live_server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page, base = browser_page, live_server
    _join(page, base)
    _settings(page, base)
    with page.expect_download() as download:
        page.click("#export")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("flattr-alice-") and saved.suffix == ".json"
    data = json.loads(saved.read_text())
    assert data["profile"]["name"] == "alice"
    assert data["budgets"] == [{"from_period": "2026-10", "cents": 400}]


def test_delete_my_account_in_a_browser(browser_page, live_server: str, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    page, base = browser_page, live_server
    _join(page, base)
    _settings(page, base)
    page.click("#delete-account")
    page.wait_for_selector("#money-rules")
    shot(page, "delete-account")
    page.fill("#confirm input[name=password]", PASSWORD)
    page.check("#confirm input[name=confirm]")
    page.click("#confirm-button")
    page.wait_for_url(f"{base}/")
    page.wait_for_selector("text=Your account is deleted")
    assert "Wallet refunded" in body(inbox.wait("alice@test.example"))
    page.goto(f"{base}/me")
    page.wait_for_url(f"{base}/login?next=/me")
