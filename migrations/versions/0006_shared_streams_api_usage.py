"""shared_streams (X's search groups and mentions, leased) and api_usage (posts read a month)

Revision ID: 0006_shared_streams_api_usage
Revises: 0004_recanonicalise_urls
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_shared_streams_api_usage"
down_revision = "0005_mastodon_apps"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "shared_streams",
        sa.Column("id", Id, nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("members", sa.Text(), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shared_streams")),
        sa.UniqueConstraint("network", "name", name=op.f("uq_shared_streams_network_name")),
    )
    op.create_index("ix_shared_streams_due", "shared_streams", ["next_poll_at"])
    op.create_table(
        "api_usage",
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("posts_read", sa.BigInteger(), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("network", "period", name=op.f("pk_api_usage")),
    )


def downgrade() -> None:
    op.drop_table("api_usage")
    op.drop_table("shared_streams")
