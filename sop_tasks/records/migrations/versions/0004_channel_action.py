"""What a channel result did (publish, update in place, correction reply, repost); one number per
version of a submission (SOP step 10).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    with op.batch_alter_table("channel_results") as batch:
        batch.add_column(sa.Column("action", sa.String(20)))
    with op.batch_alter_table("content_versions") as batch:
        batch.create_unique_constraint("uq_version_number", ["submission_id", "version"])


def downgrade() -> None:
    with op.batch_alter_table("content_versions") as batch:
        batch.drop_constraint("uq_version_number", type_="unique")
    with op.batch_alter_table("channel_results") as batch:
        batch.drop_column("action")
