"""What the accessibility tests check on a page, at a phone's width (390 px) and a desktop's
(1280 px): no sideways scrolling, controls inside their cards, amounts on one line, one h1,
a label on every input, a lang attribute, a title that does not say the same thing twice,
and axe-core (bundled by axe-playwright-python) with no serious or critical violation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.web.browser import ARGS, CHROMIUM

WIDTHS = (390, 1280)
BAD_IMPACTS = {"serious", "critical"}

# Returns what does not fit: the page wider than the window, a control or a table that
# sticks out of its card, an amount broken over two lines.
LAYOUT_JS = """() => {
  const out = [];
  const width = document.documentElement.scrollWidth;
  if (width > window.innerWidth) out.push(`page is ${width} px wide`);
  for (const card of document.querySelectorAll('section, .consent, form')) {
    const box = card.getBoundingClientRect();
    for (const el of card.querySelectorAll('button, input, select, textarea, table, a, code')) {
      const r = el.getBoundingClientRect();
      const what = `${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 40)}"`;
      if (r.width && (r.right > box.right + 1 || r.left < box.left - 1))
        out.push(`${what} sticks out of its ${card.tagName.toLowerCase()}`);
    }
  }
  for (const el of document.querySelectorAll('.amount'))
    if (el.getClientRects().length > 1) out.push(`amount "${el.textContent}" wraps`);
  return out;
}"""
# Form controls a person fills in without a label of their own (a placeholder is not one).
UNLABELLED_JS = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden' && !el.labels.length
          && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
  .map(el => `${el.tagName.toLowerCase()} ${el.name} has no label`)"""


@contextmanager
def chromium() -> Iterator:  # type: ignore[type-arg]
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def problems(page, label: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Everything wrong with the page now shown, at each width (the viewport is left at
    the last one)."""
    from axe_playwright_python.sync_playwright import Axe

    found: list[str] = []
    title = page.title()
    parts = [part.strip() for part in title.split("·")]
    if len(parts) != len(set(parts)):
        found.append(f"title says it twice: {title!r}")
    if not page.evaluate("document.documentElement.lang"):
        found.append("no lang attribute")
    if (h1s := page.locator("h1").count()) != 1:
        found.append(f"{h1s} h1 elements")
    found += page.evaluate(UNLABELLED_JS)
    axe = Axe()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        found += [f"{width} px: {p}" for p in page.evaluate(LAYOUT_JS)]
        results = axe.run(page)
        for v in results.response["violations"]:
            if v["impact"] in BAD_IMPACTS:
                where = ", ".join(" ".join(n["target"]) for n in v["nodes"][:3])
                found.append(f"{width} px: axe {v['id']} ({v['impact']}) at {where}")
    return [f"{label} ({page.url}): {p}" for p in found]
