"""Task bodies and the human step of ``sop_follow_up`` (SOP steps 8–9)."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from airflow.providers.standard.operators.hitl import HITLBranchOperator
from airflow.sdk import Param
from airflow.sdk.exceptions import AirflowFailException

from sop_tasks import followup as fu
from sop_tasks.airflow.ledger import get_ledger
from sop_tasks.airflow.publish import CONN_IDS
from sop_tasks.channels import OutboxPublisher
from sop_tasks.channels.base import Replier
from sop_tasks.config import CHANNEL_NAMES, OfficeConfig
from sop_tasks.errors import ChannelError
from sop_tasks.records.inbox import Inbox
from sop_tasks.records.ledger import Ledger
from sop_tasks.render import plain_line

log = logging.getLogger(__name__)
PREPARE_TASK = "sop08_siapkan"
DECIDE_TASK = fu.STEP8.task_id
REPLY_TASK = fu.STEP9.task_id
NO_REPLY_TASK = "sop08_tanpa_balasan"
REROUTE_TASK = "sop08_teruskan_bidang_lain"
_PPID_WORDS = re.compile(r"\b(ppid|permohonan informasi|informasi publik|keterbukaan informasi)\b", re.I)


def follow_up_run_id(item_id: int, bidang: str) -> str:
    return f"tindak_lanjut__item{item_id}__{bidang}"


def prepare(params: dict[str, Any], *, run_id: str, ledger: Ledger, cfg: OfficeConfig) -> dict[str, Any]:
    """Check the item and the bidang before anyone is asked; record that follow-up started."""
    try:
        item_id = int(params.get("item_id") or 0)
    except (TypeError, ValueError):
        raise AirflowFailException(
            f"item_id '{params.get('item_id')}' bukan nomor; lihat `sop records incoming`"
        ) from None
    store = fu.FollowUps(ledger)
    try:
        view = store.view(item_id)
        bidang = str(params.get("bidang") or view.item.bidang or "")
        cfg.bidang_by_code(bidang)
    except fu.FollowUpError as exc:
        raise AirflowFailException(str(exc)) from None
    except KeyError:
        codes = ", ".join(b.code for b in cfg.bidang)
        raise AirflowFailException(f"Bidang '{bidang}' tidak dikenal; pilih salah satu: {codes}") from None
    earlier = store.decided(item_id, bidang)
    if earlier is not None:
        raise AirflowFailException(
            f"Informasi masuk #{item_id} sudah ditindaklanjuti {bidang} ({earlier.event}) "
            f"oleh {earlier.actor}; tidak perlu dijawab lagi"
        )
    try:
        store.open(item_id, bidang, run_id)
    except fu.FollowUpError as exc:
        raise AirflowFailException(str(exc)) from None
    if _PPID_WORDS.search(view.item.text) and not any(e.ppid for e in store.events(item_id)):
        deadline = fu.ppid_deadline(cfg, view.item.created_at.replace(tzinfo=UTC))
        store.add(item_id, bidang, "ppid", ppid=True, deadline=deadline, run_id=run_id)
    return {"item_id": item_id, "bidang": bidang, "channel": view.item.channel}


class FollowUpOperator(HITLBranchOperator):
    """SOP step 8: the bidang decides — reply, no reply needed, or forward to another bidang.

    Assigned at run time to the users of the item's bidang (from the office config); a user of
    another bidang is refused by Airflow (403). No default, no timeout.
    """

    def __init__(self, *, cfg: OfficeConfig, **kwargs: Any) -> None:
        kwargs.pop("params", None)
        codes = [b.code for b in cfg.bidang]
        super().__init__(
            task_id=DECIDE_TASK,
            task_display_name=f"{fu.STEP8.display_name} (bidang)",
            subject="Tindak lanjut informasi masuk",
            body="(disiapkan saat langkah dimulai)",
            options=list(fu.OPTIONS),
            options_mapping={
                fu.OPTION_REPLY: REPLY_TASK,
                fu.OPTION_NO_REPLY: NO_REPLY_TASK,
                fu.OPTION_REROUTE: REROUTE_TASK,
            },
            multiple=False,
            defaults=None,
            response_timeout=None,
            assigned_users=[{"id": u, "name": u} for b in cfg.bidang for u in b.users],
            params={
                fu.PARAM_REPLY: Param(
                    None, type=["null", "string"], format="multiline", title="Jawaban (untuk Balas)"
                ),
                fu.PARAM_REASON: Param(
                    None, type=["null", "string"], title="Alasan (untuk Tidak perlu dibalas)"
                ),
                fu.PARAM_TARGET: Param(
                    None,
                    type=["null", "string"],
                    enum=[None, *codes],
                    values_display={c: cfg.bidang_by_code(c).name for c in codes},
                    title="Bidang tujuan (untuk Teruskan)",
                ),
                fu.PARAM_PPID: Param(
                    False,
                    type="boolean",
                    title="Permohonan informasi publik (PPID, UU 14/2008)",
                    description="Centang bila ini permohonan informasi publik: batas jawaban 10 hari kerja.",
                ),
            },
            doc_md=f"SOP langkah {fu.STEP8.number}: tindak lanjut oleh bidang terkait.",
            **kwargs,
        )
        self._cfg = cfg

    def execute(self, context: Any) -> Any:
        info = context["ti"].xcom_pull(task_ids=PREPARE_TASK)
        bidang = self._cfg.bidang_by_code(info["bidang"])
        view = fu.FollowUps(get_ledger()).view(int(info["item_id"]))
        self.assigned_users = [{"id": u, "name": u} for u in bidang.users]
        self.subject = plain_line(f"Tindak lanjut #{view.item.id} ({bidang.name}): {view.item.text}")
        self.body = fu.body(view, bidang.name)
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        chosen = list(event.get("chosen_options") or [])
        params_input = event.get("params_input") or {}
        self.validate_chosen_options(chosen)  # before anything is recorded
        self.validate_params_input(params_input)
        who = (event.get("responded_by_user") or {}).get("id") or "?"
        info = context["ti"].xcom_pull(task_ids=PREPARE_TASK)
        item_id, bidang = int(info["item_id"]), str(info["bidang"])
        decision = fu.DECISIONS.get(chosen[0], "") if chosen else ""
        ledger = get_ledger()
        store = fu.FollowUps(ledger)
        text = {
            "reply": params_input.get(fu.PARAM_REPLY),
            "no_reply": params_input.get(fu.PARAM_REASON),
        }.get(decision)
        target = params_input.get(fu.PARAM_TARGET) if decision == "reroute" else None
        ppid = bool(params_input.get(fu.PARAM_PPID))
        view = store.view(item_id)
        deadline = fu.ppid_deadline(self._cfg, view.item.created_at.replace(tzinfo=UTC)) if ppid else None
        try:
            store.decide(
                item_id,
                bidang,
                decision=decision,
                actor=who,
                text=(text or "").strip() or None,
                target_bidang=target,
                ppid=ppid,
                deadline=deadline,
                run_id=context["dag_run"].run_id,
            )
        except fu.FollowUpError as exc:
            raise AirflowFailException(str(exc)) from None
        if decision == "reroute" and target:
            Inbox(ledger).record_forwards([item_id], str(target), None, f"teruskan:{bidang}")
        log.info("Tindak lanjut #%s oleh %s (%s): %s", item_id, who, bidang, decision)
        context["ti"].xcom_push(key="decision", value={"decision": decision, "by": who, "target": target})
        return super().execute_complete(context=context, event=event)


def replier_for(channel: str, cfg: OfficeConfig) -> Replier:
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    from sop_tasks.airflow import hooks

    try:
        BaseHook.get_connection(CONN_IDS[channel])
    except AirflowNotFoundException:
        return OutboxPublisher(channel, cfg.path("outbox"))
    replier: Replier = hooks.hook_for(channel, CONN_IDS[channel], cfg).get_conn()
    return replier


def post_reply(item_id: int, bidang: str, *, ledger: Ledger, cfg: OfficeConfig) -> dict[str, Any]:
    """SOP step 9: the bidang's answer, posted where the message came from — exactly once."""
    store = fu.FollowUps(ledger)
    view = store.view(item_id)
    decision = store.decided(item_id, bidang)
    if decision is None or decision.event != "reply" or not decision.text:
        raise AirflowFailException(f"Tidak ada jawaban {bidang} untuk informasi masuk #{item_id}")
    item = view.item
    key = fu.reply_key(item)
    done = next((r for r in store.reply_results(item_id) if r.status in ("published", "outbox")), None)
    if done is not None:
        log.info("Balasan #%s sudah diunggah sebelumnya: %s", item_id, done.url)
        return {"item_id": item_id, "mode": done.mode, "post_id": done.post_id, "url": done.url}
    replier = replier_for(item.channel, cfg)
    target = fu.target_of(item)
    earlier = [r for r in store.reply_results(item_id) if r.status == "intent"]
    store.add_reply_result(item_id, item.channel, mode=replier.mode, status="intent", idempotency_key=key)
    try:
        result = replier.find_reply(target, decision.text, key) if earlier else None
        result = result or replier.reply(target, decision.text, key)
    except ChannelError as exc:
        store.add_reply_result(
            item_id, item.channel, mode=replier.mode, status="error", idempotency_key=key, message=str(exc)
        )
        store.add(item_id, bidang, "error", text=str(exc))
        raise
    store.add_reply_result(
        item_id,
        item.channel,
        mode=result.mode,
        status=result.status,
        idempotency_key=key,
        post_id=result.post_id,
        url=result.url,
    )
    store.add(
        item_id, bidang, "posted", detail={"mode": result.mode, "url": result.url, "post_id": result.post_id}
    )
    where = "OUTBOX (koneksi belum diatur)" if result.mode == "outbox" else result.url
    log.info("Balasan untuk #%s (%s) diunggah: %s", item_id, CHANNEL_NAMES[item.channel], where)
    return {"item_id": item_id, "mode": result.mode, "post_id": result.post_id, "url": result.url}


def reminders(ledger: Ledger, cfg: OfficeConfig, notify: Any, now: datetime | None = None) -> int:
    """Follow-up reminders (bidang, then officer) and KIP deadline reminders; each sent once."""
    now = now or datetime.now(UTC)
    store = fu.FollowUps(ledger)
    sent = 0
    for item, bidang, kind, recipients in fu.due_follow_up_reminders(store, cfg, now):
        subject, text = fu.remind_text(item, bidang, kind, now)
        notify(recipients, subject, text)
        store.add(item.id, bidang, "reminded", detail={"kind": kind, "recipients": recipients})
        sent += 1
    return sent
