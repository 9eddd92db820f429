"""Release an outbox upload live (``sop_terbitkan`` / ``sop terbitkan``): SOP step 5, once more.

An office that started without connections has its approved uploads in the outbox. Once a
channel's connection exists, the officer sends such an upload live with this. The write goes
through the one exactly-once path (:func:`sop_tasks.exactly_once.write_once`) behind the
approval gate — the submission's own three approvals for its content hash are still required;
only the gate's run binding is replaced, narrowly, by "this channel was chosen, its upload
settled in the outbox and it is not live yet" (``release=`` of the gate). The live write has
its own idempotency key and action (``publish_live``), so the earlier outbox result does not
count as settled for it, and its retries — or a second release run — are exactly once too.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from sop_tasks.airflow.publish import CONN_IDS, connected, step_actor
from sop_tasks.approval_gate import check_submission, release_problems
from sop_tasks.channels import Publisher, PublishResult
from sop_tasks.config import CHANNEL_NAMES, OfficeConfig
from sop_tasks.content import PreparedContent
from sop_tasks.errors import ReleaseRefusedError
from sop_tasks.exactly_once import ChannelResults, write_once
from sop_tasks.records.kinds import ChannelAction
from sop_tasks.records.ledger import Ledger
from sop_tasks.sop import step

log = logging.getLogger(__name__)
DAG_ID = "sop_terbitkan"
STEP5 = step(5)


def live_key(submission_id: int, dag_id: str, run_id: str, channel: str) -> str:
    """The live write's key: distinct from the upload's, the same for every attempt and release run."""
    digest = hashlib.sha256(f"{dag_id}/{run_id}/{channel}/{ChannelAction.PUBLISH_LIVE}".encode()).hexdigest()
    return f"sop{submission_id}-{channel}-live-{digest[:12]}"


def refusals(ledger: Ledger, submission_id: int, channel: str) -> list[str]:
    """What the records already say against releasing ``channel`` (no connection look-up)."""
    if channel not in CHANNEL_NAMES:
        return [f"kanal '{channel}' tidak dikenal; pilih salah satu: {', '.join(CHANNEL_NAMES)}"]
    sub = ledger.submission(submission_id)
    if sub is None:
        return [f"pengajuan {submission_id} tidak ada di catatan; lihat nomornya dengan `sop records list`"]
    chosen = list((sub.content or {}).get("channels") or [])
    if channel not in chosen:
        return [
            f"kanal {channel} tidak dipilih pada pengajuan {submission_id} "
            f"(dipilih: {', '.join(chosen) or 'tidak ada'})"
        ]
    return release_problems(sub, channel, ledger.channel_results(submission_id))


def release_channel(
    channel: str,
    submission_id: int,
    *,
    ledger: Ledger,
    cfg: OfficeConfig,
    run: tuple[str, str] | None = None,
    actor: str | None = None,
) -> dict[str, Any]:
    """Send ``channel``'s outbox upload of ``submission_id`` live, exactly once, if approved.

    Raises :class:`ReleaseRefusedError` (unknown submission, channel not chosen, no outbox
    result, already live, no connection) or :class:`ApprovalMissingError` (the gate; recorded).
    ``run`` is the releasing run, recorded with the result; ``actor`` who asked for it.
    """
    problems = refusals(ledger, submission_id, channel)
    if problems:
        raise ReleaseRefusedError(problems)
    sub = ledger.submission(submission_id)
    assert sub is not None  # refusals() checked it
    content = PreparedContent.from_json(sub.content)
    results = ChannelResults(
        ledger,
        submission_id,
        channel,
        key=live_key(submission_id, sub.dag_id, sub.run_id, channel),
        step_no=STEP5.number,
        action=ChannelAction.PUBLISH_LIVE,
        actor=actor or step_actor(sub, cfg),
        own_key_only=True,
        extra={"released_by_run": list(run)} if run is not None else None,
    )

    def gate() -> None:
        check_submission(
            ledger.submission(submission_id),
            ledger.events(submission_id),
            cfg,
            content=content,
            submission_id=submission_id,
            channel=channel,
            release=ledger.channel_results(submission_id),
        )

    def writer() -> Publisher:
        # Never the outbox again: without the connection nothing is written or recorded.
        if not connected(channel):
            raise ReleaseRefusedError(
                [f"koneksi {CONN_IDS[channel]} belum ada; tambahkan di Admin → Connections"]
            )
        from sop_tasks.airflow import hooks

        publisher: Publisher = hooks.hook_for(channel, CONN_IDS[channel], cfg).get_conn()
        return publisher

    def attempt(publisher: Publisher, key: str, retrying: bool) -> PublishResult:
        found = publisher.find_existing(content, key) if retrying else None
        return found if found is not None else publisher.publish(content, key)

    settled, fresh = write_once(results, gate=gate, writer=writer, attempt=attempt)
    name = CHANNEL_NAMES[channel]
    via = f" (run {run[0]} / {run[1]})" if run is not None else ""
    if fresh is None:  # an earlier attempt of this very release settled (retry, cleared task)
        log.info("%s: pengajuan %s sudah diunggah dari outbox: %s", name, submission_id, settled.url)
        return {"channel": channel, "mode": settled.mode, "status": settled.status, "url": settled.url}
    log.info("%s: pengajuan %s diunggah dari outbox%s: %s", name, submission_id, via, fresh.url)
    return fresh.to_json()


def release_task(channel: str, context: Any, cfg: OfficeConfig) -> dict[str, Any]:
    """The body of ``sop05_terbitkan_<channel>``: the form's submission, if this channel was asked for."""
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    from sop_tasks.airflow.ledger import get_ledger
    from sop_tasks.airflow.operators import platform_outcomes

    params = context["params"]
    if channel not in list(params.get("channels") or []):
        raise AirflowSkipException(f"{CHANNEL_NAMES[channel]} tidak dipilih di formulir")
    dag_run = context.get("dag_run")
    run = (dag_run.dag_id, dag_run.run_id) if dag_run is not None else None
    actor = getattr(dag_run, "triggering_user_name", None) if dag_run is not None else None
    task_log = logging.getLogger("airflow.task")
    with platform_outcomes(task_log):
        try:
            return release_channel(
                channel, int(params["submission_id"]), ledger=get_ledger(), cfg=cfg, run=run, actor=actor
            )
        except ReleaseRefusedError as exc:  # permanent: a retry changes nothing
            task_log.error("%s", exc)
            raise AirflowFailException(str(exc)) from None
