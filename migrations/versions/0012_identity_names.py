"""identity_names: the display name and handle of a network identity, as the network's
responses show them (filled by the poll's store step)

Revision ID: 0012_identity_names
Revises: 0011_stream_cursors
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_identity_names"
down_revision = "0011_stream_cursors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_names",
        sa.Column("identity", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("handle", sa.String(length=100), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("identity", name=op.f("pk_identity_names")),
    )


def downgrade() -> None:
    op.drop_table("identity_names")
