"""shares become a narrow per-flattr record; where the money went moves to thing_totals

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Settlement used to write, per flattr, the creator, the escrow identity, the fee and the
state, with a key and three indexes. Now a share row holds only the split, and one
thing_totals row per (period, thing) holds where the money went: a claim or an expiry
updates a thing's row, not every flattr of it.
"""

import sqlalchemy as sa
from alembic import context, op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "thing_totals",
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("thing_id", Id, autoincrement=False, nullable=False),
        sa.Column("creator_id", Id, nullable=True),
        sa.Column("identity", sa.String(length=2100), nullable=True),
        sa.Column("flattrs", sa.Integer(), nullable=False),
        sa.Column("gross_cents", sa.BigInteger(), nullable=False),
        sa.Column("fee_cents", sa.BigInteger(), nullable=False),
        sa.Column("fee_bps", sa.Integer(), nullable=False),
        sa.Column("refund_cents", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("own_flattrs", sa.Integer(), server_default="0", nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("escrow_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_txn_id", Id, nullable=True),
        sa.CheckConstraint(
            "gross_cents >= 0 AND refund_cents >= 0 AND fee_cents >= 0"
            " AND refund_cents + fee_cents <= gross_cents",
            name=op.f("ck_thing_totals_amounts"),
        ),
        sa.PrimaryKeyConstraint("period", "thing_id", name=op.f("pk_thing_totals")),
    )
    op.create_index("ix_thing_totals_escrow_identity", "thing_totals", ["identity"],
                    sqlite_where=sa.text("state = 'escrow'"),
                    postgresql_where=sa.text("state = 'escrow'"))
    op.create_index("ix_thing_totals_resolution_txn_id", "thing_totals", ["resolution_txn_id"],
                    sqlite_where=sa.text("resolution_txn_id IS NOT NULL"),
                    postgresql_where=sa.text("resolution_txn_id IS NOT NULL"))
    _refuse_unconvertible_shares()
    # Every flattr of a (period, thing) went the same way, except a claimer's own share that
    # went back to them while the others were released: that becomes the refund. Escrow gets
    # its fee at the rate in force (the per-flattr rows computed it only on release).
    fee_bps = int(context.config.attributes.get("fee_bps", 1000))
    op.execute(sa.text("""
        INSERT INTO thing_totals (period, thing_id, creator_id, identity, flattrs, gross_cents,
                                  fee_cents, fee_bps, refund_cents, own_flattrs, state,
                                  escrow_until, resolution_txn_id)
        SELECT period, thing_id,
               MAX(CASE WHEN state IN ('paid', 'released') THEN creator_id END),
               MAX(identity), COUNT(*), SUM(share_cents),
               CASE WHEN MAX(state) = 'escrow' THEN SUM(share_cents * :bps / 10000)
                    ELSE SUM(CASE WHEN state IN ('paid', 'released') THEN fee_cents ELSE 0 END)
               END,
               :bps,
               CASE WHEN MIN(state) = 'released'
                    THEN SUM(CASE WHEN state = 'returned' THEN share_cents ELSE 0 END)
                    ELSE 0 END,
               CASE WHEN MIN(state) = 'released'
                    THEN SUM(CASE WHEN state = 'returned' THEN 1 ELSE 0 END) ELSE 0 END,
               MIN(state), MAX(escrow_until),
               COALESCE(MAX(CASE WHEN state = 'released' THEN resolution_txn_id END),
                        MAX(resolution_txn_id))
        FROM shares GROUP BY period, thing_id""").bindparams(bps=fee_bps))
    op.rename_table("shares", "shares_0001")
    op.create_table(
        "shares",
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.Column("thing_id", Id, nullable=False),
        sa.Column("flattr_id", Id, nullable=False),
        sa.Column("share_cents", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("share_cents >= 0", name=op.f("ck_shares_amount")),
    )
    op.execute("""
        INSERT INTO shares (period, person_id, thing_id, flattr_id, share_cents)
        SELECT period, person_id, thing_id, flattr_id, share_cents FROM shares_0001
        ORDER BY period, person_id, thing_id""")
    op.drop_table("shares_0001")  # and its indexes, whose names the new table takes
    op.create_index("ix_shares_period", "shares", ["period"], postgresql_using="brin")


def _refuse_unconvertible_shares() -> None:
    """A claimer's own share still in escrow next to the released rest would need a ledger
    posting to become a refund: let its claim window pass and `flattr expire` return it."""
    bad = op.get_bind().execute(sa.text("""
        SELECT COUNT(*) FROM (
            SELECT period, thing_id FROM shares GROUP BY period, thing_id
            HAVING COUNT(DISTINCT state) > 1
               AND NOT (MIN(state) = 'released' AND MAX(state) = 'returned')
        ) mixed""")).scalar_one()
    if bad:
        raise RuntimeError(
            f"{bad} thing(s) hold a claimer's own share in escrow next to released shares:"
            " run `flattr expire` once their claim window has passed, then upgrade")


def downgrade() -> None:
    raise NotImplementedError("0002 is not reversible: the per-flattr states are gone")
