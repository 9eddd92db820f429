"""What a channel result did: publish, update in place, correction reply or repost (SOP step 10).

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


def downgrade() -> None:
    with op.batch_alter_table("channel_results") as batch:
        batch.drop_column("action")
