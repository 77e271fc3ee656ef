"""Migration 0002 turns 0001's per-flattr shares into narrow shares plus thing totals."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.db import Database, alembic_config
from tests.conftest import BACKENDS, PG_URL

OLD_SHARE = (
    "INSERT INTO shares (flattr_id, period, person_id, thing_id, creator_id, identity,"
    " share_cents, fee_cents, state, escrow_until, resolution_txn_id)"
    " VALUES (:f, '2026-10', :who, :thing, :creator, :identity, :cents, :fee, :state, NULL,"
    " NULL)")


@pytest.fixture(params=BACKENDS)
def at_0001(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database migrated to 0001 only, with two people and two things."""
    admin = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        if not PG_URL:
            pytest.skip("PostgreSQL tests need FLATTR_TEST_DATABASE_URL")
        server = make_url(Database(PG_URL).url)
        name = f"flattr_migration_{uuid.uuid4().hex[:8]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = server.set(database=name).render_as_string(hide_password=False)
    database = Database(url)
    with database.engine.connect() as connection:
        command.upgrade(alembic_config(connection), "0001")
    with database.engine.begin() as connection:
        for who in (1, 2):
            connection.execute(text(
                "INSERT INTO people (id, name, created_at) VALUES (:id, :name, '2026-09-01')"),
                {"id": who, "name": f"p{who}"})
        for thing, owner in ((1, 1), (2, None)):
            connection.execute(text(
                "INSERT INTO things (id, url, owner_id, identity, created_at)"
                " VALUES (:id, :url, :owner, :identity, '2026-09-01')"),
                {"id": thing, "url": f"https://example.org/{thing}", "owner": owner,
                 "identity": f"twitter:{thing}"})
    yield database
    database.dispose()
    if admin is not None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_paid_shares_become_narrow_shares_and_one_total_per_thing(at_0001: Database) -> None:
    with at_0001.engine.begin() as connection:
        for flattr_id, cents in ((1, 167), (2, 250)):
            connection.execute(text(OLD_SHARE), {
                "f": flattr_id, "who": 2, "thing": 1, "creator": 1, "identity": None,
                "cents": cents, "fee": cents // 10, "state": "paid"})
    at_0001.upgrade()
    with at_0001.engine.connect() as connection:
        totals = connection.execute(text(
            "SELECT period, thing_id, creator_id, flattrs, gross_cents, fee_cents, refund_cents,"
            " state FROM thing_totals")).all()
        shares = connection.execute(text(
            "SELECT flattr_id, share_cents FROM shares ORDER BY flattr_id")).all()
    assert [tuple(t) for t in totals] == [("2026-10", 1, 1, 2, 417, 41, 0, "paid")]
    assert [tuple(s) for s in shares] == [(1, 167), (2, 250)]


def test_escrow_held_per_flattr_stops_the_upgrade_untouched(at_0001: Database) -> None:
    with at_0001.engine.begin() as connection:
        connection.execute(text(OLD_SHARE), {
            "f": 1, "who": 1, "thing": 2, "creator": None, "identity": "twitter:2",
            "cents": 300, "fee": 0, "state": "escrow"})
    with pytest.raises(RuntimeError, match="still hold escrow per flattr"):
        at_0001.upgrade()
    with at_0001.engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM shares")).scalar_one() == 1
