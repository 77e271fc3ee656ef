"""core.accounts: the linked account's states, its reconnect episodes (one notice each,
whoever noticed), the person's disconnect (kept, so "never your own" holds), relinking,
and a webhook's wake-up with its cap. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from core import accounts, flattring
from core.activity import Activity, Target
from core.crypto import KeyRing, generate_key
from core.db import Database
from core.errors import UserError
from core.models import Notification, SocialAccount
from core.rules import Rules
from tests.integration.helpers import add_person, at

KEYS = KeyRing([generate_key()])
NOW = at(3)


def _link(db: Database, person: int, user: str = "77", *, now: datetime = NOW,
          refresh_token: str | None = None) -> int:
    with db.unit_of_work() as session:
        return accounts.link_account(session, KEYS, person_id=person, network="x",
                                     external_user_id=user, token="t0ken-value", now=now,
                                     handle="al", refresh_token=refresh_token).id


def _notices(db: Database) -> list[str]:
    with db.unit_of_work() as session:
        return list(session.execute(select(Notification.dedupe_key)
                                    .where(Notification.kind == "needs_reconnect")
                                    .order_by(Notification.id)).scalars())


def _status(db: Database, account_id: int) -> str:
    with db.unit_of_work() as session:
        account = session.get(SocialAccount, account_id)
        assert account is not None
        return account.status


def test_one_notice_per_reconnect_episode_whoever_noticed(db: Database, rules: Rules) -> None:
    alice = add_person(db, rules, "alice")
    account = _link(db, alice)
    with db.unit_of_work() as session:
        assert accounts.needs_reconnect(session, account, now=NOW, reason="x said 401")
        # the token refresh and Facebook-style deauthorize notice the same episode later
        assert not accounts.needs_reconnect(session, account, now=NOW + timedelta(hours=3),
                                            reason="refused")
        assert accounts.revoke(session, "x", "77", now=NOW + timedelta(days=1),
                               reason="the app was removed") == 1
    assert _status(db, account) == accounts.REVOKED
    assert _notices(db) == [f"needs_reconnect:{account}:2026-10-03T12:00:00"]
    _link(db, alice, now=NOW + timedelta(days=2))  # reconnected: a new episode
    assert _status(db, account) == accounts.ACTIVE
    with db.unit_of_work() as session:
        assert accounts.needs_reconnect(session, account, now=NOW + timedelta(days=3),
                                        reason=None)
    assert len(_notices(db)) == 2


def test_a_refusal_for_an_old_refresh_token_changes_nothing(db: Database, rules: Rules) -> None:
    account = _link(db, add_person(db, rules, "alice"), refresh_token="r1")
    with db.unit_of_work() as session:
        assert not accounts.needs_reconnect(session, account, now=NOW, reason="refused",
                                            refresh_sealed=KEYS.seal("r1"))  # not the stored
    assert _status(db, account) == accounts.ACTIVE and _notices(db) == []


def test_a_disconnected_account_is_kept_and_still_ones_own(db: Database, rules: Rules) -> None:
    alice, bob = add_person(db, rules, "alice"), add_person(db, rules, "bob")
    account = _link(db, alice)
    with db.unit_of_work() as session:
        accounts.disconnect(session, alice, account)
        with pytest.raises(UserError):
            accounts.disconnect(session, alice, account)  # gone from her list
        assert accounts.linked(session, alice) == []
    post = Activity("x", "like", "own-post", "twitter:77", at(4),
                    (Target(url="https://x.com/i/status/5", identity="twitter:77"),))
    with db.unit_of_work() as session:
        (outcome,) = flattring.record_activities(session, rules, alice, [post], now=at(4))
    assert outcome.outcome == "own"  # a post of the account she disconnected
    assert accounts.lease_due(db, "w", now=at(5), limit=5, lease=timedelta(minutes=1)) == []
    _link(db, bob)  # bob proved it is his (the network's sign-in): it moves to him, afresh
    with db.unit_of_work() as session:
        row = session.get(SocialAccount, account)
        assert row is not None and (row.person_id, row.status) == (bob, accounts.ACTIVE)
    with pytest.raises(UserError, match="already linked to someone else"):
        _link(db, alice)


def test_wake_makes_due_now_once_per_interval_and_leaves_leased_ones(
        db: Database, rules: Rules) -> None:
    alice = add_person(db, rules, "alice")
    first, second = _link(db, alice, "1"), _link(db, alice, "2")
    leased = accounts.lease_due(db, "w", now=NOW, limit=1, lease=timedelta(minutes=5))
    assert [a.id for a in leased] == [first] and not leased[0].woken
    cap = timedelta(minutes=10)
    with db.unit_of_work() as session:
        assert accounts.wake(session, "x", ["1", "2", "2", "404"], now=NOW,
                             min_interval=cap) == 1  # the first is being polled
        assert accounts.wake(session, "x", ["2"], now=NOW + timedelta(minutes=1),
                             min_interval=cap) == 0  # capped
        assert accounts.wake(session, "facebook", ["2"], now=NOW) == 0
        assert accounts.wake(session, "x", [], now=NOW) == 0
    (woken,) = accounts.lease_due(db, "w", now=NOW + timedelta(minutes=1), limit=5,
                                  lease=timedelta(minutes=5))
    assert woken.id == second and woken.woken
