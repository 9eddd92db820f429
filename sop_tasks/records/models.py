"""SQLAlchemy models of the SOP records ("pencatatan dan pendataan").

Record 1 — data/informasi yang diunggah — is ``submissions`` + ``step_events`` +
``channel_results``. The pipeline only ever INSERTs: a submission's status is derived from its
events, so the history of who did what, when and why is never overwritten.
Times are stored as naive UTC; :mod:`sop_tasks.records.ledger` converts to WIB for people.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates

from sop_tasks.records.kinds import ChannelAction, ResultStatus, StepEventKind, checked


class Base(DeclarativeBase):
    pass


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("dag_id", "run_id", name="uq_submission_run"),
        Index("ix_submissions_created_at", "created_at"),  # a month's submissions (migration 0007)
    )

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

    @validates("event")
    def _event(self, key: str, value: str) -> str | None:
        return checked(StepEventKind, value, "step_events.event")


class ChannelResult(Base):
    __tablename__ = "channel_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    mode: Mapped[str] = mapped_column(String(10))  # outbox | live
    status: Mapped[str] = mapped_column(String(20))  # ResultStatus: intent|published|outbox|error|refused
    # ChannelAction: publish (None in rows older than 0004) | update (in place) | reply (X correction)
    # | repost
    action: Mapped[str | None] = mapped_column(String(20))
    idempotency_key: Mapped[str] = mapped_column(String(100), index=True)
    post_id: Mapped[str | None] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(Text)
    payload_hash: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)

    @validates("status")
    def _status(self, key: str, value: str) -> str | None:
        return checked(ResultStatus, value, "channel_results.status")

    @validates("action")
    def _action(self, key: str, value: str | None) -> str | None:
        return checked(ChannelAction, value, "channel_results.action")


class Sweep(Base):
    """One monitoring sweep (SOP step 6): the proof that it happened, and what it found."""

    __tablename__ = "sweeps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str | None] = mapped_column(String(250))
    slot: Mapped[str | None] = mapped_column(String(20))  # pagi | siang | sore | None (extra)
    sop_sweep: Mapped[bool] = mapped_column(Boolean)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    channels: Mapped[list | None] = mapped_column(JSON)
    counts: Mapped[dict | None] = mapped_column(JSON)
    errors: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))  # running | ok | partial | failed


class IncomingItemRow(Base):
    """Record 2 — data/informasi yang masuk: every item once, with its raw payload."""

    __tablename__ = "incoming_items"
    __table_args__ = (
        UniqueConstraint("channel", "platform_id", name="uq_incoming_channel_platform_id"),
        # a month's items and their counts (migration 0007)
        Index("ix_incoming_items_seen_at", "seen_at", "channel", "bidang", "spam"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    platform_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    author: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    url: Mapped[str | None] = mapped_column(Text)
    thread_id: Mapped[str | None] = mapped_column(String(200))
    parent_id: Mapped[str | None] = mapped_column(String(200))
    post_ref: Mapped[str | None] = mapped_column(String(200))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    raw: Mapped[dict | None] = mapped_column(JSON)
    seen_at: Mapped[datetime] = mapped_column(DateTime)
    sweep_id: Mapped[int | None] = mapped_column(ForeignKey("sweeps.id"))
    bidang: Mapped[str | None] = mapped_column(String(50))
    spam: Mapped[bool] = mapped_column(Boolean, default=False)
    reasons: Mapped[list | None] = mapped_column(JSON)


class Watermark(Base):
    """Per channel and account, how far collection has read (latest row wins; append only)."""

    __tablename__ = "watermarks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    account: Mapped[str] = mapped_column(String(200))
    value: Mapped[str | None] = mapped_column(Text)
    sweep_id: Mapped[int | None] = mapped_column(ForeignKey("sweeps.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)


class Forward(Base):
    """SOP step 7: an item forwarded to a bidang (and so awaiting its follow-up)."""

    __tablename__ = "forwards"
    __table_args__ = (UniqueConstraint("item_id", "bidang", name="uq_forward_item_bidang"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("incoming_items.id"))
    bidang: Mapped[str] = mapped_column(String(50))
    sweep_id: Mapped[int | None] = mapped_column(ForeignKey("sweeps.id"))
    via: Mapped[str] = mapped_column(String(50))
    forwarded_at: Mapped[datetime] = mapped_column(DateTime)


class FollowUpEvent(Base):
    """Record 3 — data/informasi tindak lanjut: who decided what about an item, and when."""

    __tablename__ = "follow_up_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("incoming_items.id"), index=True)
    bidang: Mapped[str] = mapped_column(String(50))
    event: Mapped[str] = mapped_column(String(30))  # opened|reply|no_reply|reroute|reminded|posted|error
    actor: Mapped[str | None] = mapped_column(String(250))
    text: Mapped[str | None] = mapped_column(Text)
    target_bidang: Mapped[str | None] = mapped_column(String(50))
    ppid: Mapped[bool] = mapped_column(Boolean, default=False)
    deadline: Mapped[date | None] = mapped_column(Date)
    run_id: Mapped[str | None] = mapped_column(String(250))
    detail: Mapped[dict | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(DateTime)


class ReplyResult(Base):
    """SOP step 9: the reply posted where the message came from (intent first, like uploads)."""

    __tablename__ = "reply_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("incoming_items.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    mode: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))  # ResultStatus: intent|published|outbox|error|refused
    idempotency_key: Mapped[str] = mapped_column(String(100))
    post_id: Mapped[str | None] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)

    @validates("status")
    def _status(self, key: str, value: str) -> str | None:
        return checked(ResultStatus, value, "reply_results.status")


class ContentVersion(Base):
    """SOP step 10: every version of a published submission, with its diff and reason."""

    __tablename__ = "content_versions"
    __table_args__ = (
        UniqueConstraint("update_submission_id", name="uq_version_update_submission"),
        UniqueConstraint("submission_id", "version", name="uq_version_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    update_submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict] = mapped_column(JSON)
    diff: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class RoutingLabel(Base):
    """A correction of routing, as a label for the learned router (SOP step 7 learns from step 8).

    One row per correction: a *Teruskan* to another bidang, a "bukan untuk kami", a spam or
    not-spam decision, a restored spam item — with who, when, and what routing had decided.
    """

    __tablename__ = "routing_labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("incoming_items.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    bidang: Mapped[str | None] = mapped_column(String(50))  # the right bidang (None: spam or unknown)
    spam: Mapped[bool] = mapped_column(Boolean, default=False)
    kategori: Mapped[str | None] = mapped_column(String(50))
    not_bidang: Mapped[str | None] = mapped_column(String(50))  # "bukan untuk kami": not this bidang
    source: Mapped[str] = mapped_column(String(30))  # teruskan | bukan_untuk_kami | spam | bukan_spam
    previous: Mapped[str | None] = mapped_column(String(60))  # what routing had decided
    actor: Mapped[str] = mapped_column(String(250))
    at: Mapped[datetime] = mapped_column(DateTime)


class RoutingModel(Base):
    """A version of the learned router: where its file is, its digest, how it scored, its status."""

    __tablename__ = "routing_models"
    __table_args__ = (UniqueConstraint("version", name="uq_routing_model_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(80))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))  # live | replaced | rejected
    examples: Mapped[int] = mapped_column(Integer)
    corrections: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict | None] = mapped_column(JSON)  # frozen test part (and the live one's)
    note: Mapped[str | None] = mapped_column(Text)
    trained_at: Mapped[datetime] = mapped_column(DateTime)
