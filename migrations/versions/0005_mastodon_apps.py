"""instance_apps: the service's app on each Mastodon server (secret sealed); oauth_states
remember the server a sign-in went to; linked-account ids wide enough for <host>:<id>

Revision ID: 0005_mastodon_apps
Revises: 0004_recanonicalise_urls
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_mastodon_apps"
down_revision = "0004_recanonicalise_urls"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UtcTime = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "instance_apps",
        sa.Column("id", Id, nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("secret_ciphertext", sa.Text(), nullable=False),
        sa.Column("redirect_uri", sa.String(length=2048), nullable=False),
        sa.Column("created_at", UtcTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instance_apps")),
        sa.UniqueConstraint("network", "host", name="uq_instance_apps_network_host"),
    )
    op.add_column("oauth_states", sa.Column("instance", sa.String(length=253), nullable=True))
    if op.get_bind().dialect.name == "postgresql":  # SQLite does not enforce lengths
        op.alter_column("social_accounts", "external_user_id", type_=sa.String(300),
                        existing_type=sa.String(64), existing_nullable=False)
        op.alter_column("social_accounts", "identity", type_=sa.String(320),
                        existing_type=sa.String(100), existing_nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("social_accounts", "identity", type_=sa.String(100),
                        existing_type=sa.String(320), existing_nullable=False)
        op.alter_column("social_accounts", "external_user_id", type_=sa.String(64),
                        existing_type=sa.String(300), existing_nullable=False)
    with op.batch_alter_table("oauth_states") as batch:
        batch.drop_column("instance")
    op.drop_table("instance_apps")
