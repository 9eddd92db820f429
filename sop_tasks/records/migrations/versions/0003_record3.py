"""SOP record 3 (follow-up) and content versions for updates (step 10).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "follow_up_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("item_id", sa.Integer, sa.ForeignKey("incoming_items.id"), nullable=False),
        sa.Column("bidang", sa.String(50), nullable=False),
        sa.Column("event", sa.String(30), nullable=False),
        sa.Column("actor", sa.String(250)),
        sa.Column("text", sa.Text),
        sa.Column("target_bidang", sa.String(50)),
        sa.Column("ppid", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("deadline", sa.Date),
        sa.Column("run_id", sa.String(250)),
        sa.Column("detail", sa.JSON),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_follow_up_events_item_id", "follow_up_events", ["item_id"])
    op.create_table(
        "reply_results",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("item_id", sa.Integer, sa.ForeignKey("incoming_items.id"), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("idempotency_key", sa.String(100), nullable=False),
        sa.Column("post_id", sa.String(100)),
        sa.Column("url", sa.Text),
        sa.Column("message", sa.Text),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_reply_results_item_id", "reply_results", ["item_id"])
    op.create_table(
        "content_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("update_submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("content", sa.JSON, nullable=False),
        sa.Column("diff", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("update_submission_id", name="uq_version_update_submission"),
    )


def downgrade() -> None:
    op.drop_table("content_versions")
    op.drop_table("reply_results")
    op.drop_table("follow_up_events")
