"""The worker tells every network's adapter the account's effective triggers: a Facebook
person with only page likes on never costs a /me/posts request."""

from __future__ import annotations

import json

from sqlalchemy import text

from bots.facebook.adapter import STREAM_TRIGGERS
from tests.jobs.conftest import Rig, link_people


def test_the_worker_reads_only_the_facebook_streams_a_person_keeps_on(rig: Rig) -> None:
    link_people(rig.app, rig.scenario)
    alice, bob = (p["facebook"]["user_id"] for p in rig.scenario["people"][:2])
    with rig.app.db.unit_of_work() as session:
        session.execute(text("UPDATE social_accounts SET triggers = 'page_likes'"
                             " WHERE network = 'facebook' AND external_user_id = :id"),
                        {"id": alice})
    worker = rig.worker()
    try:
        for _ in range(30):
            worker.poll()
            rig.clock.advance(hours=2)
    finally:
        worker.close()
    with rig.app.db.unit_of_work() as session:
        cursors = {row[0]: json.loads(row[1] or "{}") for row in session.execute(text(
            "SELECT external_user_id, cursor FROM social_accounts WHERE network = 'facebook'"))}
        shares = session.execute(text(
            "SELECT count(*) FROM activities a JOIN social_accounts s ON s.person_id ="
            " a.person_id WHERE s.network = 'facebook' AND s.external_user_id = :id"
            " AND a.action = 'share'"), {"id": alice}).scalar()
    assert set(STREAM_TRIGGERS) == {"likes", "posts"}
    assert "likes" in cursors[alice] and "posts" not in cursors[alice]
    assert {"likes", "posts"} <= set(cursors[bob])
    assert shares == 0
