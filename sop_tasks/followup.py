"""SOP steps 8–9: a bidang follows up an incoming item; the reply goes where the item came from.

Record 3 (data/informasi tindak lanjut) is append-only: each decision, reminder and posted reply
is an event. Public text is shown inert everywhere.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from sop_tasks.channels.base import ReplyTarget
from sop_tasks.config import CHANNEL_NAMES, OfficeConfig
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
from sop_tasks.render import inert_block, inert_inline
from sop_tasks.sop import step

OPTION_REPLY = "Balas — unggah jawaban di tempat pesan masuk"
OPTION_NO_REPLY = "Tidak perlu dibalas"
OPTION_REROUTE = "Teruskan ke bidang lain"
OPTIONS = [OPTION_REPLY, OPTION_NO_REPLY, OPTION_REROUTE]
PARAM_REPLY, PARAM_REASON, PARAM_TARGET, PARAM_PPID = "reply", "alasan", "bidang_tujuan", "ppid"
REQUIRED_BY_OPTION = {OPTION_REPLY: PARAM_REPLY, OPTION_NO_REPLY: PARAM_REASON, OPTION_REROUTE: PARAM_TARGET}
DECISIONS = {OPTION_REPLY: "reply", OPTION_NO_REPLY: "no_reply", OPTION_REROUTE: "reroute"}
STEP7, STEP8, STEP9 = step(7), step(8), step(9)


class FollowUpError(Exception):
    """A follow-up that cannot go on as asked; the message says why, in Indonesian."""


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

    def add(self, item_id: int, bidang: str, event: str, **kw: Any) -> None:
        with self.ledger.session() as s:
            s.add(FollowUpEvent(item_id=item_id, bidang=bidang, event=event, at=utcnow(), **kw))
            s.commit()

    def open(self, item_id: int, bidang: str, run_id: str) -> ItemView:
        view = self.view(item_id)
        if view.item.spam:
            raise FollowUpError(f"Informasi masuk #{item_id} ditandai spam; tidak ditindaklanjuti")
        if not any(e.event == "opened" and e.bidang == bidang for e in self.events(item_id)):
            self.add(item_id, bidang, "opened", run_id=run_id)
        return view

    def decided(self, item_id: int, bidang: str) -> FollowUpEvent | None:
        """The bidang's decision, if it already gave one (answering twice is refused)."""
        for e in self.events(item_id):
            if e.bidang == bidang and e.event in DECISIONS.values():
                return e
        return None

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
                f"Informasi masuk #{item_id} sudah ditindaklanjuti {bidang} ({earlier.event}) oleh "
                f"{earlier.actor}; jawaban kedua tidak dicatat"
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
        """(item, bidang, events) for every forwarded item a bidang has not decided yet."""
        with self.ledger.session() as s:
            forwards = list(s.scalars(select(Forward).order_by(Forward.id)))
            items = {i.id: i for i in s.scalars(select(IncomingItemRow))}
            events: dict[int, list[FollowUpEvent]] = {}
            for e in s.scalars(select(FollowUpEvent).order_by(FollowUpEvent.id)):
                events.setdefault(e.item_id, []).append(e)
        out = []
        for f in forwards:
            evs = events.get(f.item_id, [])
            if any(e.bidang == f.bidang and e.event in DECISIONS.values() for e in evs):
                continue
            out.append((items[f.item_id], f.bidang, evs))
        return out

    def ppid_deadlines(self) -> list[tuple[int, str, date]]:
        """(item, bidang, deadline) of every item marked as a public-information request."""
        with self.ledger.session() as s:
            rows = s.scalars(
                select(FollowUpEvent).where(FollowUpEvent.ppid.is_(True), FollowUpEvent.deadline.is_not(None))
            )
            return [(e.item_id, e.bidang, e.deadline) for e in rows if e.deadline]

    def summaries(self) -> list[dict[str, Any]]:
        """Record 3 rows: elapsed times incoming → forwarded → answered → posted, vs. standards."""
        rows = []
        with self.ledger.session() as s:
            forwards = list(s.scalars(select(Forward).order_by(Forward.id)))
        for f in forwards:
            view = self.view(f.item_id)
            evs = [e for e in self.events(f.item_id) if e.bidang == f.bidang]
            decision = next((e for e in evs if e.event in DECISIONS.values()), None)
            posted = next(
                (r for r in self.reply_results(f.item_id) if r.status in ("published", "outbox")), None
            )
            ppid = next((e for e in evs if e.ppid), None)
            item = view.item

            def secs(a: datetime | None, b: datetime | None) -> float | None:
                return None if a is None or b is None else round(max(0.0, (b - a).total_seconds()), 1)

            rows.append(
                {
                    "item_id": item.id,
                    "channel": item.channel,
                    "bidang": f.bidang,
                    "status": decision.event if decision else "menunggu tindak lanjut",
                    "answered_by": decision.actor if decision else None,
                    "answered_at": (to_wib(decision.at) or decision.at).isoformat() if decision else None,
                    "reply_text": decision.text if decision and decision.event == "reply" else None,
                    "reason": decision.text if decision and decision.event == "no_reply" else None,
                    "rerouted_to": decision.target_bidang if decision else None,
                    "posted": {"mode": posted.mode, "post_id": posted.post_id, "url": posted.url}
                    if posted
                    else None,
                    "seconds_incoming_to_forwarded": secs(item.seen_at, f.forwarded_at),
                    "standard_forward_seconds": STEP7.standard_seconds,
                    "seconds_forwarded_to_answered": secs(f.forwarded_at, decision.at if decision else None),
                    "seconds_answered_to_posted": secs(
                        decision.at if decision else None, posted.recorded_at if posted else None
                    ),
                    "standard_post_seconds": STEP9.standard_seconds,
                    "ppid": bool(ppid),
                    "ppid_deadline": ppid.deadline.isoformat() if ppid and ppid.deadline else None,
                }
            )
        return rows


def body(view: ItemView, bidang_name: str) -> str:
    """Markdown of the follow-up request; the citizen's words are inert."""
    i = view.item
    when = to_wib(i.created_at)
    lines = [
        f"**SOP langkah {STEP8.number} — tindak lanjut oleh {bidang_name}.** Informasi masuk #{i.id} "
        f"lewat {CHANNEL_NAMES.get(i.channel, i.channel)} ({i.kind}), {when:%d-%m-%Y %H:%M} WIB.",
        "",
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
    "ppid" when a public-information deadline is within ``ppid_remind_before_working_days``.
    """
    cal = cfg.calendar()
    today = now.astimezone(cfg.tz).date()
    out = []
    for item, bidang, evs in fu.open_items():
        sent = {(e.detail or {}).get("kind") for e in evs if e.event == "reminded" and e.bidang == bidang}
        seen = (to_wib(item.seen_at) or item.seen_at).date()
        waited = cal.working_days_between(seen, today)
        b = cfg.bidang_by_code(bidang)
        if waited >= cfg.follow_up.remind_after_working_days and "bidang" not in sent:
            out.append((item, bidang, "bidang", list(b.emails)))
        if waited >= cfg.follow_up.remind_after_working_days + 1 and "pengelola" not in sent:
            out.append((item, bidang, "pengelola", list(cfg.officers.emails)))
    for item_id, bidang, deadline in fu.ppid_deadlines():
        evs = fu.events(item_id)
        if any(e.event in ("posted", "no_reply") for e in evs):  # answered, or handled otherwise
            continue
        sent = {(e.detail or {}).get("kind") for e in evs if e.event == "reminded"}
        if cal.working_days_between(today, deadline) <= cfg.follow_up.ppid_remind_before_working_days:
            if "ppid" not in sent:
                view = fu.view(item_id)
                recipients = list(cfg.bidang_by_code(bidang).emails) + list(cfg.officers.emails)
                out.append((view.item, bidang, "ppid", recipients))
    return out


def ppid_deadline(cfg: OfficeConfig, received: datetime) -> date:
    return cfg.calendar().deadline(received.astimezone(cfg.tz), cfg.follow_up.ppid_days)


def remind_text(item: IncomingItemRow, bidang: str, kind: str, now: datetime) -> tuple[str, str]:
    if kind == "ppid":
        return (
            f"[SOP] Batas waktu permohonan informasi publik #{item.id} mendekat",
            f"Permohonan informasi publik #{item.id} ({bidang}) harus dijawab sebelum batas waktu "
            "UU 14/2008. "
            "Jawab di Airflow → Browse → Required Actions.",
        )
    who = "bidang" if kind == "bidang" else "pengelola TI"
    return (
        f"[SOP] Informasi masuk #{item.id} belum ditindaklanjuti",
        f"Pengingat untuk {who}: informasi masuk #{item.id} "
        f"({CHANNEL_NAMES.get(item.channel, item.channel)}) "
        f"untuk {bidang} belum ditindaklanjuti sejak {to_wib(item.seen_at):%d-%m-%Y %H:%M} WIB. "
        "Buka Airflow → Browse → Required Actions.",
    )
