"""Indexes for reading one month: incoming items by when the monitoring saw them (covering the
columns the month's counts group by) and submissions by when they were made. Without them the
"Catatan SOP" summary scanned a year of incoming items (their raw payloads included) on every
cold month.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_index("ix_incoming_items_seen_at", "incoming_items", ["seen_at", "channel", "bidang", "spam"])
    op.create_index("ix_submissions_created_at", "submissions", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_submissions_created_at", table_name="submissions")
    op.drop_index("ix_incoming_items_seen_at", table_name="incoming_items")
