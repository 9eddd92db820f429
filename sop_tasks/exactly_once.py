"""One external write, exactly once, and never without its approvals — for uploads, updates, replies.

The discipline (DESIGN.md, style rule 6) in one place: a settled result is never repeated; the
approval gate (:mod:`sop_tasks.approval_gate`) is asked right before the write; the intent is
recorded before the platform is called; an attempt that finds an earlier intent asks the
platform for that attempt's result before writing again; the outcome is settled once.

What is recorded where is a :class:`ResultLog`: :class:`ChannelResults` (record 1,
``channel_results`` + step events) for uploads and updates, :class:`ReplyResults` (record 3,
``reply_results`` + follow-up events) for replies. Errors are the product's own
(:mod:`sop_tasks.errors`); the Airflow adapter only maps them to fail / retry / reschedule.
No Airflow imports here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sop_tasks.channels.base import PublishResult
from sop_tasks.errors import ApprovalMissingError, ChannelError
from sop_tasks.followup import EVENT_ERROR, EVENT_POSTED, EVENT_REFUSED, FollowUps
from sop_tasks.records.kinds import FINAL_RESULTS, ChannelAction, ResultStatus, StepEventKind
from sop_tasks.records.ledger import Ledger

log = logging.getLogger(__name__)
W = TypeVar("W")


@dataclass(frozen=True)
class Settled:
    """A write's settled outcome, as the records hold it."""

    mode: str
    status: str
    post_id: str | None
    url: str | None


class ResultLog(Protocol):
    """Where one write's intent, outcome and any refusal are recorded (append only)."""

    key: str  # the idempotency key: the same for every attempt of this write

    def settled(self) -> Settled | None:
        """The earlier attempt's settled outcome, if any (then nothing is written again)."""
        ...

    def attempted(self) -> bool:
        """Whether an earlier attempt recorded its intent (it may have reached the platform)."""
        ...

    def intent(self, mode: str) -> None: ...

    def failed(self, mode: str, message: str) -> None: ...

    def done(self, result: PublishResult, started: datetime) -> None: ...

    def refused(self, message: str) -> None:
        """The gate refused the write: recorded so records and run notes show it."""
        ...


def write_once(
    log_: ResultLog,
    *,
    gate: Callable[[], None],
    writer: Callable[[], W],
    attempt: Callable[[W, str, bool], PublishResult],
) -> tuple[Settled, PublishResult | None]:
    """Do one external write exactly once; returns (settled outcome, the new result or None).

    ``gate()`` raises :class:`ApprovalMissingError` when the write is not approved: it is recorded
    through ``log_.refused`` and raised again — the platform is never called. ``writer()`` looks
    the channel's connection up (live client or outbox); ``attempt(writer, key, retrying)`` writes.
    """
    done = log_.settled()
    if done is not None:
        return done, None
    try:
        gate()
    except ApprovalMissingError as exc:
        log_.refused(str(exc))
        raise
    w = writer()
    mode = str(getattr(w, "mode", "outbox"))
    started = datetime.now(UTC)
    retrying = log_.attempted()
    log_.intent(mode)
    try:
        result = attempt(w, log_.key, retrying)
    except ChannelError as exc:
        log_.failed(mode, str(exc))
        raise
    log_.done(result, started)
    return Settled(result.mode, result.status, result.post_id, result.url), result


class ChannelResults:
    """Record 1: one channel of a submission (upload, update), plus its step event."""

    def __init__(
        self,
        ledger: Ledger,
        submission_id: int,
        channel: str,
        *,
        key: str,
        step_no: int,
        action: ChannelAction,
        actor: str | None,
        refusal_submission_id: int | None = None,
        own_key_only: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.ledger, self.submission_id, self.channel = ledger, submission_id, channel
        # A second write of the same channel (an outbox upload released live) has its own key:
        # only its own rows decide whether it settled or was attempted, not the earlier upload's.
        self.own_key_only = own_key_only
        self.extra = dict(extra or {})  # more detail for the step events (e.g. the releasing run)
        self.key, self.step_no, self.action, self.actor = key, step_no, action, actor
        # A refusal is recorded on the submission of the run that tried to write (an edited XCom
        # may name another one, whose records must not change).
        self.refusal_submission_id = refusal_submission_id or submission_id

    def _rows(self) -> list[Any]:
        return [
            r
            for r in self.ledger.channel_results(self.submission_id)
            if r.channel == self.channel and (not self.own_key_only or r.idempotency_key == self.key)
        ]

    def settled(self) -> Settled | None:
        done = next((r for r in reversed(self._rows()) if r.status in FINAL_RESULTS), None)
        return None if done is None else Settled(done.mode, done.status, done.post_id, done.url)

    def attempted(self) -> bool:
        return any(r.status == ResultStatus.INTENT for r in self._rows())

    def intent(self, mode: str) -> None:
        self.ledger.add_channel_result(
            self.submission_id,
            self.channel,
            mode=mode,
            status=ResultStatus.INTENT,
            idempotency_key=self.key,
            action=self.action,
        )

    def failed(self, mode: str, message: str) -> None:
        self.ledger.add_channel_result(
            self.submission_id,
            self.channel,
            mode=mode,
            status=ResultStatus.ERROR,
            idempotency_key=self.key,
            message=message,
            action=self.action,
        )

    def done(self, result: PublishResult, started: datetime) -> None:
        self.ledger.add_channel_result(
            self.submission_id,
            self.channel,
            mode=result.mode,
            status=result.status,
            idempotency_key=self.key,
            post_id=result.post_id,
            url=result.url,
            payload_hash=result.payload_hash,
            action=self.action,
        )
        self.ledger.add_event(
            self.submission_id,
            self.step_no,
            result.status,
            actor=self.actor,
            started_at=started,
            ended_at=datetime.now(UTC),
            detail={
                **self.extra,
                "channel": self.channel,
                "mode": result.mode,
                "url": result.url,
                "action": self.action,
            },
        )

    def refused(self, message: str) -> None:
        self.ledger.add_event(
            self.refusal_submission_id,
            self.step_no,
            StepEventKind.REFUSED,
            actor=self.actor,
            reason=message,
            ended_at=datetime.now(UTC),
            detail={
                **self.extra,
                "channel": self.channel,
                "action": self.action,
                "submission_id": self.submission_id,
            },
        )


class ReplyResults:
    """Record 3: the reply to one incoming item (step 9), plus its follow-up events."""

    def __init__(self, store: FollowUps, item_id: int, channel: str, bidang: str, *, key: str) -> None:
        self.store, self.item_id, self.channel, self.bidang, self.key = store, item_id, channel, bidang, key

    def settled(self) -> Settled | None:
        done = next((r for r in self.store.reply_results(self.item_id) if r.status in FINAL_RESULTS), None)
        return None if done is None else Settled(done.mode, done.status, done.post_id, done.url)

    def attempted(self) -> bool:
        return any(r.status == ResultStatus.INTENT for r in self.store.reply_results(self.item_id))

    def intent(self, mode: str) -> None:
        self.store.add_reply_result(
            self.item_id, self.channel, mode=mode, status=ResultStatus.INTENT, idempotency_key=self.key
        )

    def failed(self, mode: str, message: str) -> None:
        self.store.add_reply_result(
            self.item_id,
            self.channel,
            mode=mode,
            status=ResultStatus.ERROR,
            idempotency_key=self.key,
            message=message,
        )
        self.store.add(self.item_id, self.bidang, EVENT_ERROR, text=message)

    def done(self, result: PublishResult, started: datetime) -> None:
        self.store.add_reply_result(
            self.item_id,
            self.channel,
            mode=result.mode,
            status=result.status,
            idempotency_key=self.key,
            post_id=result.post_id,
            url=result.url,
        )
        self.store.add(
            self.item_id,
            self.bidang,
            EVENT_POSTED,
            detail={"mode": result.mode, "url": result.url, "post_id": result.post_id},
        )

    def refused(self, message: str) -> None:
        self.store.add(self.item_id, self.bidang, EVENT_REFUSED, text=message)
