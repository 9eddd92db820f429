"""SOP record 1: submissions, step events, channel results.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dag_id", sa.String(250), nullable=False),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("content", sa.JSON, nullable=False),
        sa.Column("content_hash", sa.String(64)),
        sa.Column("revision_of", sa.String(250)),
        sa.Column("submitted_by", sa.String(250)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("dag_id", "run_id", name="uq_submission_run"),
    )
    op.create_table(
        "step_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("event", sa.String(30), nullable=False),
        sa.Column("actor", sa.String(250)),
        sa.Column("reason", sa.Text),
        sa.Column("started_at", sa.DateTime),
        sa.Column("ended_at", sa.DateTime),
        sa.Column("detail", sa.JSON),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_step_events_submission_id", "step_events", ["submission_id"])
    op.create_table(
        "channel_results",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("idempotency_key", sa.String(100), nullable=False),
        sa.Column("post_id", sa.String(100)),
        sa.Column("url", sa.Text),
        sa.Column("payload_hash", sa.String(64)),
        sa.Column("message", sa.Text),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_channel_results_submission_id", "channel_results", ["submission_id"])
    op.create_index("ix_channel_results_idempotency_key", "channel_results", ["idempotency_key"])


def downgrade() -> None:
    op.drop_table("channel_results")
    op.drop_table("step_events")
    op.drop_table("submissions")
