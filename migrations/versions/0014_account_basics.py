"""account basics: people.deleted_at (a deleted account keeps an anonymous row) and
account_tokens (single-use links for a password reset or a new e-mail address, hashed)

Revision ID: 0014_account_basics
Revises: 0013_retractions
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_account_basics"
down_revision = "0013_retractions"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # A plain ALTER TABLE on both databases (a batch copy of `people` would trip over the
    # foreign keys that point at it on SQLite).
    op.add_column("people", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "account_tokens",
        sa.Column("id", Id, nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.Column("purpose", sa.String(length=8), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("new_email", sa.String(length=254), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("purpose IN ('reset', 'email')",
                           name=op.f("ck_account_tokens_purpose")),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"],
                                name=op.f("fk_account_tokens_person_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_tokens_token_hash")),
    )
    op.create_index(op.f("ix_account_tokens_person_id"), "account_tokens", ["person_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_account_tokens_person_id"), table_name="account_tokens")
    op.drop_table("account_tokens")
    op.drop_column("people", "deleted_at")  # SQLite >= 3.35 drops a column in place
