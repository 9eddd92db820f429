"""Task bodies of ``sop_publish`` (SOP steps 1 and 5): small wrappers around the domain."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sop_tasks.channels import OutboxPublisher, Publisher, PublishResult
from sop_tasks.config import CHANNEL_NAMES, OfficeConfig, load_config
from sop_tasks.content import PreparedContent, prepare
from sop_tasks.errors import ChannelError, ContentError
from sop_tasks.records.ledger import Ledger
from sop_tasks.sop import step
from sop_tasks.update import ACTION_WORDS

log = logging.getLogger(__name__)
STEP1 = step(1)
STEP5 = step(5)


def safe_name(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id)[:120]


def submission_id_from(context: Any, source_task_id: str = STEP1.task_id) -> int:
    """The submission id the run's first task returned through XCom (a small dict)."""
    data = context["ti"].xcom_pull(task_ids=source_task_id)
    return int(data["submission_id"])


def load_content(ledger: Ledger, submission_id: int) -> PreparedContent:
    sub = ledger.submission(submission_id)
    if sub is None:
        raise LookupError(f"Pengajuan {submission_id} tidak ada di catatan")
    return PreparedContent.from_json(sub.content)


def record_refusal(
    ledger: Ledger,
    exc: ContentError,
    form: dict[str, Any],
    *,
    dag_id: str,
    run_id: str,
    kind: str,
    step_no: int,
    title: str,
    revision_of: str | None,
    submitted_by: str | None,
    started: datetime,
) -> None:
    """A refused form is a submission too (status "tidak valid"), with the form and every problem."""
    sid = ledger.open_submission(
        dag_id=dag_id,
        run_id=run_id,
        kind=kind,
        title=title,
        content={"form": dict(form), "channels": []},
        revision_of=revision_of,
        submitted_by=submitted_by,
    )
    ledger.add_event(
        sid,
        step_no,
        "invalid",
        actor=submitted_by,
        reason="\n".join(exc.problems),
        started_at=started,
        ended_at=datetime.now(UTC),
    )


def identify(
    form: dict[str, Any],
    *,
    dag_id: str,
    run_id: str,
    submitted_by: str | None,
    run_started: datetime | None,
    ledger: Ledger,
    cfg: OfficeConfig | None = None,
) -> dict[str, Any]:
    """SOP step 1: validate every channel's content; record the submission either way."""
    cfg = cfg or load_config()
    started = run_started or datetime.now(UTC)
    staging = cfg.path("staging") / safe_name(run_id)
    try:
        content = prepare(form, cfg, staging)
    except ContentError as exc:
        record_refusal(
            ledger,
            exc,
            form,
            dag_id=dag_id,
            run_id=run_id,
            kind="publish",
            step_no=STEP1.number,
            title=str(form.get("title") or "(tanpa judul)"),
            revision_of=str(form.get("revision_of") or "") or None,
            submitted_by=submitted_by,
            started=started,
        )
        raise
    sid = ledger.open_submission(
        dag_id=dag_id,
        run_id=run_id,
        kind="publish",
        title=content.title,
        content=content.to_json(),
        content_hash=content.content_hash(),
        revision_of=content.revision_of,
        submitted_by=submitted_by,
    )
    ledger.add_event(
        sid, STEP1.number, "valid", actor=submitted_by, started_at=started, ended_at=datetime.now(UTC)
    )
    log.info(
        "Pengajuan %s valid untuk kanal %s dengan %d media",
        sid,
        ", ".join(content.channels),
        len(content.media),
    )
    return {"submission_id": sid, "channels": list(content.channels)}


def idempotency_key(submission_id: int, dag_id: str, run_id: str, channel: str) -> str:
    """Unique per submission and channel across ledgers and machines (the run id is in it)."""
    digest = hashlib.sha256(f"{dag_id}/{run_id}/{channel}".encode()).hexdigest()[:12]
    return f"sop{submission_id}-{channel}-{digest}"


CONN_IDS = {"website": "sop_website", "instagram": "sop_instagram", "twitter": "sop_twitter"}


def connected(channel: str) -> bool:
    """Whether the channel's connection exists (so it publishes live, not to the outbox)."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        BaseHook.get_connection(CONN_IDS[channel])
    except AirflowNotFoundException:
        return False
    return True


def publisher_for(channel: str, cfg: OfficeConfig) -> Publisher:
    """The channel's live publisher when its connection exists; otherwise outbox mode."""
    from sop_tasks.airflow import hooks

    if not connected(channel):
        return OutboxPublisher(channel, cfg.path("outbox"))
    return hooks.hook_for(channel, CONN_IDS[channel], cfg).get_conn()


def publish_channel(
    channel: str, submission_id: int, *, ledger: Ledger, cfg: OfficeConfig | None = None
) -> dict[str, Any]:
    """SOP step 5 for one channel, exactly once.

    A settled result is never repeated (retry, cleared task, cleared run). The intent is recorded
    before the external write; an attempt that finds an earlier intent first asks the platform
    for the post that attempt may have made, and publishes only if there is none.
    """
    sub = ledger.submission(submission_id)
    if sub is None:
        raise LookupError(f"Pengajuan {submission_id} tidak ada di catatan")
    content = PreparedContent.from_json(sub.content)
    name = CHANNEL_NAMES[channel]

    def attempt(publisher: Publisher, key: str, retrying: bool) -> PublishResult:
        result = publisher.find_existing(content, key) if retrying else None
        if result is not None:
            log.info(
                "%s: unggahan dari percobaan sebelumnya ditemukan (%s); tidak diunggah lagi", name, result.url
            )
            return result
        return publisher.publish(content, key)

    return run_exactly_once(
        channel, submission_id, ledger=ledger, cfg=cfg or load_config(), step_no=STEP5.number, attempt=attempt
    )


def run_exactly_once(
    channel: str,
    submission_id: int,
    *,
    ledger: Ledger,
    cfg: OfficeConfig,
    step_no: int,
    attempt: Callable[[Publisher, str, bool], PublishResult],
    action: str = "publish",
) -> dict[str, Any]:
    """One external write for (submission, channel), recorded intent first and settled once.

    ``attempt(publisher, key, retrying)`` does the write; ``retrying`` is true when an earlier
    attempt recorded its intent and may have reached the platform, so it must look first.
    """
    sub = ledger.submission(submission_id)
    if sub is None:
        raise LookupError(f"Pengajuan {submission_id} tidak ada di catatan")
    key = idempotency_key(submission_id, sub.dag_id, sub.run_id, channel)
    name = CHANNEL_NAMES[channel]
    done = ledger.final_result(submission_id, channel)
    if done is not None:
        log.info("%s sudah selesai sebelumnya (%s): tidak dikirim lagi", name, done.status)
        return {
            "channel": channel,
            "mode": done.mode,
            "status": done.status,
            "post_id": done.post_id,
            "url": done.url,
        }
    publisher = publisher_for(channel, cfg)
    started = datetime.now(UTC)
    earlier = [
        r for r in ledger.channel_results(submission_id) if r.channel == channel and r.status == "intent"
    ]
    record = {"mode": publisher.mode, "idempotency_key": key, "action": action}
    ledger.add_channel_result(submission_id, channel, status="intent", **record)
    try:
        result = attempt(publisher, key, bool(earlier))
    except ChannelError as exc:
        ledger.add_channel_result(submission_id, channel, status="error", message=str(exc), **record)
        raise
    ledger.add_channel_result(
        submission_id,
        channel,
        mode=result.mode,
        status=result.status,
        idempotency_key=key,
        post_id=result.post_id,
        url=result.url,
        payload_hash=result.payload_hash,
        action=action,
    )
    ledger.add_event(
        submission_id,
        step_no,
        result.status,
        actor="pengelola_ti",
        started_at=started,
        ended_at=datetime.now(UTC),
        detail={"channel": channel, "mode": result.mode, "url": result.url, "action": action},
    )
    if result.mode == "outbox":
        log.info("%s dalam mode OUTBOX (koneksi belum diatur): muatan ditulis ke %s", name, result.url)
    else:
        log.info("%s %s: %s", name, ACTION_WORDS.get(action, action), result.url)
    return result.to_json()
