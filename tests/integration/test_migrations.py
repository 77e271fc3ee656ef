"""Migration 0002 turns 0001's per-flattr shares into narrow shares plus thing totals;
0010_stable_split_order gives things and flattrs their rank keys and keeps each settled
period's split order."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text

from core import shares
from core.db import Database, alembic_config
from core.split import rank_key
from tests.conftest import BACKENDS, scratch_postgres
from tests.oracles import even_split

OLD_SHARE = (
    "INSERT INTO shares (flattr_id, period, person_id, thing_id, creator_id, identity,"
    " share_cents, fee_cents, state, escrow_until, resolution_txn_id)"
    " VALUES (:f, '2026-10', :who, :thing, :creator, :identity, :cents, :fee, :state, NULL,"
    " NULL)")


@pytest.fixture(params=BACKENDS)
def at_0001(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database migrated to 0001 only, with two people and two things."""
    yield from _database_at(request, tmp_path, "0001")


@pytest.fixture(params=BACKENDS)
def before_0010(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database migrated to 0003 only, with two people and two things."""
    yield from _database_at(request, tmp_path, "0009_account_lifecycle")


def _database_at(request: pytest.FixtureRequest, tmp_path: Path,
                 revision: str) -> Iterator[Database]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'old.db'}"
        else:
            url = stack.enter_context(scratch_postgres("flattr_migration"))
        database = Database(url)
        stack.callback(database.dispose)
        with database.engine.connect() as connection:
            command.upgrade(alembic_config(connection), revision)
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


# Migration 0003's split: a person's flattrs ranked by thing id.
SHARES_BY_THING_ID = """
INSERT INTO shares (period, person_id, thing_id, flattr_id, share_cents)
SELECT :p, person_id, thing_id, id,
       base + CASE WHEN (rank + :rot) % n < leftover THEN 1 ELSE 0 END
FROM (
    SELECT f.id, f.person_id, f.thing_id, c.flattrs AS n,
           c.charged_cents / c.flattrs AS base, c.charged_cents % c.flattrs AS leftover,
           ROW_NUMBER() OVER (PARTITION BY c.person_id ORDER BY f.thing_id) - 1 AS rank
    FROM charges c JOIN flattrs f ON f.period = c.period AND f.person_id = c.person_id
    WHERE c.period = :p AND c.flattrs > 0 AND f.withdrawn_at IS NULL
) ranked
"""


def test_things_and_flattrs_get_rank_keys_and_settled_periods_keep_their_order(
        before_0010: Database) -> None:
    with before_0010.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO things (id, url, owner_id, identity, created_at) VALUES"
            " (3, 'https://example.org/3', NULL, 'twitter:3', '2026-09-01'),"
            " (4, 'https://example.org/4', NULL, 'twitter:4', '2026-09-01')"))
        for period, stage in (("2026-09", "done"), ("2026-10", "charges")):
            connection.execute(text(
                "INSERT INTO settlements (period, stage, started_at)"
                " VALUES (:p, :stage, '2026-11-01')"), {"p": period, "stage": stage})
            for thing in (1, 2, 3, 4):  # p2 flattred every thing, in both months
                connection.execute(text(
                    "INSERT INTO flattrs (person_id, thing_id, period, source, occurred_at)"
                    " VALUES (2, :t, :p, 'x', '2026-09-05')"), {"t": thing, "p": period})
            connection.execute(text(
                "INSERT INTO charges (period, person_id, flattrs, budget_cents, charged_cents)"
                " VALUES (:p, 2, 4, 1001, 1001)"), {"p": period})
        # 1001 over 4: one leftover cent, whose rank the order decides.
        connection.execute(text(SHARES_BY_THING_ID), {"p": "2026-09", "rot": 2026 * 12 + 8})
        written = dict(connection.execute(text(
            "SELECT thing_id, share_cents FROM shares WHERE period = '2026-09'")).all())
    before_0010.upgrade()
    with before_0010.engine.connect() as connection:
        keys = dict(connection.execute(text("SELECT url, rank_key FROM things")).all())
        copied = connection.execute(text(
            "SELECT COUNT(*) FROM flattrs f JOIN things t ON t.id = f.thing_id"
            " WHERE f.rank_key = t.rank_key")).scalar_one()
        orders = dict(connection.execute(text(
            "SELECT period, split_order FROM settlements")).all())
    assert keys == {url: rank_key(url) for url in keys} and len(keys) == 4
    assert copied == 8
    assert orders == {"2026-09": "thing_id", "2026-10": "url_hash"}
    with before_0010.unit_of_work() as session:
        recomputed = {s.thing_id: s.cents for s in shares.person_shares(session, 2, "2026-09")}
    assert recomputed == written and sorted(written.values()) == [250, 250, 250, 251]
    by_url = sorted((1, 2, 3, 4), key=lambda t: rank_key(f"https://example.org/{t}"))
    assert dict(zip(by_url, even_split(1001, 4, 2026 * 12 + 8), strict=True)) != written
    inspector = inspect(before_0010.engine)
    [index] = [i for i in inspector.get_indexes("flattrs") if i["name"] == "ix_flattrs_open"]
    assert index["column_names"] == ["period", "person_id", "rank_key", "thing_id"]
    if before_0010.is_postgres:
        columns = {c["name"]: c for c in inspector.get_columns("flattrs")}
        assert columns["rank_key"]["nullable"] is False


def test_0010_refuses_to_downgrade_once_a_period_was_split_by_url(before_0010: Database) -> None:
    before_0010.upgrade()
    with before_0010.engine.begin() as connection:
        connection.execute(text("INSERT INTO settlements (period, stage, started_at)"
                                " VALUES ('2026-10', 'done', '2026-11-01')"))
    with before_0010.engine.connect() as connection, pytest.raises(RuntimeError, match="url_hash"):
        command.downgrade(alembic_config(connection), "0009_account_lifecycle")


def test_0010_downgrades_while_no_period_was_split_by_url(before_0010: Database) -> None:
    before_0010.upgrade()
    with before_0010.engine.connect() as connection:
        command.downgrade(alembic_config(connection), "0009_account_lifecycle")
        connection.commit()
    inspector = inspect(before_0010.engine)
    assert "rank_key" not in {c["name"] for c in inspector.get_columns("flattrs")}
    [index] = [i for i in inspector.get_indexes("flattrs") if i["name"] == "ix_flattrs_open"]
    assert index["column_names"] == ["period", "person_id", "thing_id"]


@pytest.fixture(params=BACKENDS)
def before_0013(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database at 0012 with one person and one thing (id 2)."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'old.db'}"
        else:
            url = stack.enter_context(scratch_postgres("flattr_migration"))
        database = Database(url)
        stack.callback(database.dispose)
        with database.engine.connect() as connection:
            command.upgrade(alembic_config(connection), "0012_identity_names")
        with database.engine.begin() as connection:
            connection.execute(text("INSERT INTO people (id, name, created_at)"
                                    " VALUES (1, 'p1', '2026-09-01')"))
            connection.execute(text(
                "INSERT INTO things (id, url, identity, created_at, rank_key) VALUES"
                " (2, 'https://example.org/2', 'twitter:2', '2026-09-01', 7)"))
        yield database


def test_0013_names_the_flattr_an_old_already_joins(before_0013: Database) -> None:
    with before_0013.engine.begin() as connection:
        flattr = connection.execute(text(
            "INSERT INTO flattrs (person_id, thing_id, period, source, occurred_at, rank_key)"
            " VALUES (1, 2, '2026-11', 'x', '2026-11-05', 7) RETURNING id")).scalar_one()
        for key, outcome, flattr_id, at in (("like", "flattred", flattr, "2026-11-05"),
                                            ("repost", "already", None, "2026-11-30 23:00:00"),
                                            ("older", "already", None, "2026-10-31 23:00:00")):
            connection.execute(text(
                "INSERT INTO activities (key, network, action, person_id, occurred_at,"
                " thing_id, flattr_id, outcome, created_at) VALUES (:key, 'bluesky', 'like',"
                " 1, :at, 2, :flattr, :outcome, '2026-11-05')"),
                {"key": key, "at": at, "flattr": flattr_id, "outcome": outcome})
    with before_0013.engine.connect() as connection:
        command.upgrade(alembic_config(connection), "0013_retractions")
        connection.commit()
        joined: dict[str, int | None] = dict(connection.execute(text(
            "SELECT key, flattr_id FROM activities")).all())
    assert joined == {"like": flattr, "repost": flattr, "older": None}
