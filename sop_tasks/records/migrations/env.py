"""Alembic environment for the SOP records database (run through sop_tasks.records.db)."""

from alembic import context

from sop_tasks.records.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
