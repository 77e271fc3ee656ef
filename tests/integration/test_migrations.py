"""Migration 0002 turns 0001's per-flattr shares into narrow shares plus thing totals."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from core.db import Database, alembic_config
from tests.conftest import BACKENDS, scratch_postgres

OLD_SHARE = (
    "INSERT INTO shares (flattr_id, period, person_id, thing_id, creator_id, identity,"
    " share_cents, fee_cents, state, escrow_until, resolution_txn_id)"
    " VALUES (:f, '2026-10', :who, :thing, :creator, :identity, :cents, :fee, :state, NULL,"
    " NULL)")


@pytest.fixture(params=BACKENDS)
def at_0001(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database migrated to 0001 only, with two people and two things."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'old.db'}"
        else:
            url = stack.enter_context(scratch_postgres("flattr_migration"))
        database = Database(url)
        stack.callback(database.dispose)
        with database.engine.connect() as connection:
            command.upgrade(alembic_config(connection), "0001")
        with database.engine.begin() as connection:
            for who in (1, 2):
                connection.execute(text(
                    "INSERT INTO people (id, name, created_at)"
                    " VALUES (:id, :name, '2026-09-01')"), {"id": who, "name": f"p{who}"})
            for thing, owner in ((1, 1), (2, None)):
                connection.execute(text(
                    "INSERT INTO things (id, url, owner_id, identity, created_at)"
                    " VALUES (:id, :url, :owner, :identity, '2026-09-01')"),
                    {"id": thing, "url": f"https://example.org/{thing}", "owner": owner,
                     "identity": f"twitter:{thing}"})
        yield database


def _old_shares(database: Database, *rows: tuple) -> None:
    """(flattr id, donor, thing, creator, identity, cents, fee, state) in 0001's shares."""
    with database.engine.begin() as connection:
        for f, who, thing, creator, identity, cents, fee, state in rows:
            connection.execute(text(OLD_SHARE), {
                "f": f, "who": who, "thing": thing, "creator": creator, "identity": identity,
                "cents": cents, "fee": fee, "state": state})


def _totals(database: Database) -> list[tuple]:
    with database.engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text(
            "SELECT thing_id, creator_id, flattrs, gross_cents, fee_cents, fee_bps,"
            " refund_cents, own_flattrs, state FROM thing_totals ORDER BY thing_id"))]


def test_paid_and_escrowed_shares_become_narrow_shares_and_thing_totals(
        at_0001: Database) -> None:
    _old_shares(at_0001, (1, 2, 1, 1, None, 167, 16, "paid"), (2, 2, 1, 1, None, 250, 25, "paid"),
                (3, 1, 2, None, "twitter:2", 199, 0, "escrow"),
                (4, 2, 2, None, "twitter:2", 101, 0, "escrow"))
    at_0001.upgrade(fee_bps=500)
    assert _totals(at_0001) == [(1, 1, 2, 417, 41, 500, 0, 0, "paid"),
                                (2, None, 2, 300, 9 + 5, 500, 0, 0, "escrow")]
    with at_0001.engine.connect() as connection:
        shares = connection.execute(text(
            "SELECT flattr_id, share_cents FROM shares ORDER BY flattr_id")).all()
    assert [tuple(s) for s in shares] == [(1, 167), (2, 250), (3, 199), (4, 101)]


def test_a_claimers_own_share_returned_beside_the_released_rest_becomes_the_refund(
        at_0001: Database) -> None:
    # p1 claimed twitter:2 which p1 and p2 had flattred; p1's own share waited out the
    # window and came back, p2's was released to p1.
    _old_shares(at_0001, (1, 1, 2, None, "twitter:2", 120, 0, "returned"),
                (2, 2, 2, 1, "twitter:2", 300, 30, "released"))
    at_0001.upgrade()
    assert _totals(at_0001) == [(2, 1, 2, 420, 30, 1000, 120, 1, "released")]


def test_an_own_share_still_in_escrow_beside_released_shares_stops_the_upgrade(
        at_0001: Database) -> None:
    _old_shares(at_0001, (1, 1, 2, None, "twitter:2", 120, 0, "escrow"),
                (2, 2, 2, 1, "twitter:2", 300, 30, "released"))
    with pytest.raises(RuntimeError, match="run `flattr expire`"):
        at_0001.upgrade()
    with at_0001.engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM shares")).scalar_one() == 2


@pytest.fixture(params=BACKENDS)
def before_a2(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database migrated to the revision before fold_key and the account lifecycle."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'old.db'}"
        else:
            url = stack.enter_context(scratch_postgres("flattr_migration"))
        database = Database(url)
        stack.callback(database.dispose)
        with database.engine.connect() as connection:
            command.upgrade(alembic_config(connection), "0006_shared_streams_api_usage")
        yield database


def test_a_folded_announcements_day_key_moves_out_of_last_error(before_a2: Database) -> None:
    with before_a2.engine.begin() as connection:
        for i, (status, error) in enumerate([("folded", "announce_day:1:2026-10-03"),
                                             ("failed", "smtp said no"), ("pending", None)]):
            connection.execute(text(
                "INSERT INTO notifications (dedupe_key, kind, payload, status, attempts,"
                " next_attempt_at, created_at, last_error) VALUES (:key, 'announce_flattr',"
                " '{}', :status, 1, '2026-10-03', '2026-10-03', :error)"),
                {"key": f"announce:{i}", "status": status, "error": error})
        connection.execute(text(
            "INSERT INTO people (id, name, created_at) VALUES (1, 'p1', '2026-09-01')"))
        connection.execute(text(
            "INSERT INTO social_accounts (person_id, network, external_user_id, identity,"
            " status, created_at) VALUES (1, 'x', '12', 'twitter:12', 'active', '2026-09-02')"))
    before_a2.upgrade()
    with before_a2.engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT status, fold_key, last_error FROM notifications ORDER BY id")).all()
        linked = connection.execute(text(
            "SELECT linked_at = created_at FROM social_accounts")).scalar_one()
    assert [tuple(r) for r in rows] == [("folded", "announce_day:1:2026-10-03", None),
                                        ("failed", None, "smtp said no"),
                                        ("pending", None, None)]
    assert linked  # an account linked before 0008 began its episode when it was created
