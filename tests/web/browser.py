"""What the browser tests share: headless Debian Chromium through Playwright (no browser
download), the screenshots, and the steps every flow takes (sign up, authorize).

Screenshots go to a temporary folder, so a test run leaves the tree as it was;
`scripts/screenshots` sets FLATTR_SCREENSHOTS=docs/screenshots to refresh the documented
ones."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS_ENV = "FLATTR_SCREENSHOTS"

needs_chromium = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} is not installed (apt-get install chromium)"),
]


def shots_dir() -> Path:
    chosen = os.environ.get(SHOTS_ENV)
    folder = Path(chosen) if chosen else Path(tempfile.gettempdir()) / "flattr-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser_page() -> Iterator:  # type: ignore[type-arg]
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 960, "height": 640})
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()
        browser.close()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(shots_dir() / f"{name}.png"), full_page=True)


def sign_up(page, base: str, name: str, *, screenshot: bool = False) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/signup")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    if screenshot:
        shot(page, "signup")
    page.click("button[type=submit]:has-text('Create my account')")
    page.wait_for_url(f"{base}/me")


def authorize(page, label: str, screenshot: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """On the sandbox's authorize page: pick the account, press Authorize."""
    page.wait_for_selector("select[name=user_id]")
    page.select_option("select[name=user_id]", label=label)
    if screenshot:
        shot(page, screenshot)
    page.click("button[value=approve]")
