"""SOP steps 8–9: a bidang follows up an incoming item; the reply goes where the item came from.

Record 3 (data/informasi tindak lanjut) is append-only: each decision, reminder and posted reply
is an event. Public text is shown inert everywhere.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from sop_tasks.channels.base import ReplyTarget
from sop_tasks.config import CHANNEL_NAMES, OfficeConfig
from sop_tasks.records.inbox import Inbox
from sop_tasks.records.ledger import WIB, Ledger, to_wib, utcnow
from sop_tasks.records.models import (
    ChannelResult,
    FollowUpEvent,
    Forward,
    IncomingItemRow,
    ReplyResult,
    Submission,
)
from sop_tasks.render import inert_block, inert_inline, plain_line
from sop_tasks.sop import step

OPTION_REPLY = "Balas — unggah jawaban di tempat pesan masuk"
OPTION_NO_REPLY = "Tidak perlu dibalas"
OPTION_REROUTE = "Teruskan ke bidang lain"
OPTIONS = [OPTION_REPLY, OPTION_NO_REPLY, OPTION_REROUTE]
PARAM_REPLY, PARAM_REASON, PARAM_TARGET, PARAM_PPID = "reply", "alasan", "bidang_tujuan", "ppid"
REQUIRED_BY_OPTION = {OPTION_REPLY: PARAM_REPLY, OPTION_NO_REPLY: PARAM_REASON, OPTION_REROUTE: PARAM_TARGET}
DECISIONS = {OPTION_REPLY: "reply", OPTION_NO_REPLY: "no_reply", OPTION_REROUTE: "reroute"}
DECISION_WORDS = {"reply": "dibalas", "no_reply": "dinyatakan tidak perlu dibalas", "reroute": "diteruskan"}
STEP7, STEP8, STEP9 = step(7), step(8), step(9)

# Record 3 event names besides the decisions (the column is free text; these are the ones we write).
EVENT_PPID = "ppid"  # marked as a public-information request (deadline = ppid_days working days)
EVENT_PPID_EXTENDED = "ppid_extended"  # extended once (deadline = the new one; text = the reason)
EVENT_POSTED, EVENT_REMINDED, EVENT_ERROR = "posted", "reminded", "error"
# follow_up.replies_need_approval: the official's approval of a reply (SOP warning 1 for replies).
# A returned reply no longer stands: the bidang answers again in a revision run.
EVENT_APPROVAL_REQUESTED = "reply_approval_requested"  # detail["reply_id"]: the reply to approve
EVENT_APPROVED, EVENT_RETURNED = "reply_approved", "reply_returned"
VERDICTS = (EVENT_APPROVED, EVENT_RETURNED)
# Who approves a bidang's reply: the Kasubag Umum dan Kepegawaian is the first verifier of everything
# the office publishes and the sub-division that handles its public communication; one official
# (not the three-step chain of SOP steps 2–4) because step 9's standard time is five minutes.
REPLY_APPROVER_ROLE = "kasubag"
# Reminder kinds (FollowUpEvent.detail["kind"] of a "reminded" event).
REMIND_BIDANG, REMIND_OFFICER = "bidang", "pengelola"
REMIND_REVISION_BIDANG, REMIND_REVISION_OFFICER = "revisi_bidang", "revisi_pengelola"  # after a return
REMIND_PPID, REMIND_PPID_EXTENDED = "ppid", "ppid_diperpanjang"
REMIND_APPROVAL = "persetujuan_balasan"  # detail["request_id"]: the approval request reminded about
# Approval reminders stop after this long (like the verification reminders): a request nobody
# will answer any more (its run was failed or deleted by hand) is not mailed about forever.
APPROVAL_REMINDERS_STOP_AFTER = timedelta(days=3)
_DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")


def fmt_date(d: date) -> str:
    """``Kamis, 07-01-2027`` — how a date is shown to staff."""
    return f"{_DAYS[d.weekday()]}, {d:%d-%m-%Y}"


class FollowUpError(Exception):
    """A follow-up that cannot go on as asked; the message says why, in Indonesian."""


@dataclass(frozen=True)
class PpidClock:
    """The UU 14/2008 clock of one public-information request (per item, whichever bidang answers).

    ``original_deadline`` is ``ppid_days`` working days after the request arrived; one extension
    (``ppid_extension_days`` more working days, with a written reason) moves ``deadline``.
    ``answered_at`` is when the request was handled: the reply was posted, or a bidang decided it
    needs no reply here (e.g. answered by official letter). Times are naive UTC like the ledger.
    """

    item_id: int
    bidang: str  # who should answer now: the bidang of the latest forward
    original_deadline: date
    extended_deadline: date | None = None
    extension_reason: str | None = None
    extended_by: str | None = None
    extended_at: datetime | None = None
    answered_at: datetime | None = None

    @property
    def deadline(self) -> date:
        return self.extended_deadline or self.original_deadline

    @property
    def extended(self) -> bool:
        return self.extended_deadline is not None

    def lapsed(self, today: date) -> bool:
        """Past the deadline: still unanswered after it (today, WIB), or answered after it."""
        if self.answered_at is not None:
            return (to_wib(self.answered_at) or self.answered_at).date() > self.deadline
        return today > self.deadline


def ppid_clock_from(
    item_id: int, events: Iterable[FollowUpEvent], bidang: str | None = None
) -> PpidClock | None:
    """The clock of an item from its record-3 events (None when it is not a PPID request).

    The first deadline recorded is the legal one; only the first extension counts (a second one,
    e.g. from a race between two officers, is kept in the log but never moves the deadline).
    """
    evs = sorted(events, key=lambda e: e.id)
    marked = next((e for e in evs if e.ppid and e.deadline and e.event != EVENT_PPID_EXTENDED), None)
    if marked is None or marked.deadline is None:
        return None
    ext = next((e for e in evs if e.event == EVENT_PPID_EXTENDED and e.deadline), None)
    answered = next((e for e in evs if e.event in (EVENT_POSTED, "no_reply")), None)
    return PpidClock(
        item_id=item_id,
        bidang=bidang or marked.bidang,
        original_deadline=marked.deadline,
        extended_deadline=ext.deadline if ext else None,
        extension_reason=ext.text if ext else None,
        extended_by=ext.actor if ext else None,
        extended_at=ext.at if ext else None,
        answered_at=answered.at if answered else None,
    )


@dataclass(frozen=True)
class ReturnedReply:
    """A bidang's reply the approving official returned (``reply_returned``): it no longer stands."""

    reply: FollowUpEvent
    returned: FollowUpEvent


def standing_decision(events: Iterable[FollowUpEvent], bidang: str) -> FollowUpEvent | None:
    """The bidang's decision that stands, if any.

    The first decision counts (a second one recorded by a race is kept in the log but ignored),
    except a reply the official returned: after ``reply_returned`` the bidang has no decision and
    its next one (from the revision run) counts.
    """
    return _decisions(events, bidang)[0]


def returned_replies(events: Iterable[FollowUpEvent], bidang: str) -> list[ReturnedReply]:
    """Every reply of the bidang that was returned, oldest first."""
    return _decisions(events, bidang)[1]


def _decisions(
    events: Iterable[FollowUpEvent], bidang: str
) -> tuple[FollowUpEvent | None, list[ReturnedReply]]:
    standing: FollowUpEvent | None = None
    returns: list[ReturnedReply] = []
    for e in sorted((e for e in events if e.bidang == bidang), key=lambda e: e.id):
        if e.event in DECISIONS.values() and standing is None:
            standing = e
        elif e.event == EVENT_RETURNED and standing is not None and standing.event == "reply":
            returns.append(ReturnedReply(standing, e))
            standing = None
    return standing, returns


def verdict_on(events: Iterable[FollowUpEvent], reply: FollowUpEvent) -> FollowUpEvent | None:
    """The official's verdict (approved or returned) on this very reply, if given."""
    return next(
        (
            e
            for e in sorted(events, key=lambda e: e.id)
            if e.bidang == reply.bidang and e.event in VERDICTS and e.id > reply.id
        ),
        None,
    )


def awaiting_approval(events: Iterable[FollowUpEvent], bidang: str) -> FollowUpEvent | None:
    """The approval request of the bidang's standing reply that no verdict has answered yet."""
    evs = sorted(events, key=lambda e: e.id)
    reply = standing_decision(evs, bidang)
    if reply is None or reply.event != "reply" or verdict_on(evs, reply) is not None:
        return None
    requests = [
        e for e in evs if e.bidang == bidang and e.event == EVENT_APPROVAL_REQUESTED and e.id > reply.id
    ]
    return requests[-1] if requests else None


@dataclass(frozen=True)
class ItemView:
    item: IncomingItemRow
    forwarded_at: datetime | None
    submission_title: str | None
    post_url: str | None


def reply_key(item: IncomingItemRow) -> str:
    digest = hashlib.sha256(f"reply/{item.channel}/{item.platform_id}".encode()).hexdigest()[:12]
    return f"balas{item.id}-{item.channel}-{digest}"


def target_of(item: IncomingItemRow) -> ReplyTarget:
    return ReplyTarget(
        channel=item.channel,
        platform_id=item.platform_id,
        kind=item.kind,
        post_ref=item.post_ref,
        thread_id=item.thread_id,
        author=item.author,
    )


class FollowUps:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.inbox = Inbox(ledger)

    def view(self, item_id: int) -> ItemView:
        with self.ledger.session() as s:
            item = s.get(IncomingItemRow, item_id)
            if item is None:
                raise FollowUpError(f"Informasi masuk #{item_id} tidak ada di catatan; periksa nomornya")
            fwd = s.scalars(select(Forward).where(Forward.item_id == item_id).order_by(Forward.id)).first()
            title = url = None
            if item.submission_id:
                sub = s.get(Submission, item.submission_id)
                title = sub.title if sub else None
                res = s.scalars(
                    select(ChannelResult).where(
                        ChannelResult.submission_id == item.submission_id,
                        ChannelResult.channel == item.channel,
                        ChannelResult.status == "published",
                    )
                ).first()
                url = res.url if res else None
            return ItemView(item, fwd.forwarded_at if fwd else None, title, url)

    def events(self, item_id: int) -> list[FollowUpEvent]:
        with self.ledger.session() as s:
            return list(
                s.scalars(
                    select(FollowUpEvent).where(FollowUpEvent.item_id == item_id).order_by(FollowUpEvent.id)
                )
            )

    def add(self, item_id: int, bidang: str, event: str, **kw: Any) -> int:
        """Append one record-3 event; returns its id."""
        with self.ledger.session() as s:
            row = FollowUpEvent(item_id=item_id, bidang=bidang, event=event, at=utcnow(), **kw)
            s.add(row)
            s.commit()
            return row.id

    def open(self, item_id: int, bidang: str, run_id: str) -> ItemView:
        """Record that the bidang's follow-up started (once, and once more per revision run)."""
        view = self.view(item_id)
        if view.item.spam:
            raise FollowUpError(f"Informasi masuk #{item_id} ditandai spam; tidak ditindaklanjuti")
        evs = self.events(item_id)
        revision = self.awaiting_revision(item_id, bidang, evs)
        since = revision.returned.id if revision else 0
        if not any(e.event == "opened" and e.bidang == bidang and e.id > since for e in evs):
            detail = {"revision_of": revision.reply.id} if revision else None
            self.add(item_id, bidang, "opened", run_id=run_id, detail=detail)
        return view

    def decided(self, item_id: int, bidang: str) -> FollowUpEvent | None:
        """The bidang's standing decision (answering twice is refused); a returned reply is not one."""
        return standing_decision(self.events(item_id), bidang)

    def returned(self, item_id: int, bidang: str) -> list[ReturnedReply]:
        """The bidang's replies the official returned, oldest first."""
        return returned_replies(self.events(item_id), bidang)

    def awaiting_revision(
        self, item_id: int, bidang: str, events: list[FollowUpEvent] | None = None
    ) -> ReturnedReply | None:
        """The last returned reply when the bidang has not decided again since (None otherwise)."""
        evs = self.events(item_id) if events is None else events
        standing, returns = _decisions(evs, bidang)
        return returns[-1] if standing is None and returns else None

    def decide(
        self,
        item_id: int,
        bidang: str,
        *,
        decision: str,
        actor: str,
        text: str | None,
        target_bidang: str | None,
        ppid: bool,
        deadline: date | None,
        run_id: str,
    ) -> None:
        earlier = self.decided(item_id, bidang)
        if earlier is not None:
            raise FollowUpError(
                f"Informasi masuk #{item_id} sudah ditindaklanjuti {bidang} "
                f"({DECISION_WORDS.get(earlier.event, earlier.event)}, oleh {earlier.actor}); "
                "jawaban kedua tidak dicatat"
            )
        self.add(
            item_id,
            bidang,
            decision,
            actor=actor,
            text=text,
            target_bidang=target_bidang,
            ppid=ppid,
            deadline=deadline,
            run_id=run_id,
        )

    # ---- step 9: posted replies -----------------------------------------------------------
    def reply_results(self, item_id: int) -> list[ReplyResult]:
        with self.ledger.session() as s:
            return list(
                s.scalars(select(ReplyResult).where(ReplyResult.item_id == item_id).order_by(ReplyResult.id))
            )

    def add_reply_result(self, item_id: int, channel: str, **kw: Any) -> None:
        if kw.get("status") == "published" and not (kw.get("post_id") and kw.get("url")):
            raise ValueError("a published reply needs the platform's id and URL")
        with self.ledger.session() as s:
            s.add(ReplyResult(item_id=item_id, channel=channel, recorded_at=utcnow(), **kw))
            s.commit()

    # ---- reminders and the KIP clock ------------------------------------------------------
    def open_items(self) -> list[tuple[IncomingItemRow, str, list[FollowUpEvent]]]:
        """(item, bidang, events) for every forwarded item a bidang has not decided yet — or whose
        reply the official returned (the bidang owes a new answer)."""
        with self.ledger.session() as s:
            forwards = list(s.scalars(select(Forward).order_by(Forward.id)))
            items = {i.id: i for i in s.scalars(select(IncomingItemRow))}
            events: dict[int, list[FollowUpEvent]] = {}
            for e in s.scalars(select(FollowUpEvent).order_by(FollowUpEvent.id)):
                events.setdefault(e.item_id, []).append(e)
        out = []
        for f in forwards:
            evs = events.get(f.item_id, [])
            if standing_decision(evs, f.bidang) is not None:
                continue
            out.append((items[f.item_id], f.bidang, evs))
        return out

    def approval_requests(self) -> list[tuple[IncomingItemRow, str, FollowUpEvent, list[FollowUpEvent]]]:
        """(item, bidang, request, events) of every reply still waiting for the official's verdict."""
        with self.ledger.session() as s:
            asked = select(FollowUpEvent.item_id).where(FollowUpEvent.event == EVENT_APPROVAL_REQUESTED)
            evs = list(
                s.scalars(
                    select(FollowUpEvent).where(FollowUpEvent.item_id.in_(asked)).order_by(FollowUpEvent.id)
                )
            )
            items = {i.id: i for i in s.scalars(select(IncomingItemRow).where(IncomingItemRow.id.in_(asked)))}
        by_item: dict[int, list[FollowUpEvent]] = {}
        for e in evs:
            by_item.setdefault(e.item_id, []).append(e)
        out = []
        for item_id, item_evs in by_item.items():
            for bidang in dict.fromkeys(e.bidang for e in item_evs if e.event == EVENT_APPROVAL_REQUESTED):
                request = awaiting_approval(item_evs, bidang)
                if request is not None:
                    out.append((items[item_id], bidang, request, item_evs))
        return out

    def latest_bidang(self, item_id: int) -> str | None:
        """The bidang the item was last forwarded to (a reroute forwards it again)."""
        with self.ledger.session() as s:
            fwd = s.scalars(
                select(Forward).where(Forward.item_id == item_id).order_by(Forward.id.desc()).limit(1)
            ).first()
            return fwd.bidang if fwd else None

    def ppid_clock(self, item_id: int) -> PpidClock | None:
        return ppid_clock_from(item_id, self.events(item_id), self.latest_bidang(item_id))

    def ppid_clocks(self) -> dict[int, PpidClock]:
        """item id → clock of every item marked as a public-information request (two queries)."""
        with self.ledger.session() as s:
            marked = select(FollowUpEvent.item_id).where(FollowUpEvent.ppid.is_(True))
            evs = list(
                s.scalars(
                    select(FollowUpEvent).where(FollowUpEvent.item_id.in_(marked)).order_by(FollowUpEvent.id)
                )
            )
            fwds = list(s.scalars(select(Forward).where(Forward.item_id.in_(marked)).order_by(Forward.id)))
        latest = {f.item_id: f.bidang for f in fwds}  # in id order: the last forward wins
        by_item: dict[int, list[FollowUpEvent]] = {}
        for e in evs:
            by_item.setdefault(e.item_id, []).append(e)
        clocks = {i: ppid_clock_from(i, e, latest.get(i)) for i, e in by_item.items()}
        return {i: c for i, c in clocks.items() if c is not None}

    def ppid_deadlines(self) -> list[tuple[int, str, date]]:
        """(item, bidang, current deadline) of every public-information request, one per item.

        The current deadline is the extended one after ``sop ppid extend``.
        """
        return [(c.item_id, c.bidang, c.deadline) for c in self.ppid_clocks().values()]

    def extend_ppid(
        self, item_id: int, *, reason: str, actor: str, cfg: OfficeConfig, now: datetime | None = None
    ) -> PpidClock:
        """Extend a public-information request's deadline once (UU 14/2008 art. 22(8)).

        The new deadline is ``ppid_extension_days`` working days after the original one. Refused,
        with what to do, when the item is unknown or not a PPID request, was already extended,
        is already answered, or its deadline has lapsed (the extension must be notified to the
        requester *before* the deadline, so a lapsed one cannot be extended after the fact).
        """
        now = now or datetime.now(UTC)
        today = now.astimezone(cfg.tz).date()
        reason, actor = (reason or "").strip(), (actor or "").strip()
        view = self.view(item_id)  # unknown item: FollowUpError
        if not reason:
            raise FollowUpError(
                "Alasan perpanjangan wajib diisi: UU 14/2008 pasal 22 ayat (8) mensyaratkan alasan "
                'tertulis. Tulis --alasan "..."'
            )
        if not actor:
            raise FollowUpError('Siapa yang memperpanjang wajib dicatat: tulis --oleh "nama"')
        days = cfg.follow_up.ppid_extension_days
        if days <= 0:
            raise FollowUpError(
                "Perpanjangan batas PPID tidak diaktifkan: follow_up.ppid_extension_days di "
                "config/office.yaml bernilai 0"
            )
        evs = self.events(item_id)
        clock = ppid_clock_from(item_id, evs, self.latest_bidang(item_id) or view.item.bidang)
        if clock is None:
            raise FollowUpError(
                f"Informasi masuk #{item_id} bukan permohonan informasi publik (tidak ditandai PPID), "
                "jadi tidak punya batas waktu untuk diperpanjang. Bila memang permohonan informasi "
                "publik, bidang mencentang 'ppid' saat menindaklanjutinya di Airflow "
                "(Browse → Required Actions)."
            )
        if clock.extended:
            when = to_wib(clock.extended_at)
            raise FollowUpError(
                f"Permohonan informasi publik #{item_id} sudah diperpanjang"
                f"{f' pada {when:%d-%m-%Y %H:%M} WIB' if when else ''} oleh {clock.extended_by or '-'} "
                f"sampai {fmt_date(clock.deadline)}; UU 14/2008 hanya mengizinkan satu kali perpanjangan. "
                "Jawab permohonan sebelum batas itu."
            )
        # answered (as the PPID clock counts it): a posted reply, or a standing "no reply needed".
        # A reply still waiting for approval or for its upload has not reached the requester.
        standing = [standing_decision(evs, b) for b in dict.fromkeys(e.bidang for e in evs)]
        closed = next((e for e in evs if e.event == EVENT_POSTED), None) or next(
            (d for d in standing if d is not None and d.event == "no_reply"), None
        )
        if closed is not None:
            what = (
                "dinyatakan tidak perlu dibalas"
                if closed.event == "no_reply"
                else "dijawab (balasannya diunggah)"
            )
            raise FollowUpError(
                f"Permohonan informasi publik #{item_id} sudah {what} ({closed.bidang}"
                f"{f', oleh {closed.actor}' if closed.actor else ''}, "
                f"{to_wib(closed.at):%d-%m-%Y %H:%M} WIB); perpanjangan tidak diperlukan."
            )
        if today > clock.original_deadline:
            raise FollowUpError(
                f"Batas waktu permohonan informasi publik #{item_id} sudah lewat "
                f"({fmt_date(clock.original_deadline)}; hari ini {fmt_date(today)}). Perpanjangan harus "
                "diberitahukan tertulis kepada pemohon sebelum batas berakhir (UU 14/2008 pasal 22 "
                "ayat (8)), jadi tidak dapat dicatat sekarang. Jawab permohonan secepatnya; pemohon "
                "berhak mengajukan keberatan kepada atasan PPID."
            )
        new_deadline = cfg.calendar().add_working_days(clock.original_deadline, days)
        mine = self.add(
            item_id,
            clock.bidang,
            EVENT_PPID_EXTENDED,
            actor=actor,
            text=reason,
            ppid=True,
            deadline=new_deadline,
            detail={
                "original_deadline": clock.original_deadline.isoformat(),
                "extension_working_days": days,
                "requested_on": today.isoformat(),
            },
        )
        first = next(e for e in self.events(item_id) if e.event == EVENT_PPID_EXTENDED)
        if first.id != mine:  # another officer extended it at the same moment: theirs counts
            raise FollowUpError(
                f"Permohonan informasi publik #{item_id} baru saja diperpanjang oleh {first.actor}; "
                "perpanjangan ini tidak berlaku (hanya satu kali)."
            )
        after = self.ppid_clock(item_id)
        assert after is not None
        return after

    def summaries(
        self,
        cfg: OfficeConfig | None = None,
        now: datetime | None = None,
        *,
        forwarded_between: tuple[datetime, datetime] | None = None,
    ) -> list[dict[str, Any]]:
        """Record 3 rows, one per item and bidang it was forwarded to.

        Who answered, when (WIB), what was posted or why not, elapsed times incoming → forwarded
        → answered → posted against the SOP's standard times, and the PPID clock (current
        deadline, extension, lapsed). ``cfg`` adds working days left before a PPID deadline.
        ``forwarded_between``: only the rows forwarded in that period (naive UTC, end excluded).

        A reply the official returned is not an answer: until the bidang answers again the row's
        status is ``reply_returned`` (label: who returned it, when and why; ``reply_text`` the
        returned reply), and every return stays listed in ``returned`` after the revision.
        """
        now = now or datetime.now(UTC)
        today = now.astimezone(cfg.tz if cfg else WIB).date()
        cal = cfg.calendar() if cfg else None
        with self.ledger.session() as s:
            ids = select(Forward.item_id)
            if forwarded_between is not None:  # one period (naive UTC, end excluded): its items only
                ids = ids.where(Forward.forwarded_at >= forwarded_between[0])
                ids = ids.where(Forward.forwarded_at < forwarded_between[1])
            forwards = list(s.scalars(select(Forward).where(Forward.item_id.in_(ids)).order_by(Forward.id)))
            items = {i.id: i for i in s.scalars(select(IncomingItemRow).where(IncomingItemRow.id.in_(ids)))}
            events: dict[int, list[FollowUpEvent]] = {}
            for e in s.scalars(
                select(FollowUpEvent).where(FollowUpEvent.item_id.in_(ids)).order_by(FollowUpEvent.id)
            ):
                events.setdefault(e.item_id, []).append(e)
            replies: dict[int, list[ReplyResult]] = {}
            for r in s.scalars(
                select(ReplyResult).where(ReplyResult.item_id.in_(ids)).order_by(ReplyResult.id)
            ):
                replies.setdefault(r.item_id, []).append(r)
        latest = {f.item_id: f.bidang for f in forwards}

        def iso(dt: datetime | None) -> str | None:
            return None if dt is None else (to_wib(dt) or dt).isoformat()

        def secs(a: datetime | None, b: datetime | None) -> float | None:
            return None if a is None or b is None else round(max(0.0, (b - a).total_seconds()), 1)

        def over(seconds: float | None, standard: int | None) -> bool:
            return bool(seconds is not None and standard and seconds > standard)

        rows = []
        for f in forwards:
            if forwarded_between and not forwarded_between[0] <= f.forwarded_at < forwarded_between[1]:
                continue  # an earlier or later forward of an item of the period (a reroute)
            item = items[f.item_id]
            all_evs = events.get(f.item_id, [])
            decision, returns = _decisions(all_evs, f.bidang)
            awaiting = returns[-1] if decision is None and returns else None
            verdict = verdict_on(all_evs, decision) if decision and decision.event == "reply" else None
            asked = decision is not None and awaiting_approval(all_evs, f.bidang) is not None
            results = replies.get(f.item_id, []) if decision and decision.event == "reply" else []
            posted = next((r for r in results if r.status in ("published", "outbox")), None)
            failed = next((r for r in reversed(results) if r.status == "error"), None)
            rerouted_from = f.via.split(":", 1)[1] if f.via.startswith("teruskan:") else None
            std_forward = None if rerouted_from else STEP7.standard_seconds  # a reroute is step 8
            to_forward = secs(item.seen_at, f.forwarded_at)
            to_post = secs(decision.at if decision else None, posted.recorded_at if posted else None)
            clock = ppid_clock_from(item.id, all_evs, latest.get(item.id))
            left = None
            if clock and cal and clock.answered_at is None and not clock.lapsed(today):
                left = cal.working_days_between(today, clock.deadline)
            rows.append(
                {
                    "item_id": item.id,
                    "channel": item.channel,
                    "kind": item.kind,
                    "author": item.author,
                    "text": item.text,
                    "item_url": item.url,
                    "created_at": iso(item.created_at),
                    "seen_at": iso(item.seen_at),
                    "bidang": f.bidang,
                    "forwarded_at": iso(f.forwarded_at),
                    "rerouted_from": rerouted_from,
                    "status": decision.event
                    if decision
                    else (EVENT_RETURNED if awaiting else "menunggu tindak lanjut"),
                    "status_label": _status_label(decision, posted, failed, returns, verdict, asked),
                    "answered_by": decision.actor if decision else None,
                    "answered_at": iso(decision.at) if decision else None,
                    "reply_text": decision.text
                    if decision and decision.event == "reply"
                    else (awaiting.reply.text if awaiting else None),
                    "approved": {"by": verdict.actor, "at": iso(verdict.at)}
                    if verdict and verdict.event == EVENT_APPROVED
                    else None,
                    "returned": [
                        {
                            "reply_text": r.reply.text,
                            "replied_by": r.reply.actor,
                            "replied_at": iso(r.reply.at),
                            "by": r.returned.actor,
                            "at": iso(r.returned.at),
                            "reason": r.returned.text,
                        }
                        for r in returns
                    ],
                    "reason": decision.text if decision and decision.event == "no_reply" else None,
                    "rerouted_to": decision.target_bidang if decision else None,
                    "posted": {"mode": posted.mode, "post_id": posted.post_id, "url": posted.url}
                    if posted
                    else None,
                    "posted_at": iso(posted.recorded_at) if posted else None,
                    "post_error": failed.message if failed and not posted else None,
                    "seconds_incoming_to_forwarded": to_forward,
                    "standard_forward_seconds": std_forward,
                    "over_standard_forward": over(to_forward, std_forward),
                    "seconds_forwarded_to_answered": secs(f.forwarded_at, decision.at if decision else None),
                    "seconds_answered_to_posted": to_post,
                    "standard_post_seconds": STEP9.standard_seconds,
                    "over_standard_post": over(to_post, STEP9.standard_seconds),
                    "ppid": clock is not None,
                    "ppid_deadline": clock.deadline.isoformat() if clock else None,
                    "ppid_original_deadline": clock.original_deadline.isoformat() if clock else None,
                    "ppid_extended": {
                        "deadline": clock.deadline.isoformat(),
                        "reason": clock.extension_reason,
                        "by": clock.extended_by,
                        "at": iso(clock.extended_at),
                    }
                    if clock and clock.extended
                    else None,
                    "ppid_answered_at": iso(clock.answered_at) if clock else None,
                    "ppid_lapsed": bool(clock and clock.lapsed(today)),
                    "ppid_working_days_left": left,
                }
            )
        return rows


def _status_label(
    decision: FollowUpEvent | None,
    posted: ReplyResult | None,
    failed: ReplyResult | None,
    returns: list[ReturnedReply] | None = None,
    verdict: FollowUpEvent | None = None,
    awaiting_approval: bool = False,
) -> str:
    """What staff read as the follow-up's status (one plain line: the CLI prints it as is)."""
    returns = returns or []
    if decision is None:
        if not returns:
            return "menunggu tindak lanjut"
        last = returns[-1].returned
        return plain_line(
            f"balasan dikembalikan oleh {last.actor or '?'} ({to_wib(last.at):%d-%m-%Y %H:%M} WIB), "
            f"alasan: {last.text or '-'} — menunggu jawaban baru bidang",
            200,
        )
    if decision.event == "no_reply":
        return "tidak perlu dibalas"
    if decision.event == "reroute":
        return f"diteruskan ke {decision.target_bidang or '-'}"
    revised = f" (revisi ke-{len(returns)})" if returns else ""
    if posted is not None:
        done = "dibalas (outbox, koneksi belum diatur)" if posted.mode == "outbox" else "dibalas"
        return done + revised
    if failed:
        return "dijawab, gagal diunggah" + revised
    if verdict is not None and verdict.event == EVENT_APPROVED:
        return f"dijawab, disetujui {verdict.actor or '?'}, menunggu diunggah{revised}"
    if awaiting_approval:
        return "dijawab, menunggu persetujuan balasan" + revised
    return "dijawab, menunggu diunggah" + revised


def body(view: ItemView, bidang_name: str, revision: ReturnedReply | None = None) -> str:
    """Markdown of the follow-up request; the citizen's words are inert.

    ``revision``: the bidang's reply the official returned — shown first (inert, with who returned
    it, when and why) so the new answer can fix it.
    """
    i = view.item
    when = to_wib(i.created_at)
    lines = [
        f"**SOP langkah {STEP8.number} — tindak lanjut oleh {bidang_name}.** Informasi masuk #{i.id} "
        f"lewat {CHANNEL_NAMES.get(i.channel, i.channel)} ({i.kind}), {when:%d-%m-%Y %H:%M} WIB.",
        "",
    ]
    if revision is not None:
        ret, reply = revision.returned, revision.reply
        lines += [
            f"**Revisi: balasan sebelumnya dikembalikan** oleh {inert_inline(ret.actor or '?')} pada "
            f"{to_wib(ret.at):%d-%m-%Y %H:%M} WIB dan tidak diunggah. Tulis jawaban baru (atau pilih "
            "tindak lanjut lain); jawaban baru disetujui lagi sebelum diunggah.",
            "",
            "**Alasan dikembalikan**",
            "",
            inert_block(ret.text or "-"),
            "",
            f"**Balasan yang dikembalikan** — ditulis oleh {inert_inline(reply.actor or '?')}, "
            f"{to_wib(reply.at):%d-%m-%Y %H:%M} WIB",
            "",
            inert_block(reply.text or ""),
            "",
        ]
    lines += [
        f"**Dari:** {inert_inline(i.author or '-')}",
        "",
        "**Pesan**",
        "",
        inert_block(i.text),
        "",
        f"**Tautan:** {inert_inline(i.url) if i.url else '-'}",
        "",
    ]
    if view.submission_title:
        lines += [f"**Unggahan kita yang dikomentari:** {inert_inline(view.submission_title)}", ""]
        if view.post_url:
            lines += [f"Tautan unggahan: {inert_inline(view.post_url)}", ""]
    lines += [
        f"**Alasan rute:** {inert_inline('; '.join(i.reasons or []))}",
        "",
        f"Pilih **{OPTION_REPLY}** dan tulis jawabannya di *{PARAM_REPLY}*; atau **{OPTION_NO_REPLY}** "
        f"dengan *{PARAM_REASON}*; atau **{OPTION_REROUTE}** dan pilih *{PARAM_TARGET}*. "
        f"Centang *{PARAM_PPID}* bila ini permohonan informasi publik (UU 14/2008: dijawab paling "
        "lambat 10 hari kerja).",
    ]
    return "\n".join(lines)


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


def ppid_deadline(cfg: OfficeConfig, received: datetime) -> date:
    return cfg.calendar().deadline(received.astimezone(cfg.tz), cfg.follow_up.ppid_days)


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
