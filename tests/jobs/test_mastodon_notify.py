"""Issue 14, notifications on Mastodon: a direct message from the service's account, only to
creators who chose it; "announce my flattrs" from the person's own account, opted in, at
most once a day; nobody who never joined is messaged."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bots.mastodon.scenario import SERVICE, SERVICE_ACCT
from bots.sandbox import generate_scenario
from core import notifications, people, things
from core.accounts import link_account
from core.models import Person
from tests.jobs.conftest import Rig
from tests.jobs.test_notify import enqueue

SERVICE_KEY = f"{SERVICE['host']}:{SERVICE['id']}"
WITH_SERVICE = {"mastodon_service_account": SERVICE_ACCT,
                "mastodon_service_user_id": SERVICE["id"],
                "mastodon_service_token": SERVICE["token"]}


@pytest.fixture
def scenario() -> dict:
    return generate_scenario(2, days=4, seed=7, mastodon=True)


def _creator(rig: Rig, name: str, channels: str, claimed: str) -> int:
    with rig.app.db.unit_of_work() as session:
        row = people.add_person(session, rig.app.rules, name, 200, 0, now=rig.app.now())
        row.notify_channels = channels
        things.claim(session, rig.app.rules, row, claimed, now=rig.app.now())
        return row.id


def _mastodon_sent(rig: Rig) -> list[dict]:
    return [m for m in rig.sandbox.sent_messages() if m.get("network") == "mastodon"]


@pytest.mark.parametrize("rig", [WITH_SERVICE], indirect=True)
def test_a_creator_who_chose_it_gets_a_direct_message_from_the_service(rig: Rig) -> None:
    creator = rig.scenario["creators"][1]["mastodon"]  # on fedi.example, legacy URI
    chose = _creator(rig, "creator1", "mastodon_dm,log", f"mastodon:{creator['host']}:"
                                                          f"{creator['id']}")
    other = _creator(rig, "creator2", "log", "mastodon:social.example:100002")
    enqueue(rig, chose, "a")
    enqueue(rig, other, "b")
    worker = rig.worker()
    try:
        stats = worker.notify()
    finally:
        worker.close()
    assert stats.by_channel == {"mastodon_dm": 1, "log": 1}
    (dm,) = _mastodon_sent(rig)
    assert (dm["sender"], dm["visibility"]) == (SERVICE_KEY, "direct")
    assert dm["text"].startswith("@creator1@fedi.example ")  # its handle, asked of its home


def test_without_a_service_account_no_direct_message_is_sent(rig: Rig) -> None:
    creator = _creator(rig, "creator1", "mastodon_dm", "mastodon:fedi.example:100001")
    enqueue(rig, creator, "a")
    worker = rig.worker()
    try:
        assert worker.notify().suppressed == 1
    finally:
        worker.close()
    assert _mastodon_sent(rig) == []


def test_announcements_post_from_the_persons_own_account_once_a_day(rig: Rig) -> None:
    mine = rig.scenario["people"][0]["mastodon"]
    with rig.app.db.unit_of_work() as session:
        row = people.add_person(session, rig.app.rules, "alice", 1000, 5000, now=rig.app.now())
        row.announce_flattrs = True
        link_account(session, rig.app.keys, person_id=row.id, network="mastodon",
                     external_user_id=f"{mine['host']}:{mine['id']}", token=mine["token"],
                     now=rig.app.now(), handle=mine["username"])
        alice = row.id
    worker = rig.worker()
    try:
        for day in range(2):
            for n in range(3):
                with rig.app.db.unit_of_work() as session:
                    notifications.enqueue(
                        session, "announce_flattr", f"announce:{day}{n}", now=rig.app.now(),
                        person_id=alice, payload={"flattr_id": day * 10 + n,
                                                  "url": f"https://example.org/blog/{day}{n}"})
            worker.notify()  # folded into the day's post
            rig.clock.advance(days=1)
            worker.notify()  # the day is over: its one post
    finally:
        worker.close()
    posts = _mastodon_sent(rig)
    assert [(p["sender"], p["visibility"]) for p in posts] == \
        [(f"{mine['host']}:{mine['id']}", "public")] * 2
    assert all("example.org/blog/" in p["text"] for p in posts)
    with rig.app.db.unit_of_work() as session:
        assert session.execute(select(Person.announce_flattrs).where(
            Person.id == alice)).scalar_one()
