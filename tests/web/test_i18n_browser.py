"""French and English in a real browser (Debian's Chromium through Playwright): a visitor
switches to French with a plain link (no JavaScript), signs up, sets a budget and reads
French amounts and months; a browser that asks for French gets French at once; a signed-in
person switches back to English from the header."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.web.browser import ARGS, CHROMIUM, browser_page, needs_chromium, shot
from tests.web.conftest import PASSWORD

pytestmark = needs_chromium
__all__ = ["browser_page"]  # a fixture


@pytest.fixture
def french_page() -> Iterator:  # type: ignore[type-arg]
    """A browser whose Accept-Language asks for French, with JavaScript off."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 960, "height": 640}, locale="fr-FR",
                                      java_script_enabled=False)
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()
        browser.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_visitor_switches_to_french_and_signs_up(browser_page, live_server: str) -> None:  # type: ignore[no-untyped-def]
    page, base = browser_page, live_server
    page.goto(base + "/signup")
    assert page.get_attribute("html", "lang") == "en"
    page.click("#language-switch a:has-text('Français')")
    page.wait_for_selector("h1:has-text('S’inscrire'), h1:has-text(\"S'inscrire\")")
    assert page.get_attribute("html", "lang") == "fr"
    page.fill("input[name=name]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("button:has-text('Créer mon compte')")
    page.wait_for_url(f"{base}/me")
    assert "Budget et porte-monnaie" in page.inner_text("#budget")
    page.fill("#budget input[name=amount] >> nth=0", "5,00")
    page.click("button:has-text('Fixer le budget')")
    page.wait_for_selector(
        "text=À partir de novembre 2026, votre budget mensuel est de 5,00\u00a0€.")
    assert page.inner_text("#budget-next") == "5,00\u00a0€"
    shot(page, "me-fr")
    page.click("#language-switch button:has-text('English')")  # the person's setting now
    page.wait_for_selector("text=The pages and your messages are now in English.")
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("#budget-next") == "€5.00"
    page.goto(base + "/creator")
    assert page.get_attribute("html", "lang") == "en"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_french_browser_gets_french_pages_without_javascript(  # type: ignore[no-untyped-def]
        french_page, live_server: str) -> None:
    page, base = french_page, live_server
    page.goto(base + "/")
    assert page.get_attribute("html", "lang") == "fr"
    assert "Soutenez les créateurs avec un budget mensuel fixe" in page.inner_text("h1")
    page.goto(base + "/login")
    assert page.title() == "Se connecter · Flattr"
    page.fill("input[name=name]", "nobody")
    page.fill("input[name=password]", "wrong password")
    page.click("button:has-text('Se connecter')")
    page.wait_for_selector("text=Nom inconnu ou mot de passe incorrect.")
    page.goto(base + "/no-such-page")
    assert "Introuvable" in page.inner_text("h1")
    page.click("#language-switch a:has-text('English')")
    page.wait_for_selector("h1:has-text('Support creators with a fixed monthly budget')")
