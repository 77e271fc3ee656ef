"""retractions: activities.retracted_at (an undone like supports nothing), an index on
activities.flattr_id (what still supports a flattr), flattrs.withdrawn_by (only a flattr
withdrawn because everything behind it was undone comes back with new support)

Revision ID: 0013_retractions
Revises: 0012_identity_names
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_retractions"
down_revision = "0012_identity_names"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("activities", sa.Column("retracted_at", sa.DateTime(timezone=True)))
    op.create_index(op.f("ix_activities_flattr_id"), "activities", ["flattr_id"])
    op.add_column("flattrs", sa.Column("withdrawn_by", sa.String(length=8)))


def downgrade() -> None:
    with op.batch_alter_table("flattrs") as batch:
        batch.drop_column("withdrawn_by")
    op.drop_index(op.f("ix_activities_flattr_id"), table_name="activities")
    with op.batch_alter_table("activities") as batch:
        batch.drop_column("retracted_at")
