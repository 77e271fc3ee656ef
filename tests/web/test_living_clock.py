"""The living sandbox's clock control and a trial's first steps, through the test client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient

from config import Settings
from jobs.living import LivingSandbox, start_living
from tests.web.conftest import SESSION_SECRET, TOKEN_KEY
from tests.web.helpers import connect, sign_up
from web.app import create_app

START = datetime(2026, 10, 20, 0, 0, tzinfo=UTC)


@pytest.fixture
def living(database_url: str) -> Iterator[LivingSandbox]:
    settings = Settings(database_url=database_url, token_keys=TOKEN_KEY,
                        session_secret=SESSION_SECRET)
    here = start_living(settings, start=START, worker=False)
    yield here
    here.stop()


@pytest.fixture
def trial(living: LivingSandbox) -> FlaskClient:
    return create_app(living.app, testing=True, living=living).test_client()


def test_the_clock_box_pauses_speeds_up_and_jumps(trial: FlaskClient,
                                                  living: LivingSandbox) -> None:
    csrf = sign_up(trial, "newcomer")
    page = trial.get("/me").get_data(as_text=True)
    assert 'id="sandbox-clock"' in page and "€20.00" in page  # test money
    assert living.settings.x_triggers == frozenset({"likes", "reposts", "explicit"})

    def press(**form: str) -> str:
        response = trial.post("/sandbox/clock", data={"csrf_token": csrf, **form})
        assert response.status_code == 303, response.get_data(as_text=True)
        return trial.get(response.headers["Location"]).get_data(as_text=True)

    assert "is paused" in press(action="pause", back="me") and living.clock.state().paused
    assert "runs again" in press(action="resume") and not living.clock.state().paused
    assert "1 day a second" in press(action="speed", speed="86400")
    assert living.clock.state().speed == 86400.0
    assert "jumped to Oct\u00a031,\u00a02026 23:59\u00a0UTC" in press(action="month_end")
    assert living.app.now() >= datetime(2026, 10, 31, 23, 59, tzinfo=UTC)
    assert trial.post("/sandbox/clock", data={"csrf_token": csrf, "action": "speed",
                                              "speed": "7"}).status_code == 400
    assert trial.post("/sandbox/clock", data={"action": "pause"}).status_code == 400  # CSRF


def test_a_waiting_clock_starts_when_the_first_account_is_linked(database_url: str) -> None:
    settings = Settings(database_url=database_url, token_keys=TOKEN_KEY,
                        session_secret=SESSION_SECRET)
    here = start_living(settings, start=START, worker=False, wait_for_link=True)
    try:
        trial = create_app(here.app, testing=True, living=here).test_client()
        csrf = sign_up(trial, "newcomer")
        assert "it starts when you link your first account" in trial.get("/me").get_data(
            as_text=True)
        assert here.clock() == START and here.waiting
        connect(trial, csrf, "x", "100000000")  # alice, on the sandbox's X
        assert not here.waiting and not here.clock.state().paused
    finally:
        here.stop()


def test_no_clock_without_a_living_sandbox(client: FlaskClient) -> None:
    csrf = sign_up(client, "someone")
    assert 'id="sandbox-clock"' not in client.get("/me").get_data(as_text=True)
    assert client.post("/sandbox/clock", data={"csrf_token": csrf,
                                               "action": "pause"}).status_code == 404


def test_page_titles_name_the_page_once(client: FlaskClient) -> None:
    assert "<title>Flattr</title>" in client.get("/").get_data(as_text=True)
    sign_up(client, "someone")
    assert "<title>My flattrs · Flattr</title>" in client.get("/me").get_data(as_text=True)
