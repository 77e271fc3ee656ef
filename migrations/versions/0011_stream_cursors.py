"""stream_cursors: where each shard of a network's live stream (Bluesky's Jetstream) was
read to, and which worker reads it now (a lease, core.leases)

Revision ID: 0011_stream_cursors
Revises: 0010_stable_split_order
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_stream_cursors"
down_revision = "0010_stable_split_order"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "stream_cursors",
        sa.Column("id", Id, nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stream_cursors")),
        sa.UniqueConstraint("network", "shard", name=op.f("uq_stream_cursors_network_shard")),
    )


def downgrade() -> None:
    op.drop_table("stream_cursors")
