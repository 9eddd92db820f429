"""Task bodies of ``sop_publish`` (SOP steps 1 and 5): small wrappers around the domain."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sop_tasks.approval_gate import check_submission
from sop_tasks.channels import OutboxPublisher, Publisher, PublishResult
from sop_tasks.config import CHANNEL_NAMES, OfficeConfig, load_config
from sop_tasks.content import PreparedContent, prepare
from sop_tasks.errors import ApprovalMissingError, ContentError, NotFoundError, NotYetError
from sop_tasks.exactly_once import ChannelResults, write_once
from sop_tasks.records.kinds import ChannelAction, StepEventKind
from sop_tasks.records.ledger import Ledger
from sop_tasks.records.models import Submission
from sop_tasks.sop import step
from sop_tasks.update import ACTION_WORDS

log = logging.getLogger(__name__)
STEP1 = step(1)
STEP5 = step(5)


def safe_name(run_id: str) -> str:
    """The run's own staging folder name. Two run ids never share one: Airflow allows ``+ : ~``
    in a run id, so a run triggered by hand as ``manual__a+b`` must not stage over ``manual__a_b``."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id)
    if name == run_id and len(name) <= 120:
        return name
    return f"{name[:100]}-{hashlib.sha256(run_id.encode()).hexdigest()[:12]}"


def submission_id_from(context: Any, source_task_id: str = STEP1.task_id, step_no: int = STEP5.number) -> int:
    """The submission the run's first task recorded — and returned through XCom (a small dict).

    An XCom that names another submission than the one this run recorded (edited by hand) is
    refused, and the refusal recorded on the run's own submission (as step ``step_no``): a step
    never acts on someone else's submission.
    """
    from airflow.sdk.exceptions import AirflowFailException

    from sop_tasks.airflow.ledger import get_ledger

    data = context["ti"].xcom_pull(task_ids=source_task_id)
    claimed = int(data["submission_id"])
    dag_run = context.get("dag_run")
    if dag_run is None:
        return claimed
    own = get_ledger().submission_id(dag_run.dag_id, dag_run.run_id)
    if own is not None and own != claimed:
        message = str(
            ApprovalMissingError(
                [
                    f"XCom langkah pertama menyebut pengajuan {claimed}, padahal run ini "
                    f"mencatat pengajuan {own}"
                ]
            )
        )
        get_ledger().add_event(
            own,
            step_no,
            StepEventKind.REFUSED,
            reason=message,
            ended_at=datetime.now(UTC),
            detail={"xcom_submission_id": claimed},
        )
        raise AirflowFailException(message)
    return claimed


def load_content(ledger: Ledger, submission_id: int) -> PreparedContent:
    sub = ledger.submission(submission_id)
    if sub is None:
        raise NotFoundError.submission(submission_id)
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
        StepEventKind.INVALID,
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
    done = ledger.submission_id(dag_id, run_id)
    if done is not None and any(e.event == StepEventKind.VALID for e in ledger.events(done)):
        # Step 1 re-run (cleared) after it succeeded: the recorded content stands. Preparing the
        # form again would stage its media over the files the verifiers saw.
        sub = ledger.submission(done)
        return {"submission_id": done, "channels": list((sub.content if sub else {}).get("channels") or [])}
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
        sid,
        STEP1.number,
        StepEventKind.VALID,
        actor=submitted_by,
        started_at=started,
        ended_at=datetime.now(UTC),
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


def writer_for(channel: str, cfg: OfficeConfig) -> Any:
    """The channel's one client for every write (publish, update, reply): the live platform
    client when its connection exists, otherwise the outbox. The only connection look-up."""
    from sop_tasks.airflow import hooks

    if not connected(channel):
        return OutboxPublisher(channel, cfg.path("outbox"))
    return hooks.hook_for(channel, CONN_IDS[channel], cfg).get_conn()


def publisher_for(channel: str, cfg: OfficeConfig) -> Publisher:
    publisher: Publisher = writer_for(channel, cfg)
    return publisher


def step_actor(sub: Submission, cfg: OfficeConfig) -> str:
    """Who a write step is recorded as: the user who triggered the run, else the configured officer."""
    return sub.submitted_by or cfg.officers.users[0]


def publish_channel(
    channel: str,
    submission_id: int,
    *,
    ledger: Ledger,
    cfg: OfficeConfig | None = None,
    run: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """SOP step 5 for one channel, exactly once, and only with the three recorded approvals.

    A settled result is never repeated (retry, cleared task, cleared run). The intent is recorded
    before the external write; an attempt that finds an earlier intent first asks the platform
    for the post that attempt may have made, and publishes only if there is none. ``run`` is
    (dag_id, run_id) of the writing run: the submission must be the one that run recorded.
    """

    def attempt(publisher: Publisher, key: str, retrying: bool, content: PreparedContent) -> PublishResult:
        result = publisher.find_existing(content, key) if retrying else None
        if result is not None:
            log.info(
                "%s: unggahan dari percobaan sebelumnya ditemukan (%s); tidak diunggah lagi",
                CHANNEL_NAMES[channel],
                result.url,
            )
            return result
        return publisher.publish(content, key)

    return write_channel(
        channel,
        submission_id,
        ledger=ledger,
        cfg=cfg or load_config(),
        step_no=STEP5.number,
        attempt=attempt,
        run=run,
    )


def write_channel(
    channel: str,
    submission_id: int,
    *,
    ledger: Ledger,
    cfg: OfficeConfig,
    step_no: int,
    attempt: Callable[[Any, str, bool, PreparedContent], PublishResult],
    action: ChannelAction = ChannelAction.PUBLISH,
    run: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """One channel write of a submission through the exactly-once path, behind the approval gate.

    ``attempt(writer, key, retrying, content)`` does the write; ``retrying`` is true when an
    earlier attempt recorded its intent and may have reached the platform, so it must look first.
    An approved upload (``ChannelAction.PUBLISH``, step 5) asked for before the content's
    ``publish_at`` raises :class:`NotYetError`: nothing recorded, nothing sent. Updates, which
    change a post already live, have no publish time.
    """
    sub = ledger.submission(submission_id)
    if sub is None:
        raise NotFoundError.submission(submission_id)
    content = PreparedContent.from_json(sub.content)
    own = ledger.submission_id(*run) if run is not None else None
    results = ChannelResults(
        ledger,
        submission_id,
        channel,
        key=idempotency_key(submission_id, sub.dag_id, sub.run_id, channel),
        step_no=step_no,
        action=action,
        actor=step_actor(sub, cfg),
        refusal_submission_id=own,
    )

    def gate() -> None:
        check_submission(
            ledger.submission(submission_id),
            ledger.events(submission_id),
            cfg,
            content=content,
            run=run,
            submission_id=submission_id,
            channel=channel,
        )
        at = content.publish_time() if action == ChannelAction.PUBLISH else None
        if at is not None and at > datetime.now(UTC):
            raise NotYetError(submission_id, at)

    name = CHANNEL_NAMES[channel]
    settled, fresh = write_once(
        results,
        gate=gate,
        writer=lambda: publisher_for(channel, cfg),
        attempt=lambda w, key, retrying: attempt(w, key, retrying, content),
    )
    if fresh is None:
        log.info("%s sudah selesai sebelumnya (%s): tidak dikirim lagi", name, settled.status)
        return {
            "channel": channel,
            "mode": settled.mode,
            "status": settled.status,
            "post_id": settled.post_id,
            "url": settled.url,
        }
    if fresh.mode == "outbox":
        log.info("%s dalam mode OUTBOX (koneksi belum diatur): muatan ditulis ke %s", name, fresh.url)
    else:
        log.info("%s %s: %s", name, ACTION_WORDS.get(action, action), fresh.url)
    return fresh.to_json()
