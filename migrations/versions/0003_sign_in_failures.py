"""sign_in_failures: recent failed sign-ins, so that too many for one name pause it

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sign_in_failures",
        sa.Column("id", Id, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failures")),
    )
    op.create_index("ix_sign_in_failures_name", "sign_in_failures", ["name", "failed_at"])
    op.create_index("ix_sign_in_failures_failed_at", "sign_in_failures", ["failed_at"])


def downgrade() -> None:
    op.drop_table("sign_in_failures")
