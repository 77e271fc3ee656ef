"""Engine, unit of work and migrations: built once at start-up, never at import time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import CursorResult, Engine, Result
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Any constant shared by every process that migrates the same database.
MIGRATION_LOCK_ID = 0x666C6174  # "flat"


def normalise_url(url: str) -> str:
    """postgresql:// means psycopg 3 here."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


class Database:
    """The engine, a session factory and the unit of work."""

    def __init__(self, url: str, **engine_options: Any):
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self.is_postgres = not self.is_sqlite
        self.engine = _build_engine(self.url, engine_options)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        session = self._sessions()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    def upgrade(self, *, fee_bps: int | None = None) -> None:
        """Create or upgrade the schema to the newest migration. `fee_bps` is the rate a
        migration uses for fees that were never computed (0002: escrow held per flattr)."""
        from alembic import command

        with self.engine.connect() as connection:
            config = alembic_config(connection)
            if fee_bps is not None:
                config.attributes["fee_bps"] = fee_bps
            command.upgrade(config, "head")

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(connection: Any = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _build_engine(url: str, options: dict[str, Any]) -> Engine:
    # An error's message never carries the statement's parameters (e-mail addresses, names,
    # tokens): logs and tracebacks show the SQL and "[SQL parameters hidden]".
    options.setdefault("hide_parameters", True)
    if not url.startswith("sqlite"):
        options.setdefault("pool_pre_ping", True)
        return create_engine(url, **options)
    options.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
    engine = create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, issue BEGIN (the pysqlite recipe), so that
        # every transaction can be BEGIN IMMEDIATE: writers queue on the busy timeout
        # instead of failing to upgrade a read lock.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if ":memory:" not in url and url != "sqlite://":
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def ping(database: Database) -> None:
    with database.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def rows_affected(result: Result[Any]) -> int:
    """The row count of an UPDATE, DELETE or INSERT (execute() is typed as a plain Result)."""
    return cast("CursorResult[Any]", result).rowcount
