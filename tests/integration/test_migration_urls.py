"""Migration 0004 brings stored URLs and url: identities into issue 10's canonical form:
things and claims move, collisions are kept apart and logged, opt-outs gain the new
spelling, and nothing settled (totals, ledger) changes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from core.db import Database, alembic_config
from tests.conftest import BACKENDS, scratch_postgres

V = "dQw4w9WgXcQ"
THINGS = [  # id, url, identity, owner: as the old rules stored them
    (1, f"https://youtu.be/{V}", f"url:https://youtu.be/{V}", None),
    (2, "https://m.youtube.com/watch?v=abcdefghijk", "url:https://m.youtube.com/watch?v=abcdefghijk",
     None),
    (3, "https://www.youtube.com/watch?v=abcdefghijk", "url:https://www.youtube.com/watch?v=abcdefghijk",
     1),
    (4, "https://example.org/blog/../essay", "url:https://example.org/blog/../essay", 1),
    (5, "https://x.com/i/status/5", "twitter:7", None),
    (6, "https://instagr.am/p/Cq1", "url:https://instagr.am/p/Cq1", None),
    (7, "https://instagram.com/p/Cq1", "url:https://instagram.com/p/Cq1", None),
    (8, "https://www.facebook.com/600", "facebook:page:600", None),
    (9, "https://example.org/plain", "url:https://example.org/plain", None),
]
CLAIMS = [  # id, person, kind, value
    (1, 1, "prefix", "https://m.youtube.com/@maker"),
    (2, 1, "identity", f"url:https://youtu.be/{V}"),
    (3, 1, "prefix", "https://instagram.com/someone/"),
    (4, 2, "prefix", "https://www.instagram.com/someone/"),
    (5, 2, "identity", "twitter:7"),
]


@pytest.fixture(params=BACKENDS)
def at_0003(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database at 0003 holding old spellings, a settled escrow row and its ledger."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'old.db'}"
        else:
            url = stack.enter_context(scratch_postgres("flattr_migration"))
        database = Database(url)
        stack.callback(database.dispose)
        with database.engine.connect() as connection:
            command.upgrade(alembic_config(connection), "0003")
        with database.engine.begin() as connection:
            for who in (1, 2):
                connection.execute(text("INSERT INTO people (id, name, created_at)"
                                        " VALUES (:id, :name, '2026-09-01')"),
                                   {"id": who, "name": f"p{who}"})
            for thing, url_, held, owner in THINGS:
                connection.execute(text(
                    "INSERT INTO things (id, url, owner_id, identity, created_at)"
                    " VALUES (:id, :url, :owner, :identity, '2026-09-01')"),
                    {"id": thing, "url": url_, "owner": owner, "identity": held})
            for claim, who, kind, value in CLAIMS:
                connection.execute(text(
                    "INSERT INTO claims (id, person_id, kind, value, created_at)"
                    " VALUES (:id, :who, :kind, :value, '2026-09-01')"),
                    {"id": claim, "who": who, "kind": kind, "value": value})
            for subject in (f"url:https://youtu.be/{V}", "twitter:9", "person:2"):
                connection.execute(text("INSERT INTO opt_outs (subject, created_at)"
                                        " VALUES (:s, '2026-09-02')"), {"s": subject})
            connection.execute(text(
                "INSERT INTO settlements (period, stage, started_at, finished_at)"
                " VALUES ('2026-09', 'done', '2026-10-01', '2026-10-01')"))
            connection.execute(text(
                "INSERT INTO thing_totals (period, thing_id, creator_id, identity, flattrs,"
                " gross_cents, fee_cents, fee_bps, state)"
                " VALUES ('2026-09', 1, NULL, :identity, 2, 300, 0, 1000, 'escrow')"),
                {"identity": f"url:https://youtu.be/{V}"})
            connection.execute(text(
                "INSERT INTO transactions (id, ref, kind, period, created_at)"
                " VALUES (1, 'settle:2026-09', 'settle', '2026-09', '2026-10-01')"))
            for n, (account, cents) in enumerate(
                    (("wallet:2", -300), (f"escrow:url:https://youtu.be/{V}", 300)), 1):
                connection.execute(text(
                    "INSERT INTO entries (id, transaction_id, account, amount_cents)"
                    " VALUES (:id, 1, :account, :cents)"),
                    {"id": n, "account": account, "cents": cents})
        yield database


def _rows(database: Database, sql: str) -> list[tuple]:
    with database.engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text(sql))]


SETTLED = ("SELECT period, thing_id, identity, gross_cents, state FROM thing_totals",
           "SELECT account, amount_cents FROM entries ORDER BY id")


def test_stored_urls_and_identities_take_the_new_spelling(
        at_0003: Database, caplog: pytest.LogCaptureFixture) -> None:
    settled = [_rows(at_0003, sql) for sql in SETTLED]
    with caplog.at_level(logging.INFO, logger="flattr.migrations"):
        at_0003.upgrade()
    things = {r[0]: r[1:] for r in _rows(at_0003, "SELECT id, url, identity, owner_id"
                                                  " FROM things")}
    watch = f"https://www.youtube.com/watch?v={V}"
    assert things[1] == (watch, f"url:{watch}", None)
    assert things[4] == ("https://example.org/essay", "url:https://example.org/essay", 1)
    # Already canonical, or not held by a URL: unchanged.
    for same in (3, 5, 8, 9):
        assert things[same] == tuple(t for t in THINGS if t[0] == same)[0][1:]
    claims = dict(_rows(at_0003, "SELECT id, value FROM claims"))
    assert claims[1] == "https://www.youtube.com/@maker"
    assert claims[2] == f"url:{watch}" and claims[5] == "twitter:7"
    subjects = {r[0] for r in _rows(at_0003, "SELECT subject FROM opt_outs")}
    assert subjects == {f"url:https://youtu.be/{V}", f"url:{watch}", "twitter:9", "person:2"}
    # Nothing settled moved: the escrow keeps the spelling it was settled under.
    assert [_rows(at_0003, sql) for sql in SETTLED] == settled
    assert "1 escrow rows wait under an old spelling" in caplog.text


def test_rows_that_would_become_one_are_kept_apart_and_named(
        at_0003: Database, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="flattr.migrations"):
        at_0003.upgrade()
    things = {r[0]: r[1] for r in _rows(at_0003, "SELECT id, url FROM things")}
    # m.youtube.com/watch?v=... is www.youtube.com's thing 3: thing 2 stays apart.
    assert things[2] == "https://m.youtube.com/watch?v=abcdefghijk"
    # instagr.am and instagram.com both become www.instagram.com: neither moves.
    assert (things[6], things[7]) == ("https://instagr.am/p/Cq1", "https://instagram.com/p/Cq1")
    claims = dict(_rows(at_0003, "SELECT id, value FROM claims"))
    assert claims[3] == "https://instagram.com/someone/"  # p2 holds the new spelling
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("thing 2 " in w and "like thing 3: kept apart" in w for w in warnings)
    assert any("thing 6 " in w and "thing 7" in w for w in warnings)
    assert any("claim 3 " in w and "like claim 4: kept apart" in w for w in warnings)


def test_the_migration_on_an_empty_database_changes_nothing(at_0003: Database) -> None:
    with at_0003.engine.begin() as connection:
        for table in ("entries", "transactions", "thing_totals", "settlements", "opt_outs",
                      "claims", "things", "people"):
            connection.execute(text(f"DELETE FROM {table}"))
    at_0003.upgrade()
    assert _rows(at_0003, "SELECT COUNT(*) FROM things") == [(0,)]
