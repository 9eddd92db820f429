"""Tamper-evident records: one hash chain over every record row (sop_tasks.records.chain); the rows
already recorded are sealed now, table by table in id order.

Revision ID: 0005_record_chain
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from sop_tasks.records.chain import CHAIN_TABLE, seal_all

revision = "0005_record_chain"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        CHAIN_TABLE,
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False
        ),
        sa.Column("tbl", sa.String(64), nullable=False),
        sa.Column("row_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
        sa.Column("op", sa.String(10), nullable=False),
        sa.Column("row_hash", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_record_chain_tbl_row", CHAIN_TABLE, ["tbl", "row_id"])
    seal_all(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_record_chain_tbl_row", table_name=CHAIN_TABLE)
    op.drop_table(CHAIN_TABLE)
