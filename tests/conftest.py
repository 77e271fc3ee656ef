"""Shared fixtures: every database test runs on SQLite, and on PostgreSQL when
FLATTR_TEST_DATABASE_URL names a server (each test gets an empty, migrated database)."""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bots import networks
from config import Settings
from core.db import Database
from core.models import Base
from core.rules import Rules
from runtime.app import App, rules_from

# The built-in networks, as every composition root registers them (runtime.app does it for
# the app; tests also build Settings and parse identities directly).
networks.install()

PG_URL = os.environ.get("FLATTR_TEST_DATABASE_URL")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
SHARED_DIR = Path(os.environ.get("FLATTR_SHARED_DIR",
                                 Path(__file__).resolve().parents[2] / "shared"))


@dataclass
class FakeClock:
    """A clock the test moves by hand."""

    now: datetime = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    database.dispose()
    return path


@contextmanager
def scratch_postgres(prefix: str) -> Iterator[str]:
    """The URL of a new, empty database on the test server, dropped afterwards."""
    if not PG_URL:
        pytest.skip("PostgreSQL tests need FLATTR_TEST_DATABASE_URL")
    server = make_url(Database(PG_URL).url)
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database on the test server for this session, migrated once."""
    with scratch_postgres("flattr_test") as url:
        database = Database(url)
        database.upgrade()
        database.dispose()
        yield url


def _empty_postgres(url: str) -> None:
    database = Database(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with database.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    database.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "flattr.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def rules() -> Rules:
    return Rules()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url)


@pytest.fixture
def app(db: Database, settings: Settings, clock: FakeClock) -> App:
    return App(settings=settings, db=db, rules=rules_from(settings), clock=clock)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Commands run in-process call runtime.logs.configure, which sets levels on the root
    and on our `flattr` logger: put them back, so one test's CLI call cannot silence the
    log another test reads."""
    root, ours = logging.getLogger(), logging.getLogger("flattr")
    saved = (root.level, list(root.handlers), ours.level, list(ours.handlers), ours.propagate)
    yield
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    ours.setLevel(saved[2])
    ours.handlers[:] = saved[3]
    ours.propagate = saved[4]
