"""stream_cursors: where each shard of a network's live stream (Bluesky's Jetstream) was
read to, and which worker reads it now (a lease)

Revision ID: 0008_stream_cursors
Revises: 0007_hardening
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_stream_cursors"
down_revision = "0007_hardening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stream_cursors",
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("network", "shard", name=op.f("pk_stream_cursors")),
    )


def downgrade() -> None:
    op.drop_table("stream_cursors")
