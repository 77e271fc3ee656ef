"""A person who switches reposts off moves from their timeline to the search without a
gap: their search membership starts where their timeline stopped reading."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from bots.sandbox import REALISTIC, generate_scenario
from tests.bots.conftest import expected_x
from tests.jobs.conftest import Rig, link_people

BOTH = {"x_triggers": frozenset({"reposts", "explicit"})}


@pytest.fixture
def scenario() -> dict:
    return generate_scenario(2, days=10, seed=12, rates=replace(REALISTIC, explicit=3.0))


@pytest.mark.parametrize("rig", [BOTH], indirect=True)
def test_switching_reposts_off_loses_no_request(rig: Rig) -> None:
    link_people(rig.app, rig.scenario)
    connected = rig.app.now()
    worker = rig.worker()
    alice = rig.scenario["people"][0]
    switched = None
    try:
        for hour in range(10 * 24 + 8):
            if switched is None and hour > 3 * 24 and _unread(rig, alice) >= 2:
                # alice switches reposts off while two of her requests wait in her timeline
                with rig.app.db.unit_of_work() as session:
                    session.execute(text("UPDATE social_accounts SET triggers = 'explicit'"
                                         " WHERE external_user_id = :id"),
                                    {"id": alice["x"]["user_id"]})
                switched = hour
            worker.poll()
            rig.clock.advance(hours=1)
    finally:
        worker.close()
    until = datetime.fromisoformat(rig.scenario["start"]) + timedelta(days=10)
    with rig.app.db.unit_of_work() as session:
        found = {row[0] for row in session.execute(text(
            "SELECT key FROM activities WHERE action = 'explicit' AND key LIKE :who"),
            {"who": f"%twitter:{alice['x']['user_id']}%"})}
        members = session.execute(text("SELECT members FROM shared_streams"
                                        " WHERE name = 'search:1'")).scalar()
    wanted = {i for a, i in expected_x(rig.scenario, alice, frozenset({"explicit"}),
                                       connected, until) if a == "explicit"}
    assert switched is not None
    assert len(wanted) > 20 and alice["x"]["user_id"] in members
    assert {k for k in found if any(i in k for i in wanted)} == found
    assert len(found) == len(wanted)


def _unread(rig: Rig, person: dict) -> int:
    """How many of the person's requests their timeline has not read yet."""
    with rig.app.db.unit_of_work() as session:
        cursor = session.execute(text("SELECT cursor FROM social_accounts WHERE network = 'x'"
                                      " AND external_user_id = :id"),
                                 {"id": person["x"]["user_id"]}).scalar()
    last = json.loads(cursor or "{}").get("timeline", {}).get("last")
    if not last:
        return 0
    return sum(1 for post in rig.scenario["x_posts"]
               if post["author_id"] == person["x"]["user_id"] and "flattr" in post["text"]
               and datetime.fromisoformat(last) < datetime.fromisoformat(post["at"])
               <= rig.app.now())
