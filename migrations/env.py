"""Alembic environment: runs on the connection core.db hands it.

On PostgreSQL a session advisory lock serialises concurrent upgrades, and a lock timeout
keeps a migration from queueing forever behind a long transaction.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from core.db import MIGRATION_LOCK_ID
from core.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via core.db.Database.upgrade
    raise RuntimeError("run migrations through `flattr db upgrade`")

is_postgres = connection.dialect.name == "postgresql"
if is_postgres:
    connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
    connection.commit()
try:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=not is_postgres,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        if is_postgres:
            connection.execute(text("SET LOCAL lock_timeout = '30s'"))
        context.run_migrations()
    connection.commit()
finally:
    if is_postgres:
        connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
        connection.commit()
