"""notifications.fold_key: the day's post a folded announcement was taken into (it was kept
in last_error)

Revision ID: 0008_notification_fold_key
Revises: 0006_shared_streams_api_usage
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_notification_fold_key"
down_revision = "0007_hardening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("fold_key", sa.String(length=300)))
    op.execute("UPDATE notifications SET fold_key = last_error, last_error = NULL"
               " WHERE status = 'folded'")
    op.create_index("ix_notifications_fold_key", "notifications", ["fold_key"])


def downgrade() -> None:
    op.execute("UPDATE notifications SET last_error = fold_key WHERE status = 'folded'")
    op.drop_index("ix_notifications_fold_key", table_name="notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("fold_key")
