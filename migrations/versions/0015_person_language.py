"""person_language: the language a person chose for the pages and their messages

Revision ID: 0015_person_language
Revises: 0014_account_basics
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_person_language"
down_revision = "0014_account_basics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("people", sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+): a batch copy of `people` would trip its
    # foreign keys.
    op.drop_column("people", "language")
