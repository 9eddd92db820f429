"""SQLAlchemy models of the SOP records ("pencatatan dan pendataan").

Record 1 — data/informasi yang diunggah — is ``submissions`` + ``step_events`` +
``channel_results``. The pipeline only ever INSERTs: a submission's status is derived from its
events, so the history of who did what, when and why is never overwritten.
Times are stored as naive UTC; :mod:`sop_tasks.records.ledger` converts to WIB for people.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("dag_id", "run_id", name="uq_submission_run"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dag_id: Mapped[str] = mapped_column(String(250))
    run_id: Mapped[str] = mapped_column(String(250))
    kind: Mapped[str] = mapped_column(String(20))  # publish | update
    title: Mapped[str] = mapped_column(Text)
    content: Mapped[dict] = mapped_column(JSON)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    revision_of: Mapped[str | None] = mapped_column(String(250))
    submitted_by: Mapped[str | None] = mapped_column(String(250))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class StepEvent(Base):
    __tablename__ = "step_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str | None] = mapped_column(String(250))
    reason: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    detail: Mapped[dict | None] = mapped_column(JSON)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)


class ChannelResult(Base):
    __tablename__ = "channel_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    mode: Mapped[str] = mapped_column(String(10))  # outbox | live
    status: Mapped[str] = mapped_column(String(20))  # intent | published | outbox | failed
    idempotency_key: Mapped[str] = mapped_column(String(100), index=True)
    post_id: Mapped[str | None] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(Text)
    payload_hash: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
