"""Reminders of record 3: a bidang's unanswered follow-up, a PPID deadline, a reply's approval."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sop_tasks.config import CHANNEL_NAMES, OfficeConfig
from sop_tasks.followup.events import EVENT_REMINDED, REPLY_APPROVER_ROLE, STEP9
from sop_tasks.followup.render import fmt_date
from sop_tasks.followup.store import FollowUps
from sop_tasks.records.ledger import WIB, to_wib
from sop_tasks.records.models import FollowUpEvent, IncomingItemRow

# Reminder kinds (FollowUpEvent.detail["kind"] of a "reminded" event).
REMIND_BIDANG, REMIND_OFFICER = "bidang", "pengelola"
REMIND_REVISION_BIDANG, REMIND_REVISION_OFFICER = "revisi_bidang", "revisi_pengelola"  # after a return
REMIND_PPID, REMIND_PPID_EXTENDED = "ppid", "ppid_diperpanjang"
REMIND_APPROVAL = "persetujuan_balasan"  # detail["request_id"]: the approval request reminded about
# Approval reminders stop after this long (like the verification reminders): a request nobody
# will answer any more (its run was failed or deleted by hand) is not mailed about forever.
APPROVAL_REMINDERS_STOP_AFTER = timedelta(days=3)


def due_follow_up_reminders(
    fu: FollowUps, cfg: OfficeConfig, now: datetime
) -> list[tuple[IncomingItemRow, str, str, list[str]]]:
    """(item, bidang, kind, recipients) of reminders due now; each kind once per item and bidang.

    kinds: "bidang" after ``remind_after_working_days``; "pengelola" one working day later;
    "revisi_bidang" and "revisi_pengelola" likewise, counted from when the official returned the
    bidang's reply (the bidang owes a new answer; each return starts them afresh);
    "ppid" when a public-information deadline is within ``ppid_remind_before_working_days``, and
    "ppid_diperpanjang" likewise before the extended deadline (so an extension that comes after
    the first PPID reminder still gets its own). Answered or handled requests are not reminded.
    """
    cal = cfg.calendar()
    today = now.astimezone(cfg.tz).date()
    out = []
    for item, bidang, evs in fu.open_items():
        revision = fu.awaiting_revision(item.id, bidang, evs)
        after = revision.returned.id if revision else 0
        sent = {
            (e.detail or {}).get("kind")
            for e in evs
            if e.event == EVENT_REMINDED and e.bidang == bidang and e.id > after
        }
        since = revision.returned.at if revision else item.seen_at
        waited = cal.working_days_between((to_wib(since) or since).date(), today)
        try:
            bidang_emails = list(cfg.bidang_by_code(bidang).emails)
        except KeyError:  # a bidang since removed from the config: its step goes to the officers
            bidang_emails = list(cfg.officers.emails)
        to_bidang, to_officer = (
            (REMIND_REVISION_BIDANG, REMIND_REVISION_OFFICER) if revision else (REMIND_BIDANG, REMIND_OFFICER)
        )
        if waited >= cfg.follow_up.remind_after_working_days and to_bidang not in sent:
            out.append((item, bidang, to_bidang, bidang_emails))
        if waited >= cfg.follow_up.remind_after_working_days + 1 and to_officer not in sent:
            out.append((item, bidang, to_officer, list(cfg.officers.emails)))
    for clock in fu.ppid_clocks().values():
        if clock.answered_at is not None:  # answered, or handled otherwise
            continue
        # one reminder before the original deadline, and one more before the extended one
        kind = REMIND_PPID_EXTENDED if clock.extended else REMIND_PPID
        evs = fu.events(clock.item_id)
        sent = {(e.detail or {}).get("kind") for e in evs if e.event == EVENT_REMINDED}
        if kind in sent:
            continue
        if cal.working_days_between(today, clock.deadline) <= cfg.follow_up.ppid_remind_before_working_days:
            try:
                recipients = list(cfg.bidang_by_code(clock.bidang).emails)
            except KeyError:  # a bidang since removed from the config: the officers still hear
                recipients = []
            recipients += [e for e in cfg.officers.emails if e not in recipients]
            out.append((fu.view(clock.item_id).item, clock.bidang, kind, recipients))
    return out


def remind_text(
    item: IncomingItemRow, bidang: str, kind: str, now: datetime, deadline: date | None = None
) -> tuple[str, str]:
    """Subject and text of a reminder. ``deadline``: the current PPID deadline, shown when given."""
    if kind in (REMIND_PPID, REMIND_PPID_EXTENDED):
        today = now.astimezone(WIB).date()
        lapsed = deadline is not None and today > deadline
        by = f"paling lambat {fmt_date(deadline)}" if deadline else "sebelum batas waktu"
        if kind == REMIND_PPID_EXTENDED:
            subject = f"[SOP] Batas waktu perpanjangan permohonan informasi publik #{item.id} mendekat"
            rule = "Batas ini sudah diperpanjang satu kali dan tidak dapat diperpanjang lagi."
        else:
            subject = f"[SOP] Batas waktu permohonan informasi publik #{item.id} mendekat"
            rule = (
                "Bila perlu, perpanjang satu kali sebelum batas itu dengan alasan tertulis: "
                f'sop ppid extend {item.id} --alasan "..."'
            )
        if lapsed:
            assert deadline is not None
            subject = f"[SOP] Batas waktu permohonan informasi publik #{item.id} sudah lewat"
            text = (
                f"Permohonan informasi publik #{item.id} ({bidang}) belum dijawab dan batas waktunya "
                f"({fmt_date(deadline)}, UU 14/2008) sudah lewat. Jawab secepatnya di Airflow → Browse → "
                "Required Actions."
            )
            return subject, text
        return (
            subject,
            f"Permohonan informasi publik #{item.id} ({bidang}) harus dijawab {by} (UU 14/2008). "
            f"{rule} Jawab di Airflow → Browse → Required Actions.",
        )
    who = "bidang" if kind in (REMIND_BIDANG, REMIND_REVISION_BIDANG) else "pengelola TI"
    if kind in (REMIND_REVISION_BIDANG, REMIND_REVISION_OFFICER):
        return (
            f"[SOP] Balasan informasi masuk #{item.id} dikembalikan, belum dijawab ulang",
            f"Pengingat untuk {who}: balasan {bidang} untuk informasi masuk #{item.id} "
            f"({CHANNEL_NAMES.get(item.channel, item.channel)}) dikembalikan pejabat dan belum dijawab "
            "ulang. Buka Airflow → Browse → Required Actions (tindak lanjut revisi) dan tulis jawaban "
            "baru sesuai alasan pengembaliannya.",
        )
    return (
        f"[SOP] Informasi masuk #{item.id} belum ditindaklanjuti",
        f"Pengingat untuk {who}: informasi masuk #{item.id} "
        f"({CHANNEL_NAMES.get(item.channel, item.channel)}) "
        f"untuk {bidang} belum ditindaklanjuti sejak {to_wib(item.seen_at):%d-%m-%Y %H:%M} WIB. "
        "Buka Airflow → Browse → Required Actions.",
    )


@dataclass(frozen=True)
class ApprovalReminder:
    """A reply waiting for the official's approval past step 9's standard time."""

    item: IncomingItemRow
    bidang: str
    request: FollowUpEvent  # the ``reply_approval_requested`` event
    waiting_minutes: int
    recipients: tuple[str, ...]


def due_approval_reminders(fu: FollowUps, cfg: OfficeConfig, now: datetime) -> list[ApprovalReminder]:
    """Reminders due now for replies still waiting for the official's approval.

    A reply is to be posted within step 9's standard time (5 minutes from the answer), and the
    approval is part of that time: once it has passed, the approver users' e-mails are reminded,
    then again every ``reminder_every_minutes`` (never twice within that interval), as the
    verifiers of steps 2–4 are; never after ``APPROVAL_REMINDERS_STOP_AFTER``. Nothing is ever
    approved by waiting. Counted from the approval request (``reply_approval_requested``), so a
    run with approval switched off is never reminded about.
    """
    standard = timedelta(minutes=STEP9.standard_minutes or 0)
    every = timedelta(minutes=cfg.reminder_every_minutes)
    recipients = tuple(cfg.verifier(REPLY_APPROVER_ROLE).emails)
    out = []
    for item, bidang, request, evs in fu.approval_requests():
        waited = now - request.at.replace(tzinfo=UTC)
        if waited < standard or waited > APPROVAL_REMINDERS_STOP_AFTER:
            continue
        sent = [
            datetime.fromisoformat(str(d["at"]))
            for e in evs
            if e.event == EVENT_REMINDED
            and (d := e.detail or {}).get("kind") == REMIND_APPROVAL
            and d.get("request_id") == request.id
            and d.get("at")
        ]
        if sent and now - max(sent) < every:
            continue
        out.append(ApprovalReminder(item, bidang, request, int(waited.total_seconds() // 60), recipients))
    return out


def approval_remind_text(r: ApprovalReminder, cfg: OfficeConfig) -> tuple[str, str]:
    """Subject and text of an approval reminder (plain text, Indonesian)."""
    approver = cfg.verifier(REPLY_APPROVER_ROLE)
    try:
        name = cfg.bidang_by_code(r.bidang).name
    except KeyError:
        name = r.bidang
    since = to_wib(r.request.at)
    return (
        f"[SOP] Pengingat persetujuan balasan informasi masuk #{r.item.id}",
        f"Balasan {name} untuk informasi masuk #{r.item.id} "
        f"({CHANNEL_NAMES.get(r.item.channel, r.item.channel)}) menunggu persetujuan {approver.title} "
        f"sejak {since:%d-%m-%Y %H:%M} WIB ({r.waiting_minutes} menit; waktu baku langkah "
        f"{STEP9.number}, dari jawaban sampai diunggah: {STEP9.standard_minutes} menit). Balasan tidak "
        "diunggah sebelum disetujui. Buka Airflow → Browse → Required Actions.",
    )
