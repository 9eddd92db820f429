"""Routing corrections as labels, and the versions of the learned router (SOP step 7).

Revision ID: 0006
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005_record_chain"


def upgrade() -> None:
    op.create_table(
        "routing_labels",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("item_id", sa.Integer, sa.ForeignKey("incoming_items.id")),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("bidang", sa.String(50)),
        sa.Column("spam", sa.Boolean, nullable=False),
        sa.Column("kategori", sa.String(50)),
        sa.Column("not_bidang", sa.String(50)),
        sa.Column("source", sa.String(30), nullable=False),
        sa.Column("previous", sa.String(60)),
        sa.Column("actor", sa.String(250), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_routing_labels_item_id", "routing_labels", ["item_id"])
    op.create_table(
        "routing_models",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.String(80), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("examples", sa.Integer, nullable=False),
        sa.Column("corrections", sa.Integer, nullable=False),
        sa.Column("metrics", sa.JSON),
        sa.Column("note", sa.Text),
        sa.UniqueConstraint("version", name="uq_routing_model_version"),
        sa.Column("trained_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("routing_models")
    op.drop_index("ix_routing_labels_item_id", table_name="routing_labels")
    op.drop_table("routing_labels")
