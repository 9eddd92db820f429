"""Record 3 (data/informasi tindak lanjut) in the ledger: the queries and the appends.

The record is append-only: each decision, reminder and posted reply is an event.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from sop_tasks.channels.base import ReplyTarget
from sop_tasks.config import OfficeConfig
from sop_tasks.errors import FollowUpError
from sop_tasks.followup.decisions import (
    DECISION_WORDS,
    ReturnedReply,
    awaiting_approval,
    decision_history,
    returned_replies,
    standing_decision,
)
from sop_tasks.followup.events import EVENT_APPROVAL_REQUESTED, EVENT_POSTED, EVENT_PPID_EXTENDED
from sop_tasks.followup.ppid import PpidClock, ppid_clock_from
from sop_tasks.followup.render import ItemView, fmt_date
from sop_tasks.followup.summaries import summarize
from sop_tasks.records.inbox import Inbox
from sop_tasks.records.ledger import Ledger, to_wib, utcnow
from sop_tasks.records.models import (
    ChannelResult,
    FollowUpEvent,
    Forward,
    IncomingItemRow,
    ReplyResult,
    Submission,
)


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
        standing, returns = decision_history(evs, bidang)
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
        bidang: str | None = None,
    ) -> list[dict[str, Any]]:
        """Record 3 rows, one per item and bidang it was forwarded to: see :func:`summarize`."""
        return summarize(self.ledger, cfg, now, forwarded_between=forwarded_between, bidang=bidang)
