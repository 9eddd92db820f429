"""SOP record 2: incoming items, watermarks, sweeps, forwards.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "sweeps",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.String(250)),
        sa.Column("slot", sa.String(20)),
        sa.Column("sop_sweep", sa.Boolean, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("ended_at", sa.DateTime),
        sa.Column("channels", sa.JSON),
        sa.Column("counts", sa.JSON),
        sa.Column("errors", sa.JSON),
        sa.Column("status", sa.String(20), nullable=False),
    )
    op.create_table(
        "incoming_items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("platform_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("author", sa.Text),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("thread_id", sa.String(200)),
        sa.Column("parent_id", sa.String(200)),
        sa.Column("post_ref", sa.String(200)),
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id")),
        sa.Column("raw", sa.JSON),
        sa.Column("seen_at", sa.DateTime, nullable=False),
        sa.Column("sweep_id", sa.Integer, sa.ForeignKey("sweeps.id")),
        sa.Column("bidang", sa.String(50)),
        sa.Column("spam", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("reasons", sa.JSON),
        sa.UniqueConstraint("channel", "platform_id", name="uq_incoming_channel_platform_id"),
    )
    op.create_table(
        "watermarks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("account", sa.String(200), nullable=False),
        sa.Column("value", sa.Text),
        sa.Column("sweep_id", sa.Integer, sa.ForeignKey("sweeps.id")),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_watermarks_channel_account", "watermarks", ["channel", "account"])
    op.create_table(
        "forwards",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("item_id", sa.Integer, sa.ForeignKey("incoming_items.id"), nullable=False),
        sa.Column("bidang", sa.String(50), nullable=False),
        sa.Column("sweep_id", sa.Integer, sa.ForeignKey("sweeps.id")),
        sa.Column("via", sa.String(50), nullable=False),
        sa.Column("forwarded_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("item_id", "bidang", name="uq_forward_item_bidang"),
    )


def downgrade() -> None:
    op.drop_table("forwards")
    op.drop_table("watermarks")
    op.drop_table("incoming_items")
    op.drop_table("sweeps")
