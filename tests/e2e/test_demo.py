"""The demo month end to end: real worker jobs, real adapters, the sandbox over HTTP, on
SQLite and PostgreSQL; both databases and two runs agree to the cent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from core.db import Database
from jobs.demo import ANNOUNCERS, DemoResult, run_demo


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("demo") / "ref.db", progress=None)


def test_the_demo_month_on_each_database(database_url: str, reference: DemoResult) -> None:
    result = run_demo(database_url=database_url, progress=None)
    report = result.report
    assert result.problems == [] and report["settled"]
    assert report == reference.report  # the same numbers on SQLite and PostgreSQL
    assert result.delivered == reference.delivered and result.waiting == 0

    people = {p["name"]: p for p in report["people"]}
    assert people["dave"]["flattrs"] == 0  # wallet below the minimum budget
    for name in ("alice", "bob", "carol", "erin"):
        assert people[name]["flattrs"] > 10
        assert people[name]["charged_cents"] == people[name]["budget_cents"]
    charged = sum(p["charged_cents"] for p in report["people"])
    gross = sum(c["gross_cents"] for c in report["creators"])
    escrow = sum(e["cents"] for e in report["escrow"])
    assert charged == gross + escrow + report["charity_cents"]
    assert {c["name"] for c in report["creators"]} == {"creator0", "creator1", "creator2"}
    assert any(e["identity"].startswith("twitter:") for e in report["escrow"])

    db = Database(database_url)
    with db.engine.connect() as connection:
        flattrs = connection.execute(text(
            "SELECT COUNT(*) FROM flattrs WHERE period = '2025-03' AND withdrawn_at IS NULL"
        )).scalar()  # a like deleted on Bluesky withdrew its flattr
        sent = dict(connection.execute(text(
            "SELECT kind, COUNT(*) FROM notifications WHERE status = 'sent' GROUP BY kind")).all())
        dupes = connection.execute(text(
            "SELECT COUNT(*) FROM (SELECT person_id, thing_id, period FROM flattrs"
            " GROUP BY person_id, thing_id, period HAVING COUNT(*) > 1) d")).scalar()
    db.dispose()
    assert flattrs == sum(p["flattrs"] for p in report["people"]) and dupes == 0
    assert sent["month_closed"] == 4 and sent["statement"] == 3 and sent["wallet_low"] == 1
    channels = {m["channel"] for m in result.sandbox_messages}
    assert channels == {"x_dm", "x_mention", "facebook_page_post", "mastodon_dm"}
    assert any(e["identity"].startswith("mastodon:") for e in report["escrow"])
    assert {m["sender"] for m in result.sandbox_messages if m["channel"] == "mastodon_dm"} \
        == {"social.example:1"}  # the service's account, to the creator who chose it
    announcements = [m for m in result.sandbox_messages if m["channel"] == "x_mention"]
    # Restraint: one post a day at most, each the day's flattrs together, within X's limit.
    assert len(announcements) == sent["announce_day"] > 0 and len(ANNOUNCERS) == 1
    assert "announce_flattr" not in sent  # folded into the day's posts, never posted alone
    assert len(announcements) <= 31 < people["erin"]["flattrs"]
    assert all(len(m["text"]) <= 280 for m in announcements)


def test_flattr_demo_command(tmp_path: Path, reference: DemoResult) -> None:
    flattr = Path(sys.executable).parent / "flattr"
    done = subprocess.run([str(flattr), "demo", "--json"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["check"] == "ok" and data["notifications"] == reference.delivered
    assert {k: v for k, v in data.items()
            if k not in ("notifications", "check", "not_flattred")} == reference.report
    reasons = data["not_flattred"]  # why the others are not flattrs, by count
    assert reasons == reference.not_flattred() and reasons["no_means"] > 0  # dave's
    assert sum(reasons.values()) + reference.poll.flattrs == reference.poll.activities
    assert "[demo]" in done.stderr and "100%" in done.stderr  # the progress display
    readable = subprocess.run([str(flattr), "demo"], cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)
    assert readable.returncode == 0
    for words in ("creator0", "escrow", "notifications:", "self-check: ok",
                  "no money (wallet below the minimum", "creators who joined: creator0",
                  "next: flattr web --with-sandbox"):
        assert words in readable.stdout
    people = readable.stdout.split("person ", 1)[1].split("creator ", 1)[0]
    assert "creator0" not in people and "dave" in people  # creators apart from people
    waiting = readable.stdout.split("waiting for the creator to join:", 1)[1].split("charity")[0]
    assert " on X" in waiting and " on Mastodon" in waiting  # named as the networks show them
    assert "twitter:" not in waiting and "mastodon:" not in waiting  # not raw identities
    assert list(tmp_path.iterdir()) == []  # nothing left behind without --db
