"""Task bodies and the human step of ``sop_follow_up`` (SOP steps 8–9)."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from airflow.providers.standard.operators.hitl import HITLBranchOperator, HITLOperator
from airflow.sdk import Param
from airflow.sdk.bases.skipmixin import SkipMixin
from airflow.sdk.exceptions import AirflowFailException

from sop_tasks import approval
from sop_tasks import followup as fu
from sop_tasks.airflow.ledger import get_ledger
from sop_tasks.airflow.notify import notify
from sop_tasks.airflow.publish import writer_for
from sop_tasks.approval import REASON_PARAM
from sop_tasks.approval_gate import TEXT_HASH_KEY, check_reply, text_hash
from sop_tasks.channels.base import PublishResult, Replier
from sop_tasks.config import CHANNEL_NAMES, OfficeConfig
from sop_tasks.errors import ApprovalMissingError
from sop_tasks.exactly_once import ReplyResults, write_once
from sop_tasks.followup.render import approval_body
from sop_tasks.records.inbox import Inbox
from sop_tasks.records.ledger import Ledger
from sop_tasks.records.models import FollowUpEvent
from sop_tasks.render import plain_line

log = logging.getLogger(__name__)
PREPARE_TASK = "sop08_siapkan"
DECIDE_TASK = fu.STEP8.task_id
REPLY_TASK = fu.STEP9.task_id
NO_REPLY_TASK = "sop08_tanpa_balasan"
REROUTE_TASK = "sop08_teruskan_bidang_lain"
APPROVE_TASK = "sop08_setujui_balasan"
REVISE_TASK = "sop08_kembalikan_ke_bidang"
DECISION_XCOM, REROUTE_XCOM, REVISION_XCOM = "decision", "reroute", "revision"

# follow_up.replies_need_approval (SOP warning 1 applied to replies): who approves a bidang's reply
# (see sop_tasks.followup.REPLY_APPROVER_ROLE) — never the one who wrote it. "Tidak" sends the item
# back to the same bidang: a revision run of this DAG asks it for a new answer.
REPLY_APPROVER_ROLE = fu.REPLY_APPROVER_ROLE
OPTION_APPROVE, OPTION_RETURN = fu.OPTION_APPROVE, fu.OPTION_RETURN
APPROVAL_OPTIONS = fu.APPROVAL_OPTIONS
EVENT_APPROVED, EVENT_RETURNED = fu.EVENT_APPROVED, fu.EVENT_RETURNED
_PPID_WORDS = re.compile(r"\b(ppid|permohonan informasi|informasi publik|keterbukaan informasi)\b", re.I)


def follow_up_run_id(item_id: int, bidang: str) -> str:
    return f"tindak_lanjut__item{item_id}__{bidang}"


def revision_run_id(item_id: int, bidang: str, revision: int) -> str:
    """The run that asks the bidang again after its reply was returned for the ``revision``-th time."""
    return f"{follow_up_run_id(item_id, bidang)}__revisi{revision}"


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
            f"Informasi masuk #{item_id} sudah ditindaklanjuti {bidang} "
            f"({fu.DECISION_WORDS.get(earlier.event, earlier.event)}, oleh {earlier.actor}); "
            "tidak perlu dijawab lagi"
        )
    try:
        store.open(item_id, bidang, run_id)
    except fu.FollowUpError as exc:
        raise AirflowFailException(str(exc)) from None
    if _PPID_WORDS.search(view.item.text) and not any(e.ppid for e in store.events(item_id)):
        deadline = fu.ppid_deadline(cfg, view.item.created_at.replace(tzinfo=UTC))
        store.add(item_id, bidang, "ppid", ppid=True, deadline=deadline, run_id=run_id)
    return {"item_id": item_id, "bidang": bidang, "channel": view.item.channel}


def decided_in_run(store: fu.FollowUps, item_id: int, bidang: str, run_id: str) -> FollowUpEvent | None:
    """The bidang's decision if this very run recorded it (a retried task must not ask again)."""
    earlier = store.decided(item_id, bidang)
    return earlier if earlier is not None and earlier.run_id == run_id else None


def reroute_targets(cfg: OfficeConfig, store: fu.FollowUps, item_id: int, bidang: str) -> list[str]:
    """Where an item may be forwarded: never back to itself, never to a bidang that already decided
    (its follow-up would refuse to start, and the item would be forwarded to nobody) — nor to one
    whose reply was returned (it is answering again in its own revision run)."""
    done = {e.bidang for e in store.events(item_id) if e.event in fu.DECISIONS.values()}
    return [b.code for b in cfg.bidang if b.code != bidang and b.code not in done]


def verdict_in_run(store: fu.FollowUps, item_id: int, bidang: str, run_id: str) -> FollowUpEvent | None:
    """The verdict this very run recorded (a retried approval must not ask again)."""
    mine = [
        e
        for e in store.events(item_id)
        if e.bidang == bidang and e.event in fu.VERDICTS and e.run_id == run_id
    ]
    return mine[-1] if mine else None


def _unusable(item_id: int, bidang: str, problem: str) -> AirflowFailException:
    # Fail without retrying: a retry would put the same question to the bidang again, silently,
    # and the answer already given would be lost (dag.test() would wait for it forever).
    return AirflowFailException(
        f"Jawaban untuk informasi masuk #{item_id} ({bidang}) tidak dapat dipakai: {problem}. "
        "Tidak ada yang dicatat; bersihkan (clear) tugas ini agar pertanyaannya diajukan lagi."
    )


class FollowUpOperator(HITLBranchOperator):
    """SOP step 8: the bidang decides — reply, no reply needed, or forward to another bidang.

    Assigned at run time to the users of the item's bidang (from the office config); a user of
    another bidang is refused by Airflow (403). No default, no timeout. "Teruskan" offers only the
    bidang the item may still go to. An answer that cannot be used fails the task without a retry
    (nothing recorded; clear it to ask again); a retry after the answer was recorded carries the
    recorded decision out instead of asking again. With ``follow_up.replies_need_approval`` a reply
    goes to the official's approval (``ReplyApprovalOperator``) before step 9.
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
                fu.OPTION_REPLY: APPROVE_TASK if cfg.follow_up.replies_need_approval else REPLY_TASK,
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
                fu.PARAM_TARGET: self._target_param(cfg, codes),
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

    @staticmethod
    def _target_param(cfg: OfficeConfig, codes: list[str]) -> Param:
        return Param(
            None,
            type=["null", "string"],
            enum=[None, *codes],
            values_display={c: cfg.bidang_by_code(c).name for c in codes},
            title="Bidang tujuan (untuk Teruskan)",
        )

    def execute(self, context: Any) -> Any:
        info = context["ti"].xcom_pull(task_ids=PREPARE_TASK)
        item_id, code = int(info["item_id"]), str(info["bidang"])
        bidang = self._cfg.bidang_by_code(code)
        store = fu.FollowUps(get_ledger())
        recorded = decided_in_run(store, item_id, code, context["dag_run"].run_id)
        if recorded is not None:
            self.log.info(
                "Keputusan %s untuk #%s sudah tercatat (%s); tidak ditanyakan lagi",
                code,
                item_id,
                recorded.event,
            )
            self._carry_out(
                context, item_id, code, recorded.event, recorded.actor or "?", recorded.target_bidang
            )
            option = next(o for o, d in fu.DECISIONS.items() if d == recorded.event)
            return self.do_branch(context=context, branches_to_execute=[self.options_mapping[option]])
        view = store.view(item_id)
        targets = reroute_targets(self._cfg, store, item_id, code)
        self.params[fu.PARAM_TARGET] = self._target_param(self._cfg, targets)
        self.options = list(fu.OPTIONS) if targets else [o for o in fu.OPTIONS if o != fu.OPTION_REROUTE]
        self.assigned_users = [{"id": u, "name": u} for u in bidang.users]
        revision = store.awaiting_revision(item_id, code)
        what = "Revisi tindak lanjut" if revision else "Tindak lanjut"
        self.subject = plain_line(f"{what} #{view.item.id} ({bidang.name}): {view.item.text}")
        self.body = fu.body(view, bidang.name, revision)
        return super().execute(context)

    def _problem(
        self, store: fu.FollowUps, item_id: int, bidang: str, chosen: list[str], given: dict[str, Any]
    ) -> str | None:
        """Why this answer cannot be carried out, in Indonesian; None when it can."""
        decision = fu.DECISIONS.get(chosen[0], "") if len(chosen) == 1 else ""
        if not decision:
            shown = ", ".join(chosen) or "(kosong)"
            return f"pilihan {shown} tidak dikenal; pilih satu dari: {', '.join(fu.OPTIONS)}"
        field = fu.REQUIRED_BY_OPTION[chosen[0]]
        value = given.get(field)
        if not isinstance(value, str) or not value.strip():
            return f"kolom '{field}' wajib diisi bila memilih '{chosen[0]}'"
        if decision == "reroute":
            targets = reroute_targets(self._cfg, store, item_id, bidang)
            if value not in targets:
                allowed = ", ".join(targets) or "(tidak ada)"
                return f"bidang tujuan '{value}' tidak bisa dipilih; pilih salah satu: {allowed}"
        try:
            self.validate_chosen_options(chosen)
            self.validate_params_input(given)
        except ValueError as exc:  # ParamValidationError is a ValueError too
            return str(exc)
        return None

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        chosen = list(event.get("chosen_options") or [])
        params_input = dict(event.get("params_input") or {})
        who = (event.get("responded_by_user") or {}).get("id") or "?"
        info = context["ti"].xcom_pull(task_ids=PREPARE_TASK)
        item_id, bidang = int(info["item_id"]), str(info["bidang"])
        store = fu.FollowUps(get_ledger())
        problem = self._problem(store, item_id, bidang, chosen, params_input)
        if problem:
            raise _unusable(item_id, bidang, problem)  # before anything is recorded
        decision = fu.DECISIONS[chosen[0]]
        text = {
            "reply": params_input.get(fu.PARAM_REPLY),
            "no_reply": params_input.get(fu.PARAM_REASON),
        }.get(decision)
        target = str(params_input[fu.PARAM_TARGET]) if decision == "reroute" else None
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
        from sop_tasks.routing.store import note_follow_up_decision  # Teruskan etc. teach routing

        note_follow_up_decision(get_ledger(), item_id, bidang, decision, who, target=target, reason=text)
        log.info("Tindak lanjut #%s oleh %s (%s): %s", item_id, who, bidang, decision)
        self._carry_out(context, item_id, bidang, decision, who, target)
        return super().execute_complete(context=context, event=event)

    def _carry_out(
        self, context: Any, item_id: int, bidang: str, decision: str, who: str, target: str | None
    ) -> None:
        """What follows a recorded decision; safe to repeat (a retry repeats it)."""
        if decision == "reroute" and target:
            inbox = Inbox(get_ledger())
            via = f"teruskan:{bidang}"
            if not any(
                f.item_id == item_id and f.bidang == target and f.via == via for f in inbox.forwards()
            ):
                inbox.record_forwards([item_id], target, None, via)
            context["ti"].xcom_push(
                key=REROUTE_XCOM,
                value={
                    "run_id": follow_up_run_id(item_id, target),
                    "conf": {"item_id": item_id, "bidang": target},
                },
            )
        context["ti"].xcom_push(key=DECISION_XCOM, value={"decision": decision, "by": who, "target": target})


class ReplyApprovalOperator(HITLOperator, SkipMixin):
    """SOP warning 1 for replies (``follow_up.replies_need_approval``): the official approves the
    bidang's reply before step 9 posts it.

    Assigned to the users of the ``REPLY_APPROVER_ROLE`` verifier (Plt/Plh: add a name there), never
    to the one who wrote the reply. No default, no timeout. The request is recorded
    (``reply_approval_requested``) so ``sop_pengingat`` can remind the approver. "Tidak" is an
    outcome, not a failure: recorded in record 3 (``reply_returned``, who and why), the bidang and
    officer are told, step 9 is skipped — nothing is posted — and ``REVISE_TASK`` starts a revision
    run that asks the same bidang for a new answer (the returned reply and the reason shown). "Ya"
    skips the revision and step 9 posts the reply.
    """

    inherits_from_skipmixin = True

    def __init__(self, *, cfg: OfficeConfig, **kwargs: Any) -> None:
        approver = cfg.verifier(REPLY_APPROVER_ROLE)
        kwargs.pop("params", None)
        super().__init__(
            task_id=APPROVE_TASK,
            task_display_name=f"{fu.STEP8.number}. Setujui balasan — {approver.title}",
            subject="Persetujuan balasan informasi masuk",
            body="(disiapkan saat langkah dimulai)",
            options=list(APPROVAL_OPTIONS),
            multiple=False,
            defaults=None,
            response_timeout=None,
            assigned_users=[{"id": u, "name": u} for u in approver.users],
            params={
                REASON_PARAM: Param(
                    None,
                    type=["null", "string"],
                    title="Alasan (wajib bila memilih Tidak)",
                    description="Apa yang perlu diperbaiki bidang; balasan yang dikembalikan tidak diunggah.",
                )
            },
            doc_md=f"SOP peringatan 1: balasan bidang disetujui {approver.title} sebelum diunggah "
            f"(langkah {fu.STEP9.number}).",
            **kwargs,
        )
        self._cfg = cfg
        self.approver_users = list(approver.users)
        self.approver_title = approver.title
        self.approver_emails = list(approver.emails)

    def _reply(self, store: fu.FollowUps, item_id: int, bidang: str) -> FollowUpEvent:
        reply = store.decided(item_id, bidang)
        if reply is None or reply.event != "reply" or not reply.text:
            raise AirflowFailException(
                f"Tidak ada jawaban {bidang} untuk informasi masuk #{item_id} yang perlu disetujui"
            )
        return reply

    def execute(self, context: Any) -> Any:
        info = context["ti"].xcom_pull(task_ids=PREPARE_TASK)
        item_id, code = int(info["item_id"]), str(info["bidang"])
        run_id = context["dag_run"].run_id
        store = fu.FollowUps(get_ledger())
        verdict = verdict_in_run(store, item_id, code, run_id)
        if verdict is not None:
            self.log.info(
                "Persetujuan balasan #%s sudah tercatat (%s); tidak ditanyakan lagi", item_id, verdict.event
            )
            return self._conclude(context, store, verdict)
        reply = self._reply(store, item_id, code)
        if not any(
            e.event == fu.EVENT_APPROVAL_REQUESTED and e.bidang == code and e.id > reply.id
            for e in store.events(item_id)
        ):
            store.add(
                item_id, code, fu.EVENT_APPROVAL_REQUESTED, run_id=run_id, detail={"reply_id": reply.id}
            )
        bidang = self._cfg.bidang_by_code(code)
        # four eyes: whoever wrote the reply does not approve it (unless nobody else could)
        users = [u for u in self.approver_users if u != reply.actor] or self.approver_users
        self.assigned_users = [{"id": u, "name": u} for u in users]
        self.subject = plain_line(f"Setujui balasan #{item_id} ({bidang.name}): {reply.text}")
        self.body = approval_body(store.view(item_id), bidang.name, reply, self.approver_title)
        notify(
            self.approver_emails,
            f"[SOP] Menunggu persetujuan balasan informasi masuk #{item_id}",
            f"Balasan {bidang.name} untuk informasi masuk #{item_id} menunggu persetujuan "
            f"{self.approver_title} sebelum diunggah. Buka Airflow → Browse → Required Actions.",
        )
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        info = context["ti"].xcom_pull(task_ids=PREPARE_TASK)
        item_id, code = int(info["item_id"]), str(info["bidang"])
        try:
            ret = super().execute_complete(context=context, event=event)
        except ValueError as exc:  # ParamValidationError is a ValueError too
            raise _unusable(item_id, code, str(exc)) from None
        chosen = list(ret["chosen_options"])
        who = (ret.get("responded_by_user") or {}).get("id") or "?"
        reason = ((ret.get("params_input") or {}).get(REASON_PARAM) or "").strip() or None
        approved = approval.is_yes(chosen)
        if not approved and not reason:
            reason = "(alasan tidak diisi)"
        store = fu.FollowUps(get_ledger())
        reply = store.decided(item_id, code)
        verdict_id = store.add(
            item_id,
            code,
            EVENT_APPROVED if approved else EVENT_RETURNED,
            actor=who,
            text=reason,
            run_id=context["dag_run"].run_id,
            # the reply text answered: step 9 posts only this very text (sop_tasks.approval_gate)
            detail={
                "reply_id": reply.id if reply else None,
                TEXT_HASH_KEY: text_hash(reply.text if reply else None),
            },
        )
        verdict = next(e for e in store.events(item_id) if e.id == verdict_id)
        if approved:
            log.info("Balasan #%s (%s) disetujui oleh %s", item_id, code, who)
        else:
            log.info("Balasan #%s (%s) dikembalikan oleh %s: %s", item_id, code, who, reason)
            bidang = self._cfg.bidang_by_code(code)
            notify(
                list(bidang.emails) + list(self._cfg.officers.emails),
                f"[SOP] Balasan informasi masuk #{item_id} dikembalikan",
                f"Balasan {bidang.name} untuk informasi masuk #{item_id} tidak disetujui oleh "
                f"{self.approver_title} ({who}) dan tidak diunggah. Alasan: {reason}\n"
                "Informasi masuk ini dikembalikan ke bidang: tulis jawaban baru di Airflow → Browse → "
                "Required Actions (tindak lanjut revisi).",
            )
        return self._conclude(context, store, verdict)

    def _conclude(self, context: Any, store: fu.FollowUps, verdict: FollowUpEvent) -> dict[str, Any]:
        """Branch on the recorded verdict; safe to repeat (a retry repeats it).

        Ya: step 9 goes on, the revision is skipped. Tidak: step 9 is skipped and the revision run
        (its id counts the bidang's returns up to this one) is handed to ``REVISE_TASK``.
        """
        approved = verdict.event == EVENT_APPROVED
        item_id, code = verdict.item_id, verdict.bidang
        if not approved:
            returns = [r for r in store.returned(item_id, code) if r.returned.id <= verdict.id]
            context["ti"].xcom_push(
                key=REVISION_XCOM,
                value={
                    "run_id": revision_run_id(item_id, code, max(1, len(returns))),
                    "conf": {"item_id": item_id, "bidang": code},
                },
            )
        skip_id = REVISE_TASK if approved else REPLY_TASK
        skipped = [t for t in context["task"].get_flat_relatives(upstream=False) if t.task_id == skip_id]
        if skipped:
            self.skip(ti=context["ti"], tasks=skipped)  # raises DownstreamTasksSkipped: the task succeeds
        return {"decision": "Ya" if approved else "Tidak", "by": verdict.actor or "?", "reason": verdict.text}


def replier_for(channel: str, cfg: OfficeConfig) -> Replier:
    """The channel's client for replies: the same single look-up as uploads and updates."""
    replier: Replier = writer_for(channel, cfg)
    return replier


def post_reply(
    item_id: int, bidang: str, *, ledger: Ledger, cfg: OfficeConfig, run_id: str | None = None
) -> dict[str, Any]:
    """SOP step 9: the bidang's answer, posted where the message came from — exactly once, and only
    when the records hold what SOP warning 1 asks of a reply (``sop_tasks.approval_gate``).

    ``run_id``: the posting run; the decision must have been recorded in it (an edited XCom cannot
    point this run at another item's reply)."""
    store = fu.FollowUps(ledger)
    view = store.view(item_id)
    item = view.item
    decision = store.decided(item_id, bidang)
    evs = store.events(item_id)
    replies = [fu.standing_decision(evs, b) for b in dict.fromkeys(e.bidang for e in evs)]
    first = min(
        (d for d in replies if d is not None and d.event == "reply"), key=lambda d: d.id, default=None
    )
    results = ReplyResults(store, item_id, item.channel, bidang, key=fu.reply_key(item))
    done = results.settled()
    if decision is not None and decision.event == "reply" and first is not None and first.bidang != bidang:
        # One answer per message: a second bidang's reply (a run started by hand) is not posted,
        # whether the first one is already up or still on its way.
        def name(code: str) -> str:
            try:
                return cfg.bidang_by_code(code).name
            except KeyError:
                return code

        status = f" ({done.url})" if done is not None else " (sedang diunggah)"
        message = (
            f"Informasi masuk #{item_id} sudah dijawab oleh {name(first.bidang)}{status}; jawaban "
            f"{name(bidang)} tidak diunggah agar warga tidak menerima dua balasan. Bila perlu "
            f"melengkapi, hubungi {name(first.bidang)} atau pengelola TI"
        )
        store.add(item_id, bidang, fu.EVENT_ERROR, text=message)
        raise AirflowFailException(message)
    text = decision.text if decision is not None else None
    forwarded = {f.bidang for f in Inbox(ledger).forwards() if f.item_id == item_id}

    def gate() -> None:
        check_reply(
            store.events(item_id),
            cfg,
            item_id=item_id,
            bidang=bidang,
            text=text,
            forwarded_to=forwarded,
            approver_role=REPLY_APPROVER_ROLE,
            run_id=run_id,
        )

    def attempt(replier: Replier, key: str, retrying: bool) -> PublishResult:
        target = fu.target_of(item)
        found = replier.find_reply(target, text or "", key) if retrying else None
        return found or replier.reply(target, text or "", key)

    try:
        settled, fresh = write_once(
            results, gate=gate, writer=lambda: replier_for(item.channel, cfg), attempt=attempt
        )
    except ApprovalMissingError as exc:  # recorded in record 3; never retried
        raise AirflowFailException(str(exc)) from None
    if fresh is None:
        log.info("Balasan #%s sudah diunggah sebelumnya: %s", item_id, settled.url)
    else:
        where = "OUTBOX (koneksi belum diatur)" if fresh.mode == "outbox" else fresh.url
        log.info("Balasan untuk #%s (%s) diunggah: %s", item_id, CHANNEL_NAMES[item.channel], where)
    return {"item_id": item_id, "mode": settled.mode, "post_id": settled.post_id, "url": settled.url}


def reminders(ledger: Ledger, cfg: OfficeConfig, notify: Any, now: datetime | None = None) -> int:
    """Follow-up reminders (bidang, then officer; again after a returned reply) and KIP deadline
    reminders naming the current deadline; each sent once."""
    now = now or datetime.now(UTC)
    store = fu.FollowUps(ledger)
    sent = 0
    for item, bidang, kind, recipients in fu.due_follow_up_reminders(store, cfg, now):
        clock = store.ppid_clock(item.id) if kind in (fu.REMIND_PPID, fu.REMIND_PPID_EXTENDED) else None
        subject, text = fu.remind_text(item, bidang, kind, now, deadline=clock.deadline if clock else None)
        notify(recipients, subject, text)
        store.add(item.id, bidang, fu.EVENT_REMINDED, detail={"kind": kind, "recipients": recipients})
        sent += 1
    return sent


def approval_reminders(ledger: Ledger, cfg: OfficeConfig, notify: Any, now: datetime | None = None) -> int:
    """Remind the approver of replies waiting past step 9's standard time (see
    ``fu.due_approval_reminders``); each reminder recorded so none repeats within the interval."""
    now = now or datetime.now(UTC)
    store = fu.FollowUps(ledger)
    sent = 0
    for r in fu.due_approval_reminders(store, cfg, now):
        subject, text = fu.approval_remind_text(r, cfg)
        notify(list(r.recipients), subject, text)
        store.add(
            r.item.id,
            r.bidang,
            fu.EVENT_REMINDED,
            run_id=r.request.run_id,
            detail={
                "kind": fu.REMIND_APPROVAL,
                "request_id": r.request.id,
                "recipients": list(r.recipients),
                "waiting_minutes": r.waiting_minutes,
                "at": now.isoformat(),
            },
        )
        sent += 1
    return sent
