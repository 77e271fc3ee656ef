"""The living sandbox's parts, without a browser: its clock, the consent pages that offer
every identity of the scenario, and the webhooks its networks push."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

from bots.sandbox import start_sandbox
from bots.sandbox.clock import ClockGoesBack, LivingClock
from bots.sandbox.world import load_world
from bots.x.webhook import x_signature
from config import Settings
from jobs.living import add_creator_logins, default_start, living_scenario

START = datetime(2026, 10, 30, 0, 0, tzinfo=UTC)


class Wall:
    """A wall clock the test moves."""

    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


def test_the_clock_runs_pauses_speeds_up_and_never_goes_back() -> None:
    wall = Wall()
    clock = LivingClock(START, speed=3600.0, wall=wall)
    wall.seconds += 2
    assert clock() == START + timedelta(hours=2)
    clock.pause()
    wall.seconds += 10
    assert clock() == START + timedelta(hours=2) and clock.state().paused
    clock.resume()
    clock.set_speed(86400.0)
    wall.seconds += 1
    assert clock() == START + timedelta(days=1, hours=2)
    assert clock.jump_to(datetime(2026, 11, 30, 23, 59, tzinfo=UTC)) == clock()
    with pytest.raises(ClockGoesBack):
        clock.jump_to(START)
    with pytest.raises(ValueError):
        clock.set_speed(0)


def test_the_sandbox_and_the_app_share_it() -> None:
    wall = Wall()
    clock = LivingClock(START, wall=wall)
    world = load_world({"start": START.isoformat()}, clock)
    world.set_now(START + timedelta(days=1))  # POST /_sandbox/clock moves the shared clock
    assert clock() == world.current_time() == START + timedelta(days=1)
    world.advance(timedelta(hours=1))
    assert clock() == START + timedelta(days=1, hours=1) and world.clock is clock


def test_the_clock_starts_two_days_before_the_month_ends() -> None:
    assert default_start(datetime(2026, 2, 10, 13, 30, tzinfo=UTC)) == datetime(
        2026, 2, 27, tzinfo=UTC)


def test_consent_pages_offer_creators_who_have_not_joined() -> None:
    scenario = living_scenario(START, days=3)
    with start_sandbox(scenario) as server:
        x_page = requests.get(f"{server.base_url}/i/oauth2/authorize", timeout=10, params={
            "response_type": "code", "client_id": "c", "redirect_uri": "http://app/cb",
            "state": "s", "code_challenge": "x"}).text
        fb_page = requests.get(f"{server.base_url}/v22.0/dialog/oauth", timeout=10, params={
            "client_id": "c", "redirect_uri": "http://app/cb"}).text
        css = requests.get(f"{server.base_url}/_sandbox/consent.css", timeout=10)
    assert "@alice</option>" in x_page and "@creator0 (Creator 0)" in x_page
    assert "@flattrbot" not in x_page  # the service's own account is nobody to be
    assert ">Creator 0</option>" in fb_page and ">Alice</option>" in fb_page
    assert 'href="/_sandbox/consent.css"' in x_page and "optgroup" in fb_page
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")


def test_a_creator_login_manages_their_page() -> None:
    scenario = add_creator_logins({"creators": [{"name": "Creator 0",
                                                 "facebook_page_id": "600000000"}],
                                   "facebook_pages": [{"id": "600000000", "name": "C0"}]})
    assert scenario["facebook_pages"][0]["managers"] == ["610000000"]
    assert scenario["facebook_users"] == [{"id": "610000000", "name": "Creator 0"}]


def test_networks_push_what_subscribed_people_did() -> None:
    scenario = living_scenario(START, days=3)
    world = load_world(scenario)
    settings = Settings()
    world.issue_token("x", "100000000")  # alice authorized the app on X, nobody on Facebook
    from bots.facebook.sandbox import pushes as facebook_pushes
    from bots.x.sandbox import pushes as x_pushes

    pushed = x_pushes(world, settings, START, START + timedelta(days=2))
    assert pushed and facebook_pushes(world, settings, START, START + timedelta(days=2)) == []
    body, headers = pushed[0]
    assert json.loads(body)["for_user_id"] == "100000000"
    assert headers["x-twitter-webhooks-signature"] == x_signature(settings.x_client_secret, body)
