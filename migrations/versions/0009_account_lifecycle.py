"""social_accounts: linked_at (the current episode), wake_requested_at (a webhook's
"poll now"), refresh_owner/refresh_until (the token-refresh lease)

Revision ID: 0009_account_lifecycle
Revises: 0007_notification_fold_key
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_account_lifecycle"
down_revision = "0008_notification_fold_key"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("social_accounts", sa.Column("linked_at", sa.DateTime(timezone=True)))
    op.add_column("social_accounts", sa.Column("wake_requested_at", sa.DateTime(timezone=True)))
    op.add_column("social_accounts", sa.Column("refresh_owner", sa.String(length=100)))
    op.add_column("social_accounts", sa.Column("refresh_until", sa.DateTime(timezone=True)))
    op.execute("UPDATE social_accounts SET linked_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("social_accounts") as batch:
        for column in ("refresh_until", "refresh_owner", "wake_requested_at", "linked_at"):
            batch.drop_column(column)
