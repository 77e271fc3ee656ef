"""stable split order: leftover cents ranked by a hash of each thing's URL, not its id

Revision ID: 0010_stable_split_order
Revises: 0009_account_lifecycle
Create Date: 2026-11-28

The split gave a person's leftover cents by rank of thing id, so the same flattrs
discovered in another order paid some identities a few cents more or less. Things get
`rank_key` (core.split.rank_key of the canonical URL, fixed at creation); each flattr keeps
a copy, in ix_flattrs_open, so settlement still reads a month of flattrs in rank order from
the index alone. `settlements.split_order` records how each period ranked: periods whose
shares are already written keep `thing_id`, so their shares still recompute exactly.

On PostgreSQL both rank_key columns become NOT NULL. SQLite cannot add that to a filled
table without rebuilding it (which the foreign keys onto flattrs forbid inside a
migration), so there every writer sets them and `flattr check` reports any that is missing.
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0010_stable_split_order"
down_revision = "0009_account_lifecycle"
branch_labels = None
depends_on = None

CHUNK = 5000
SHARES_WRITTEN = "stage NOT IN ('begun', 'charges')"


def rank_key(canonical_url: str) -> int:
    """core.split.rank_key, copied: a migration never imports the code it migrates for."""
    digest = hashlib.sha256(canonical_url.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    op.add_column("things", sa.Column("rank_key", sa.BigInteger(), nullable=True))
    op.add_column("flattrs", sa.Column("rank_key", sa.BigInteger(), nullable=True))
    last = 0
    while True:
        rows = bind.execute(sa.text(
            "SELECT id, url FROM things WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": CHUNK}).all()
        if not rows:
            break
        bind.execute(sa.text("UPDATE things SET rank_key = :k WHERE id = :i"),
                     [{"i": i, "k": rank_key(url)} for i, url in rows])
        last = rows[-1][0]
    if postgres:
        op.execute("UPDATE flattrs f SET rank_key = t.rank_key FROM things t"
                   " WHERE t.id = f.thing_id")
        op.alter_column("things", "rank_key", nullable=False)
        op.alter_column("flattrs", "rank_key", nullable=False)
    else:
        op.execute("UPDATE flattrs SET rank_key ="
                   " (SELECT t.rank_key FROM things t WHERE t.id = flattrs.thing_id)")
    op.drop_index("ix_flattrs_open", table_name="flattrs")
    op.create_index("ix_flattrs_open", "flattrs", ["period", "person_id", "rank_key", "thing_id"],
                    sqlite_where=sa.text("withdrawn_at IS NULL"),
                    postgresql_where=sa.text("withdrawn_at IS NULL"))
    op.add_column("settlements", sa.Column("split_order", sa.String(length=16),
                                           server_default="url_hash", nullable=False))
    op.execute(f"UPDATE settlements SET split_order = 'thing_id' WHERE {SHARES_WRITTEN}")


def downgrade() -> None:
    newer = op.get_bind().execute(sa.text(
        f"SELECT COUNT(*) FROM settlements WHERE split_order = 'url_hash' AND {SHARES_WRITTEN}"
    )).scalar_one()
    if newer:
        raise RuntimeError(f"{newer} period(s) were split in url_hash order, which 0009 cannot"
                           " recompute: downgrading would misreport their shares")
    op.drop_column("settlements", "split_order")
    op.drop_index("ix_flattrs_open", table_name="flattrs")
    op.create_index("ix_flattrs_open", "flattrs", ["period", "person_id", "thing_id"],
                    sqlite_where=sa.text("withdrawn_at IS NULL"),
                    postgresql_where=sa.text("withdrawn_at IS NULL"))
    op.drop_column("flattrs", "rank_key")
    op.drop_column("things", "rank_key")
