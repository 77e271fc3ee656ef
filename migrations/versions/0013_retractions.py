"""retractions: activities.retracted_at (an undone like supports nothing), an index on
activities.flattr_id (what still supports a flattr), flattrs.withdrawn_by (only a flattr
withdrawn because everything behind it was undone comes back with new support); an
"already" stored before now names the flattr it joins (the same person, thing and month), so
that undoing the activity that made the flattr does not withdraw one a repost still supports

Revision ID: 0013_retractions
Revises: 0012_identity_names
Create Date: 2026-12-01
"""

from datetime import UTC

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
    _join_alreadys()


_ACTIVITIES = sa.table("activities", sa.column("id", sa.Integer),
                       sa.column("person_id", sa.Integer), sa.column("thing_id", sa.Integer),
                       sa.column("occurred_at", sa.DateTime(timezone=True)),
                       sa.column("outcome", sa.String), sa.column("flattr_id", sa.Integer))
_FLATTRS = sa.table("flattrs", sa.column("id", sa.Integer), sa.column("person_id", sa.Integer),
                    sa.column("thing_id", sa.Integer), sa.column("period", sa.String))


def _join_alreadys() -> None:
    """Each "already" without a flattr gets the flattr of its person, thing and month."""
    bind = op.get_bind()
    rows = bind.execute(sa.select(
        _ACTIVITIES.c.id, _ACTIVITIES.c.person_id, _ACTIVITIES.c.thing_id,
        _ACTIVITIES.c.occurred_at).where(
        _ACTIVITIES.c.outcome == "already", _ACTIVITIES.c.flattr_id.is_(None),
        _ACTIVITIES.c.thing_id.is_not(None))).all()
    wanted: dict[tuple[int, int, str], list[int]] = {}
    for row in rows:
        moment = row.occurred_at
        moment = moment.astimezone(UTC) if moment.tzinfo else moment  # SQLite: naive UTC
        wanted.setdefault((row.person_id, row.thing_id, f"{moment.year:04d}-{moment.month:02d}"),
                          []).append(row.id)
    if not wanted:
        return
    flattrs = bind.execute(sa.select(
        _FLATTRS.c.id, _FLATTRS.c.person_id, _FLATTRS.c.thing_id, _FLATTRS.c.period).where(
        _FLATTRS.c.person_id.in_({person for person, _, _ in wanted}))).all()
    for flattr in flattrs:
        for activity in wanted.get((flattr.person_id, flattr.thing_id, flattr.period), []):
            bind.execute(_ACTIVITIES.update().where(_ACTIVITIES.c.id == activity)
                         .values(flattr_id=flattr.id))


def downgrade() -> None:
    with op.batch_alter_table("flattrs") as batch:
        batch.drop_column("withdrawn_by")
    op.drop_index(op.f("ix_activities_flattr_id"), table_name="activities")
    with op.batch_alter_table("activities") as batch:
        batch.drop_column("retracted_at")
