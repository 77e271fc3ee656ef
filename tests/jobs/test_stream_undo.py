"""The stream job's undo path (jobs/stream.py -> core.retractions), fed by a scripted
stream source (a fake: the batches a Jetstream reader would yield): a deleted like whose
post the person also reposted keeps its flattr; a delete seen before its like (a replay
around a reconnect) leaves nothing to flattr; a like made again after an undo brings the
flattr back; after a backfill, a record no longer listed is undone like a delete."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from sqlalchemy import select

from bots.base import StreamAccount, StreamBatch
from bots.bluesky import parse
from bots.bluesky.parse import Intent
from core import people
from core.account_deletion import delete_account
from core.accounts import link_account
from core.activity import Activity, Target
from core.crypto import generate_key
from core.models import ActivityRecord, Flattr, Person, SocialAccount, Thing
from jobs.stream import Streams
from runtime.app import App
from runtime.keys import key_ring

DID = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"
AUTHOR = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb"
PAGE = "https://creator.example/essay"


class ScriptedSource:
    """A StreamSource whose batches are given (each counted as one event), then idle."""

    shard_size = 10_000
    replay = timedelta(hours=24)

    def __init__(self, *batches: StreamBatch | Callable[[], None]) -> None:
        self.script = list(batches)

    def batches(self, accounts: dict[str, StreamAccount], position: int | None,
                stop: threading.Event) -> Iterator[StreamBatch]:
        while self.script:
            step = self.script.pop(0)
            if isinstance(step, StreamBatch):
                yield step
            else:  # something happening meanwhile, after the shard was read
                step()
        yield StreamBatch(None)  # caught up

    def backfill(self, accounts: dict[str, StreamAccount], since: datetime,
                 listed_since: datetime, now: datetime) -> StreamBatch:
        return StreamBatch(None)

    def position_at(self, moment: datetime) -> int:
        return int(moment.timestamp() * 1_000_000)

    def moment_of(self, position: int) -> datetime:
        return parse.time_of_us(position)

    def close(self) -> None:
        pass


def _intent(action: str, rkey: str, post: str, at: datetime) -> Intent:
    collection = parse.LIKE if action == "like" else parse.REPOST
    return Intent(action, DID, parse.record_uri(DID, collection, rkey),
                  f"at://{AUTHOR}/app.bsky.feed.post/{post}", at)


def _made(intent: Intent, url: str = PAGE) -> Activity:
    return parse.activity(intent, (Target(url=url, identity=f"url:{url}"),))


def _gone(intent: Intent) -> Activity:
    return parse.Withdrawal(intent.action, DID, intent.record_uri, intent.occurred_at).activity


def _run(app: App, *batches: StreamBatch | Callable[[], None]) -> None:
    streams = Streams(app, None, "test")
    spec = next(s for s in streams.specs if s.name == "bluesky")
    streams._sources[spec.name] = ScriptedSource(*batches)  # type: ignore[assignment]
    streams.drain()


def _standing(app: App) -> set[str]:
    with app.db.unit_of_work() as session:
        return set(session.execute(select(Thing.url).join(Flattr, Flattr.thing_id == Thing.id)
                                   .where(Flattr.withdrawn_at.is_(None))).scalars())


def _linked(app: App) -> None:
    keys = key_ring(app.settings.model_copy(update={"token_keys": generate_key()}))
    with app.db.unit_of_work() as session:  # (keys of its own: no key file is written)
        row = people.add_person(session, app.rules, "ann", 500, 5000, now=app.now())
        link_account(session, keys, person_id=row.id, network="bluesky",
                     external_user_id=DID, token="", now=app.now())


def test_the_stream_withdraws_a_flattr_only_when_nothing_else_supports_it(app: App) -> None:
    _linked(app)
    at = app.now() + timedelta(minutes=1)
    like, repost = _intent("like", "3l1", "p1", at), _intent("repost", "3l2", "p1", at)
    early = _intent("like", "3l3", "p2", at)
    other = "https://creator.example/other"
    _run(app,
         StreamBatch(1, [_made(like), _made(repost)], [], 2),
         StreamBatch(2, [], [_gone(like), _gone(early)], 2),  # early: its delete came first
         StreamBatch(3, [_made(early, other)], [], 1))  # ... then its replayed like
    assert _standing(app) == {PAGE}
    _run(app, StreamBatch(4, [], [_gone(repost)], 1))
    assert _standing(app) == set()
    again = _intent("like", "3l4", "p1", at + timedelta(hours=1))
    _run(app, StreamBatch(5, [_made(again)], [], 1))
    assert _standing(app) == {PAGE}  # liked again in the same open month


def test_after_a_backfill_a_record_no_longer_listed_is_undone(app: App) -> None:
    _linked(app)
    at = app.now() + timedelta(minutes=1)
    like, repost = _intent("like", "3l1", "p1", at), _intent("repost", "3l2", "p1", at)
    _run(app, StreamBatch(1, [_made(like), _made(repost)], [], 2))
    listed = app.now() - timedelta(days=1)
    done = frozenset({parse.actor_identity(DID)})
    _run(app, StreamBatch(2, [], [], 1, frozenset({_made(repost).key}), listed, done))
    assert _standing(app) == {PAGE}  # the repost still holds it
    _run(app, StreamBatch(3, [], [], 1, frozenset(), listed, done))
    assert _standing(app) == set()


def test_a_backfill_whose_listing_failed_undoes_nothing(app: App) -> None:
    _linked(app)
    at = app.now() + timedelta(minutes=1)
    like = _intent("like", "3l1", "p1", at)
    _run(app, StreamBatch(1, [_made(like)], [], 1))
    listed = app.now() - timedelta(days=1)
    _run(app, StreamBatch(2, [], [], 1, frozenset(), listed))  # listRecords failed for DID
    assert _standing(app) == {PAGE}
    other = parse.actor_identity("did:plc:cccccccccccccccccccccccc")  # listed: not the liker
    _run(app, StreamBatch(3, [], [], 1, frozenset(), listed, frozenset({other})))
    assert _standing(app) == {PAGE}


def _deleted(app: App) -> Callable[[], None]:
    def delete() -> None:
        with app.db.unit_of_work() as session:
            delete_account(session, session.scalars(select(Person)).one(), now=app.now())
    return delete


def _disconnected(app: App) -> Callable[[], None]:
    def disconnect() -> None:
        with app.db.unit_of_work() as session:
            session.scalars(select(SocialAccount)).one().status = "disconnected"
    return disconnect


def test_the_stream_records_nothing_for_a_person_deleted_since_its_shard_was_read(
        app: App) -> None:
    _linked(app)
    at = app.now() + timedelta(minutes=1)
    like, repost = _intent("like", "3l1", "p1", at), _intent("repost", "3l2", "p1", at)
    _run(app, StreamBatch(1, [_made(like)], [], 1), StreamBatch(2, [], [_gone(like)], 1),
         _deleted(app), StreamBatch(3, [_made(repost)], [], 1))
    assert _standing(app) == set()  # the repost did not bring the undone flattr back
    with app.db.unit_of_work() as session:
        assert session.scalars(select(ActivityRecord)).all() == []
        assert set(session.scalars(select(Flattr.withdrawn_by))) == {"deleted"}


def test_the_stream_records_nothing_for_an_account_disconnected_meanwhile(app: App) -> None:
    _linked(app)
    at = app.now() + timedelta(minutes=1)
    _run(app, _disconnected(app), StreamBatch(1, [_made(_intent("like", "3l1", "p1", at))], [], 1))
    assert _standing(app) == set()
