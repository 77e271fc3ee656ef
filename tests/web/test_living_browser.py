"""The living sandbox in a browser (`flattr web --with-sandbox`, in-process): nobody runs a
command. A newcomer signs up, sets a budget, links the sandbox X and Facebook accounts of a
scenario person, and sees flattrs arrive, the month close and its statement, as the
sandbox clock runs (an hour a second) and the worker polls, settles and notifies on its
own. A creator who had not joined claims their X identity and gets the escrow waiting."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import func, select

from config import Settings
from core import identity, people
from core.activity import Activity, Target
from core.flattring import record_activities
from core.models import Flattr, ThingTotal
from core.urls import x_post_url
from jobs.living import LivingSandbox, start_living
from tests.web.browser import authorize, browser_page, needs_chromium, shot, sign_up
from tests.web.conftest import SESSION_SECRET, TOKEN_KEY
from web.app import create_app

pytestmark = needs_chromium
__all__ = ["browser_page"]  # a fixture

# Twenty simulated hours before October closes: at an hour a second, 20 s of wall time.
START = datetime(2026, 10, 31, 4, 0, tzinfo=UTC)


@pytest.fixture
def start() -> datetime:
    return START


@pytest.fixture
def living(database_url: str, start: datetime) -> Iterator[tuple[LivingSandbox, str]]:
    settings = Settings(database_url=database_url, token_keys=TOKEN_KEY,
                        session_secret=SESSION_SECRET)
    here = start_living(settings, start=start, speed=3600.0)
    from web.server import make

    web: Flask = create_app(here.app, testing=True, living=here)
    server = make(web, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    here.push_webhooks_to(base)
    try:
        yield here, base
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        here.stop()


def plain(text: str) -> str:
    return text.replace("\u00a0", " ")


def reload_until(page, selector: str, deadline: float) -> None:  # type: ignore[no-untyped-def]
    while page.locator(selector).count() == 0:
        assert time.monotonic() < deadline, f"{selector} never showed"
        time.sleep(1.0)
        page.reload()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_newcomer_sees_the_month_happen(browser_page, living) -> None:  # type: ignore[no-untyped-def]
    page, (_, base) = browser_page, living
    deadline = time.monotonic() + 90
    sign_up(page, base, "newcomer")
    assert plain(page.inner_text("#wallet")) == "€20.00"  # the trial's test money
    page.fill("#budget input[name=amount] >> nth=0", "5.00")
    page.click("button:has-text('Set budget')")
    page.click("#connect-x")
    authorize(page, "@alice")
    page.wait_for_selector("text=Connected X as @alice")
    page.click("#connect-facebook")
    authorize(page, "Alice")
    page.wait_for_selector("text=Connected Facebook as Alice")

    reload_until(page, "tr.flattr", deadline)  # the networks push, the worker polls
    assert page.locator("#sandbox-clock").count() == 1
    shot(page, "living-me")
    reload_until(page, "#statements a:has-text('October 2026')", deadline)  # the month closed
    page.click("#statements a:has-text('October 2026')")
    page.wait_for_selector("text=Statement for October 2026")
    assert page.locator("td:has-text('held for')").count() >= 1  # escrow waits for creators
    shot(page, "living-statement")
    assert time.monotonic() < deadline


def donor_flattred(here: LivingSandbox, author: str, posts: int) -> None:
    """Someone flattred `posts` posts of an X user who never joined (as a poll would
    have recorded their likes)."""
    app = here.app
    now = app.now()
    likes = [Activity(network="x", action="like", external_id=f"{n}", actor="twitter:1",
                      occurred_at=now, targets=(Target(
                          url=x_post_url(f"18{n:017d}"),
                          identity=str(identity.of("x", "user", author))),))
             for n in range(posts)]
    with app.db.unit_of_work() as session:
        donor = people.add_person(session, app.rules, "donor", 500, 2000, now=now)
        record_activities(session, app.rules, donor.id, likes, now=now)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("start", [datetime(2026, 10, 31, 22, 0, tzinfo=UTC)])
def test_a_creator_who_had_not_joined_claims_the_escrow(browser_page, living) -> None:  # type: ignore[no-untyped-def]
    page, (here, base) = browser_page, living
    donor_flattred(here, "800000000", 4)  # creator0 on X: a 5.00 EUR budget in 4 shares
    with here.app.db.unit_of_work() as session:
        assert session.execute(select(func.count()).select_from(Flattr)).scalar() == 4
    deadline = time.monotonic() + 30
    while not _escrow_waiting(here):  # the worker closes October on its own
        assert time.monotonic() < deadline, "October was never closed"
        time.sleep(0.5)

    sign_up(page, base, "maker")
    page.goto(base + "/creator")
    page.click("#claim-x")
    authorize(page, "@creator0 (Creator 0)", screenshot="sandbox-x-authorize-creator")
    page.wait_for_selector(".flash.ok")
    assert "€5.00 released from escrow" in plain(page.inner_text(".flash.ok"))
    assert "€4.52" in plain(page.inner_text("#earnings"))  # less 10% of each share
    shot(page, "living-creator-claimed")


def _escrow_waiting(here: LivingSandbox) -> bool:
    with here.app.db.unit_of_work() as session:
        return bool(session.execute(select(func.count()).select_from(ThingTotal).where(
            ThingTotal.state == "escrow")).scalar())
