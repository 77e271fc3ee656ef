"""hardening (issue 11): session generations, webhook replay digests, the webhook wake-up
cap, and manual flattrs refused for want of money no longer hold their key

Revision ID: 0007_hardening
Revises: 0005_mastodon_apps
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_hardening"
down_revision = "0006_shared_streams_api_usage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("session_generation", sa.Integer(), nullable=False,
                                   server_default="0"))
    op.create_table(
        "webhook_events",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_webhook_events")),
    )
    op.create_index("ix_webhook_events_received_at", "webhook_events", ["received_at"])
    # A manual flattr refused for want of money kept its key, so the retry after a top-up
    # was "already flattred" (core.ingest no longer records such a refusal).
    op.execute("DELETE FROM activities WHERE network = 'web' AND outcome = 'no_means'"
               " AND flattr_id IS NULL")


def downgrade() -> None:
    op.drop_table("webhook_events")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("session_generation")
