"""Operators for the SOP's human steps and the scheduled upload."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.providers.standard.triggers.temporal import DateTimeTrigger
from airflow.sdk import BaseOperator, BaseOperatorLink, Param
from airflow.sdk.bases.skipmixin import SkipMixin
from airflow.sdk.exceptions import AirflowFailException, AirflowRescheduleException, AirflowSkipException

from sop_tasks import approval
from sop_tasks.airflow.ledger import get_ledger
from sop_tasks.airflow.notify import notify
from sop_tasks.airflow.publish import STEP1, STEP5, load_content, publish_channel, submission_id_from
from sop_tasks.airflow.records_paths import thumbnail_base
from sop_tasks.airflow.update import PREPARE_TASK as UPDATE_PREPARE_TASK
from sop_tasks.airflow.update import STEP10, update_channel
from sop_tasks.approval_gate import HASH_KEY
from sop_tasks.config import CHANNEL_NAMES, OfficeConfig, load_config
from sop_tasks.errors import (
    ActionRequiredError,
    ApprovalMissingError,
    CredentialsError,
    NotFoundError,
    NotYetError,
    RateLimitedError,
    RejectedContentError,
)
from sop_tasks.records.kinds import StepEventKind
from sop_tasks.records.ledger import to_wib
from sop_tasks.sop import VERIFY_STEPS, Step


def answered_after_request(events: list[Any], step: int) -> Any | None:
    """The answer Airflow stored for the step's latest question (an ``answered`` event after the
    last ``requested`` one), or None."""
    last = None
    for e in events:
        if e.step != step:
            continue
        if e.event == StepEventKind.REQUESTED:
            last = None
        elif e.event == StepEventKind.ANSWERED and (e.detail or {}).get("chosen_options"):
            last = e
    return last


class VerifyOperator(HITLOperator, SkipMixin):
    """One verification (SOP steps 2–4): "Ya" goes on, "Tidak" returns the content.

    Assigned only to the users the office config names for the role. There is no default and no
    timeout: nothing is ever approved by waiting. A "Tidak" is an outcome, not a failure: it is
    recorded with who, when and why, and every later task (other verifiers, upload) is skipped.
    """

    inherits_from_skipmixin = True

    def __init__(
        self, *, sop_step: Step, cfg: OfficeConfig, source_task_id: str = STEP1.task_id, **kwargs: Any
    ) -> None:
        verifier = cfg.verifier(sop_step.actor.value)
        self.sop_step = sop_step
        self.source_task_id = source_task_id
        self.role_title = verifier.title
        self.verifier_emails = list(verifier.emails)
        self.role_titles = {s.number: cfg.verifier(s.actor.value).title for s in VERIFY_STEPS}
        kwargs.pop("params", None)  # the DAG's trigger form is not this approval's form
        super().__init__(
            task_id=sop_step.task_id,
            task_display_name=f"{sop_step.number}. Verifikasi — {verifier.title}",
            subject=f"Verifikasi langkah {sop_step.number}",
            body="(isi disiapkan saat langkah dimulai)",
            options=list(approval.OPTIONS),
            multiple=False,
            defaults=None,
            response_timeout=None,
            assigned_users=[{"id": u, "name": u} for u in verifier.users],
            params={
                approval.REASON_PARAM: Param(
                    None,
                    type=["null", "string"],
                    title="Alasan (wajib bila memilih Tidak)",
                    description="Apa yang perlu diperbaiki pengelola sebelum konten diajukan lagi.",
                )
            },
            doc_md=f"SOP langkah {sop_step.number}: {sop_step.activity} ({verifier.title}). "
            f"Waktu baku {sop_step.standard_minutes} menit.",
            **kwargs,
        )

    def execute(self, context: Any) -> Any:
        ledger = get_ledger()
        sid = submission_id_from(context, self.source_task_id, self.sop_step.number)
        content = load_content(ledger, sid)
        events = ledger.events(sid)
        decided = [
            e
            for e in events
            if e.step == self.sop_step.number and e.event in (StepEventKind.APPROVED, StepEventKind.RETURNED)
        ]
        if decided:  # a retried or cleared task: the official already answered; never ask twice
            return self._outcome(
                context, decided[-1].event == StepEventKind.APPROVED, decided[-1].actor, decided[-1].reason
            )
        carried = answered_after_request(events, self.sop_step.number)
        if carried is not None:  # answered in Airflow, but that try never resumed with it
            self.log.info("Jawaban %s dari percobaan sebelumnya dipakai, tanpa bertanya lagi", carried.actor)
            chosen = list((carried.detail or {}).get("chosen_options") or [])
            return self._decide(context, sid, chosen, carried.actor or "?", carried.ended_at, carried.reason)
        earlier = []
        for ev in events:
            if ev.event == StepEventKind.APPROVED and ev.step < self.sop_step.number:
                earlier.append((ev.actor or "?", self.role_titles.get(ev.step, ""), to_wib(ev.ended_at)))
        update = None
        version = ledger.content_version(sid)
        if version is not None:
            prepared = next((e.detail or {} for e in events if e.step == 10 and e.event == "valid"), {})
            update = approval.UpdateInfo(
                update_of=version.submission_id,
                version=version.version,
                reason=version.reason,
                diff=version.diff,
                notes=prepared.get("notes", ()),
                unchanged=prepared.get("unchanged", ()),
            )
        self.subject = approval.subject(self.sop_step, content, update=update is not None)
        self.body = approval.body(
            self.sop_step,
            self.role_title,
            content,
            submission_id=sid,
            earlier=earlier,
            update=update,
            revision=approval.revision_info(ledger, content) if update is None else None,
            thumbnail_base=thumbnail_base(),
        )
        ledger.add_event(
            sid,
            self.sop_step.number,
            StepEventKind.REQUESTED,
            started_at=datetime.now(UTC),
            # the version shown: its approval is bound to it (sop_tasks.approval_gate)
            detail={
                "assigned": [u["id"] for u in self.assigned_users or []],
                HASH_KEY: content.content_hash(),
            },
        )
        notify(
            self.verifier_emails,
            f"[SOP] Menunggu verifikasi Anda: {content.title}"[:150],
            f"Pengajuan {sid} menunggu verifikasi langkah {self.sop_step.number} ({self.role_title}). "
            "Buka Airflow → Browse → Required Actions.",
        )
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        ret = super().execute_complete(context=context, event=event)
        chosen = list(ret["chosen_options"])
        who = (ret.get("responded_by_user") or {}).get("id") or "?"
        at = ret.get("responded_at")
        reason = ((ret.get("params_input") or {}).get(approval.REASON_PARAM) or "").strip() or None
        sid = submission_id_from(context, self.source_task_id, self.sop_step.number)
        return self._decide(context, sid, chosen, who, at, reason)

    def _decide(
        self, context: Any, sid: int, chosen: list[str], who: str, at: Any, reason: str | None
    ) -> dict[str, Any]:
        """Record the official's answer as the step's decision (bound to the version shown) and
        carry it out."""
        ledger = get_ledger()
        request = next(
            (
                e
                for e in reversed(ledger.events(sid))
                if e.step == self.sop_step.number and e.event == StepEventKind.REQUESTED
            ),
            None,
        )
        started = request.started_at if request is not None else None
        shown = (request.detail or {}).get(HASH_KEY) if request is not None else None
        yes = approval.is_yes(chosen)
        if not yes and not reason:
            reason = "(alasan tidak diisi)"
        ledger.add_event(
            sid,
            self.sop_step.number,
            StepEventKind.APPROVED if yes else StepEventKind.RETURNED,
            actor=who,
            started_at=started and started.replace(tzinfo=UTC),
            ended_at=at,
            reason=reason,
            detail={HASH_KEY: shown},
        )
        return self._outcome(context, yes, who, reason)

    def _outcome(self, context: Any, yes: bool, who: str | None, reason: str | None) -> dict[str, Any]:
        """Carry out a recorded decision: "Ya" goes on; "Tidak" skips everything downstream."""
        if yes:
            self.log.info("Disetujui oleh %s pada langkah %s", who, self.sop_step.number)
            return {"decision": "Ya", "by": who}
        self.log.info("Dikembalikan oleh %s pada langkah %s: %s", who, self.sop_step.number, reason)
        downstream = [t for t in context["task"].get_flat_relatives(upstream=False) if not t.is_teardown]
        if downstream:
            self.skip(ti=context["ti"], tasks=downstream)
        return {"decision": "Tidak", "by": who, "reason": reason}


class PostLink(BaseOperatorLink):
    """The live post's permalink, as an extra link on the upload task ("Lihat unggahan")."""

    name = "Lihat unggahan"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        # Called in the worker after execute(); Airflow 3 stores the answer under ``xcom_key``
        # and the UI reads it from there. Only a live post has a link; outbox mode has none.
        from airflow.sdk.bases.xcom import BaseXCom as XCom

        result = XCom.get_value(ti_key=ti_key, key="return_value")
        if isinstance(result, dict) and result.get("mode") == "live":
            return str(result.get("url") or "")
        return ""


@contextmanager
def platform_outcomes(log: Any) -> Iterator[None]:
    """How a platform's refusal ends a task that writes to it (upload, update, reply).

    A rate limit reschedules the task after the reset without holding a worker slot; wrong
    credentials, an action needed in the platform's app, or refused content fail at once — no
    retry loop (repeated logins lock accounts); transient errors use Airflow's retries.
    """
    try:
        yield
    except ApprovalMissingError as exc:  # SOP warning 1: recorded by the product; never retried
        log.error("%s", exc)
        raise AirflowFailException(str(exc)) from None
    except NotFoundError as exc:
        raise AirflowFailException(str(exc)) from None
    except RateLimitedError as exc:
        log.warning("%s; dijadwalkan ulang setelah %s", exc, exc.reset_at.isoformat())
        raise AirflowRescheduleException(exc.reset_at) from None
    except (CredentialsError, ActionRequiredError, RejectedContentError) as exc:
        raise AirflowFailException(str(exc)) from None


class PublishChannelOperator(BaseOperator):
    """SOP step 5 for one channel: publish exactly once, or say why not.

    With a ``publish_at`` (WIB) in the future the write itself refuses (``NotYetError``, checked
    at the channel write after the approval gate, so no cleared, re-run or resumed task can post
    early) and the task waits for it, deferred, without holding a worker slot (in the task
    itself, not a task before it: one scheduling hop less between the Kepala Dinas's "Ya" and
    the post). Credentials, an action needed in the platform's app, or refused content fail at
    once (no retry loop); a rate limit reschedules the task after the reset without holding a
    worker slot; transient errors use Airflow's retries.
    """

    operator_extra_links = (PostLink(),)
    sop_step: Step = STEP5
    source_task_id: str = STEP1.task_id
    not_chosen = "tidak dipilih di formulir"

    def __init__(self, *, channel: str, cfg: OfficeConfig | None = None, **kwargs: Any) -> None:
        name = CHANNEL_NAMES[channel]
        super().__init__(
            task_id=f"{self.sop_step.task_id}_{channel}",
            task_display_name=f"{self.sop_step.display_name} — {name}",
            doc_md=f"SOP langkah {self.sop_step.number}: {self.sop_step.activity.lower()} — {name} "
            f"(waktu baku {self.sop_step.standard_minutes} menit).",
            **kwargs,
        )
        self.channel = channel
        self._cfg = cfg

    def run_channel(
        self, submission_id: int, cfg: OfficeConfig, run: tuple[str, str] | None
    ) -> dict[str, Any]:
        return publish_channel(self.channel, submission_id, ledger=get_ledger(), cfg=cfg, run=run)

    def execute(self, context: Any) -> dict[str, Any]:
        chosen = context["ti"].xcom_pull(task_ids=self.source_task_id)["channels"]
        if self.channel not in chosen:
            raise AirflowSkipException(f"{CHANNEL_NAMES[self.channel]} {self.not_chosen}")
        return self._write_when_due(context, resumed=False)

    def execute_complete(self, context: Any, event: Any = None) -> dict[str, Any]:
        self.log.info("Waktu tayang tiba: lanjut unggah")
        return self._write_when_due(context, resumed=True)

    def _write_when_due(self, context: Any, *, resumed: bool) -> dict[str, Any]:
        """Write now, or — when the write refuses because ``publish_at`` is still to come — wait
        for it deferred (the first time recorded as ``scheduled``; a resume on a worker whose
        clock lags the triggerer's simply waits again)."""
        try:
            return self._write(context)
        except NotYetError as exc:
            if not resumed:
                get_ledger().add_event(
                    exc.submission_id,
                    STEP5.number,
                    StepEventKind.SCHEDULED,
                    detail={"publish_at": exc.at.isoformat(), "channel": self.channel},
                )
            self.log.info("Menunggu waktu tayang %s (tanpa memakai slot worker)", exc.at.isoformat())
            self.defer(trigger=DateTimeTrigger(moment=exc.at), method_name="execute_complete")
            raise  # not reached: defer() raises TaskDeferred

    def _write(self, context: Any) -> dict[str, Any]:
        cfg = self._cfg or load_config()
        dag_run = context.get("dag_run")
        run = (dag_run.dag_id, dag_run.run_id) if dag_run is not None else None
        claimed = int(context["ti"].xcom_pull(task_ids=self.source_task_id)["submission_id"])
        with platform_outcomes(self.log):
            # The XCom names the submission; the gate checks it is the one this run recorded.
            return self.run_channel(claimed, cfg, run)


class UpdateChannelOperator(PublishChannelOperator):
    """SOP step 10 for one channel: change the live post (X: correction reply or repost), once.

    One update per channel at a time across all runs (``max_active_tis_per_dag=1``): the check
    that the post still shows the version this update was prepared from, and the write, are then
    never interleaved with another update of the same channel.
    """

    sop_step = STEP10
    source_task_id = UPDATE_PREPARE_TASK
    not_chosen = "tidak dipilih atau isinya tidak berubah"  # no publish time: goes out when approved

    def __init__(self, *, channel: str, cfg: OfficeConfig | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("max_active_tis_per_dag", 1)
        super().__init__(channel=channel, cfg=cfg, **kwargs)

    def run_channel(
        self, submission_id: int, cfg: OfficeConfig, run: tuple[str, str] | None
    ) -> dict[str, Any]:
        return update_channel(self.channel, submission_id, ledger=get_ledger(), cfg=cfg, run=run)
