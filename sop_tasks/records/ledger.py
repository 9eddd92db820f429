"""The ledger: append-only writes and the read models behind ``sop records``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sop_tasks.errors import NotFoundError, VersionTaken
from sop_tasks.records.db import get_engine
from sop_tasks.records.kinds import FINAL_RESULTS, ResultStatus, StepEventKind
from sop_tasks.records.models import ChannelResult, ContentVersion, StepEvent, Submission
from sop_tasks.sop import STEPS, StepKind

WIB = ZoneInfo("Asia/Jakarta")

# Status words staff see in the records.
STATUS_INVALID = "tidak valid"
STATUS_RETURNED = "dikembalikan"
STATUS_WAITING = "menunggu verifikasi"
STATUS_APPROVED = "disetujui"
STATUS_PUBLISHED = "diunggah"
STATUS_UPDATED = "diperbarui"
STATUS_OUTBOX = "outbox"
STATUS_FAILED = "gagal unggah"
STATUS_REFUSED = "ditolak: persetujuan tidak lengkap"  # the approval gate refused a channel write

FINAL_CHANNEL = FINAL_RESULTS


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def to_utc(dt: datetime | None) -> datetime | None:
    """Aware → naive UTC for storage; naive values are taken as UTC already."""
    if dt is None or dt.tzinfo is None:
        return dt
    return dt.astimezone(UTC).replace(tzinfo=None)


def to_wib(dt: datetime | None) -> datetime | None:
    return None if dt is None else dt.replace(tzinfo=UTC).astimezone(WIB)


@dataclass(frozen=True)
class StepSummary:
    step: int
    label: str
    actor: str | None
    outcome: str
    seconds: float | None
    standard_seconds: int | None
    reason: str | None = None

    @property
    def over_standard(self) -> bool:
        return bool(self.seconds and self.standard_seconds and self.seconds > self.standard_seconds)


@dataclass(frozen=True)
class LivePost:
    channel: str
    mode: str  # live | outbox
    post_id: str | None
    url: str | None
    submission_id: int  # the upload (or repost) that made it


class Ledger:
    def __init__(self, engine: Engine | str | None = None) -> None:
        self.engine = engine if isinstance(engine, Engine) else get_engine(engine)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # ---- writes (append only) ------------------------------------------------------------
    def open_submission(
        self,
        *,
        dag_id: str,
        run_id: str,
        kind: str,
        title: str,
        content: dict[str, Any],
        content_hash: str | None = None,
        revision_of: str | None = None,
        submitted_by: str | None = None,
    ) -> int:
        """Record a submission once per DAG run; a retried task gets the same id back."""
        existing = self.submission_id(dag_id, run_id)
        if existing is not None:
            return existing
        with self.session() as s:
            sub = Submission(
                dag_id=dag_id,
                run_id=run_id,
                kind=kind,
                title=title,
                content=content,
                content_hash=content_hash,
                revision_of=revision_of,
                submitted_by=submitted_by,
                created_at=utcnow(),
            )
            s.add(sub)
            try:
                s.commit()
            except IntegrityError:
                s.rollback()
                found = self.submission_id(dag_id, run_id)
                assert found is not None
                return found
            return sub.id

    def add_event(
        self,
        submission_id: int,
        step_no: int,
        event: str,
        *,
        actor: str | None = None,
        reason: str | None = None,
        started_at: datetime | None = None,
        ended_at: datetime | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        with self.session() as s:
            s.add(
                StepEvent(
                    submission_id=submission_id,
                    step=step_no,
                    event=event,
                    actor=actor,
                    reason=reason,
                    started_at=to_utc(started_at),
                    ended_at=to_utc(ended_at),
                    detail=detail,
                    recorded_at=utcnow(),
                )
            )
            s.commit()

    def add_channel_result(
        self,
        submission_id: int,
        channel: str,
        *,
        mode: str,
        status: str,
        idempotency_key: str,
        post_id: str | None = None,
        url: str | None = None,
        payload_hash: str | None = None,
        message: str | None = None,
        action: str | None = None,
    ) -> None:
        if status == "published" and not (post_id and url):
            raise ValueError("a 'published' result needs the platform's post id and URL")
        with self.session() as s:
            s.add(
                ChannelResult(
                    submission_id=submission_id,
                    channel=channel,
                    mode=mode,
                    status=status,
                    idempotency_key=idempotency_key,
                    post_id=post_id,
                    url=url,
                    payload_hash=payload_hash,
                    message=message,
                    action=action,
                    recorded_at=utcnow(),
                )
            )
            s.commit()

    def next_version(self, submission_id: int) -> int:
        """The number the next proposed version of a published submission gets (the upload is 1)."""
        return 1 + max((v.version for v in self.content_versions(submission_id)), default=1)

    def add_content_version(
        self,
        submission_id: int,
        update_submission_id: int,
        *,
        version: int,
        content: dict[str, Any],
        diff: str,
        reason: str,
    ) -> ContentVersion:
        """Record the proposed version an update run carries (once per update run; retry-safe).

        Raises :class:`VersionTaken` when another update took ``version`` in the meantime.
        """
        existing = self.content_version(update_submission_id)
        if existing is not None:
            return existing
        with self.session() as s:
            row = ContentVersion(
                submission_id=submission_id,
                update_submission_id=update_submission_id,
                version=version,
                content=content,
                diff=diff,
                reason=reason,
                created_at=utcnow(),
            )
            s.add(row)
            try:
                s.commit()
            except IntegrityError:
                s.rollback()
                found = self.content_version(update_submission_id)
                if found is None:
                    raise VersionTaken(submission_id, version) from None
                return found
            return row

    # ---- reads ---------------------------------------------------------------------------
    def submission_id(self, dag_id: str, run_id: str) -> int | None:
        with self.session() as s:
            return s.scalar(
                select(Submission.id).where(Submission.dag_id == dag_id, Submission.run_id == run_id)
            )

    def submission(self, submission_id: int) -> Submission | None:
        with self.session() as s:
            return s.get(Submission, submission_id)

    def events(self, submission_id: int) -> list[StepEvent]:
        with self.session() as s:
            return list(
                s.scalars(
                    select(StepEvent).where(StepEvent.submission_id == submission_id).order_by(StepEvent.id)
                )
            )

    def channel_results(self, submission_id: int) -> list[ChannelResult]:
        with self.session() as s:
            return list(
                s.scalars(
                    select(ChannelResult)
                    .where(ChannelResult.submission_id == submission_id)
                    .order_by(ChannelResult.id)
                )
            )

    def final_result(self, submission_id: int, channel: str) -> ChannelResult | None:
        """The channel's settled result (published or outbox), if any."""
        for r in reversed(self.channel_results(submission_id)):
            if r.channel == channel and r.status in FINAL_CHANNEL:
                return r
        return None

    def content_version(self, update_submission_id: int) -> ContentVersion | None:
        with self.session() as s:
            return s.scalar(
                select(ContentVersion).where(ContentVersion.update_submission_id == update_submission_id)
            )

    def update_of(self, update_id: int) -> int | None:
        """The submission an update (even a refused one, which has no version) was meant for."""
        version = self.content_version(update_id)
        if version is not None:
            return version.submission_id
        sub = self.submission(update_id)
        raw = sub.revision_of if sub is not None and sub.kind == "update" else None
        return int(raw) if raw and raw.isdigit() else None

    def content_versions(self, submission_id: int) -> list[ContentVersion]:
        """Every proposed version of a published submission, oldest first (applied or not)."""
        with self.session() as s:
            return list(
                s.scalars(
                    select(ContentVersion)
                    .where(ContentVersion.submission_id == submission_id)
                    .order_by(ContentVersion.version, ContentVersion.id)
                )
            )

    def live_posts(self, submission_id: int) -> dict[str, LivePost]:
        """Per channel, the post that is live now for a published submission.

        The original upload's post, unless a later applied update reposted it (X delete and
        repost); an update in place or a correction reply leaves the same post live.
        """
        posts: dict[str, LivePost] = {}
        for r in self.channel_results(submission_id):
            if r.status in FINAL_CHANNEL:
                posts[r.channel] = LivePost(r.channel, r.mode, r.post_id, r.url, submission_id)
        for v in self.content_versions(submission_id):
            for r in self.channel_results(v.update_submission_id):
                if r.status in FINAL_CHANNEL and r.action == "repost":
                    posts[r.channel] = LivePost(r.channel, r.mode, r.post_id, r.url, v.update_submission_id)
        return posts

    def live_version(self, submission_id: int) -> tuple[int, dict[str, Any]]:
        """(version number, content) of the newest version applied on any channel."""
        live = self.live_contents(submission_id)
        if live:
            return max(live.values(), key=lambda vc: vc[0])
        sub = self.submission(submission_id)
        assert sub is not None
        return 1, sub.content  # never uploaded

    def live_contents(self, submission_id: int) -> dict[str, tuple[int, dict[str, Any]]]:
        """Per channel the upload went to: (version number, content) of what that channel shows.

        An update limited to some channels leaves the others on their earlier version.
        """
        sub = self.submission(submission_id)
        if sub is None:
            raise NotFoundError.submission(submission_id)
        live = {
            r.channel: (1, sub.content)
            for r in self.channel_results(submission_id)
            if r.status in FINAL_CHANNEL
        }
        for v in self.content_versions(submission_id):
            for r in self.channel_results(v.update_submission_id):
                if r.status in FINAL_CHANNEL:
                    live[r.channel] = (v.version, v.content)
        return live

    def pending_verifications(self, older_than: datetime) -> list[tuple[Submission, StepEvent]]:
        """Verification requests still unanswered that were made before ``older_than`` (UTC)."""
        cutoff = to_utc(older_than)
        assert cutoff is not None
        with self.session() as s:
            rows = s.execute(
                select(Submission, StepEvent)
                .join(StepEvent, StepEvent.submission_id == Submission.id)
                .where(StepEvent.event == "requested")
            ).all()
            answered = {
                (e.submission_id, e.step)
                for e in s.scalars(
                    select(StepEvent).where(StepEvent.event.in_(("approved", "returned", "answered")))
                )
            }
        out = []
        for sub, ev in rows:
            if (sub.id, ev.step) in answered:
                continue
            if ev.started_at and ev.started_at <= cutoff:
                out.append((sub, ev))
        return out

    def summary_for_run(self, dag_id: str, run_id: str) -> dict[str, Any] | None:
        sid = self.submission_id(dag_id, run_id)
        return None if sid is None else self.summary_of(sid)

    def summary_of(self, submission_id: int) -> dict[str, Any] | None:
        sub = self.submission(submission_id)
        if sub is None:
            return None
        return summarize(
            sub,
            self.events(submission_id),
            self.channel_results(submission_id),
            self.content_version(submission_id),
        )

    def summaries(self) -> list[dict[str, Any]]:
        """One dict per submission: what ``sop records list --json`` prints."""
        with self.session() as s:
            subs = list(s.scalars(select(Submission).order_by(Submission.id)))
            events: dict[int, list[StepEvent]] = {}
            for e in s.scalars(select(StepEvent).order_by(StepEvent.id)):
                events.setdefault(e.submission_id, []).append(e)
            results: dict[int, list[ChannelResult]] = {}
            for r in s.scalars(select(ChannelResult).order_by(ChannelResult.id)):
                results.setdefault(r.submission_id, []).append(r)
            versions = {v.update_submission_id: v for v in s.scalars(select(ContentVersion))}
        return [
            summarize(sub, events.get(sub.id, []), results.get(sub.id, []), versions.get(sub.id))
            for sub in subs
        ]


def _channels(sub: Submission, results: Iterable[ChannelResult]) -> dict[str, dict[str, Any]]:
    chosen = list((sub.content or {}).get("channels") or [])
    out: dict[str, dict[str, Any]] = {c: {"status": "belum", "mode": None} for c in chosen}
    for r in results:  # later rows win; a settled result is never replaced by an intent
        cur = out.get(r.channel)
        if cur and cur["status"] in FINAL_CHANNEL and r.status == "intent":
            continue
        out[r.channel] = {
            "status": r.status,
            "mode": r.mode,
            "post_id": r.post_id,
            "url": r.url,
            "payload_hash": r.payload_hash,
        }
        if r.action and r.action != "publish":  # step 10: update in place, correction reply, repost
            out[r.channel]["action"] = r.action
        if r.message:
            out[r.channel]["message"] = r.message
    return out


def _seconds(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else max(0.0, (b - a).total_seconds())


def step_summaries(events: list[StepEvent]) -> list[StepSummary]:
    out: list[StepSummary] = []
    by_step: dict[int, list[StepEvent]] = {}
    for e in events:
        by_step.setdefault(e.step, []).append(e)
    for st in STEPS:
        evs = by_step.get(st.number)
        if not evs:
            continue
        decisive = [
            e for e in evs if e.event not in ("requested", "answered", "reminded", "started", "scheduled")
        ]
        starts = [e.started_at for e in evs if e.started_at]
        ends = [e.ended_at for e in decisive if e.ended_at]
        last = decisive[-1] if decisive else evs[-1]
        out.append(
            StepSummary(
                step=st.number,
                label=st.label,
                actor=last.actor,
                outcome=last.event,
                seconds=_seconds(min(starts) if starts else None, max(ends) if ends else None),
                standard_seconds=st.standard_seconds,
                reason=last.reason,
            )
        )
    return out


def status_of(sub: Submission, events: list[StepEvent], channels: dict[str, dict[str, Any]]) -> str:
    kinds = {e.event for e in events}
    if StepEventKind.INVALID in kinds:
        return STATUS_INVALID
    statuses = [c["status"] for c in channels.values()]
    if StepEventKind.REFUSED in kinds and not (statuses and all(s in FINAL_CHANNEL for s in statuses)):
        return STATUS_REFUSED
    if StepEventKind.RETURNED in kinds:
        return STATUS_RETURNED
    if statuses and all(s in FINAL_CHANNEL for s in statuses):
        if not any(s == ResultStatus.PUBLISHED for s in statuses):
            return STATUS_OUTBOX
        return STATUS_UPDATED if sub.kind == "update" else STATUS_PUBLISHED
    if ResultStatus.ERROR in statuses:  # the stored word is "error" (documented as failed)
        return STATUS_FAILED
    approved = {e.step for e in events if e.event == "approved"}
    verify_steps = {s.number for s in STEPS if s.kind is StepKind.VERIFY}
    if verify_steps <= approved:
        return STATUS_APPROVED
    return STATUS_WAITING


def _refusals(events: Iterable[StepEvent], channels: dict[str, dict[str, Any]]) -> None:
    """A channel the approval gate refused (and that has not settled since) shows the refusal."""
    for e in events:
        if e.event != StepEventKind.REFUSED:
            continue
        ch = str((e.detail or {}).get("channel") or "")
        cur = channels.get(ch)
        if cur is not None and cur["status"] not in FINAL_CHANNEL:
            cur.update({"status": STATUS_REFUSED, "message": e.reason})


def summarize(
    sub: Submission,
    events: list[StepEvent],
    results: list[ChannelResult],
    version: ContentVersion | None = None,
) -> dict[str, Any]:
    channels = _channels(sub, results)
    _refusals(events, channels)
    steps = step_summaries(events)
    created = to_wib(sub.created_at)
    update = None
    if version is not None:
        update = {
            "of": version.submission_id,
            "version": version.version,
            "reason": version.reason,
            "diff": version.diff,
        }
    return {
        "id": sub.id,
        "dag_id": sub.dag_id,
        "run_id": sub.run_id,
        "kind": sub.kind,
        "title": sub.title,
        "status": status_of(sub, events, channels),
        "created_at": created.isoformat() if created else None,
        "revision_of": sub.revision_of,
        "update": update,
        "steps": {
            str(x.step): {
                "label": x.label,
                "actor": x.actor,
                "outcome": x.outcome,
                "seconds": None if x.seconds is None else round(x.seconds, 1),
                "standard_seconds": x.standard_seconds,
                "over_standard": x.over_standard,
                "reason": x.reason,
            }
            for x in steps
        },
        "channels": channels,
    }
