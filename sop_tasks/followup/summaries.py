"""Record 3 rows for the reports and the CLI: one per item and bidang it was forwarded to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from sop_tasks.config import OfficeConfig
from sop_tasks.followup.decisions import ReturnedReply, awaiting_approval, decision_history, verdict_on
from sop_tasks.followup.events import EVENT_APPROVED, EVENT_REFUSED, EVENT_RETURNED, STEP7, STEP9
from sop_tasks.followup.ppid import ppid_clock_from
from sop_tasks.followup.render import status_label
from sop_tasks.records.ledger import WIB, Ledger, to_wib
from sop_tasks.records.models import FollowUpEvent, Forward, IncomingItemRow, ReplyResult

# The incoming-item columns a record-3 row shows (not the platform's raw payload).
ITEM_COLUMNS = ("id", "channel", "kind", "author", "text", "url", "created_at", "seen_at")


def _secs(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else round(max(0.0, (b - a).total_seconds()), 1)


def _load(
    ledger: Ledger,
    forwarded_between: tuple[datetime, datetime] | None,
    bidang: str | None,
    item_columns: tuple[str, ...],
) -> tuple[list[Any], dict[int, Any], dict[int, list[Any]], dict[int, list[Any]]]:
    """Forwards, items, events and reply results of the items in scope (see :func:`summarize`).

    Plain rows, not ORM objects: they carry the same attributes the code reads, and a month has
    thousands of them (building ORM objects was most of the summary page's time).
    """
    fwd_t, ev_t, rep_t, item_t = (
        Forward.__table__,
        FollowUpEvent.__table__,
        ReplyResult.__table__,
        IncomingItemRow.__table__,
    )
    item_cols = [item_t.c[n] for n in item_columns]
    with ledger.session() as s:
        conn = s.connection()
        ids = select(fwd_t.c.item_id)
        if forwarded_between is not None:  # one period (naive UTC, end excluded): its items only
            ids = ids.where(fwd_t.c.forwarded_at >= forwarded_between[0])
            ids = ids.where(fwd_t.c.forwarded_at < forwarded_between[1])
        if bidang is not None:
            ids = ids.where(fwd_t.c.bidang == bidang)
        forwards = list(
            conn.execute(select(fwd_t).where(fwd_t.c.item_id.in_(ids)).order_by(fwd_t.c.id)).all()
        )
        items = {i.id: i for i in conn.execute(select(*item_cols).where(item_t.c.id.in_(ids))).all()}
        events: dict[int, list[Any]] = {}
        for e in conn.execute(select(ev_t).where(ev_t.c.item_id.in_(ids)).order_by(ev_t.c.id)).all():
            events.setdefault(e.item_id, []).append(e)
        replies: dict[int, list[Any]] = {}
        for r in conn.execute(select(rep_t).where(rep_t.c.item_id.in_(ids)).order_by(rep_t.c.id)).all():
            replies.setdefault(r.item_id, []).append(r)
    return forwards, items, events, replies


def _in_scope(f: Any, forwarded_between: tuple[datetime, datetime] | None, bidang: str | None) -> bool:
    if forwarded_between and not forwarded_between[0] <= f.forwarded_at < forwarded_between[1]:
        return False  # an earlier or later forward of an item of the period (a reroute)
    return bidang is None or f.bidang == bidang  # not the item's forward to another bidang


@dataclass(frozen=True)
class _Core:
    """What a record-3 row's status and timings come from (shared by the rows and the figures)."""

    decision: Any
    returns: list[ReturnedReply]
    awaiting: ReturnedReply | None
    posted: Any
    status: str
    rerouted_from: str | None
    standard_forward_seconds: int | None
    seconds_incoming_to_forwarded: float | None
    seconds_forwarded_to_answered: float | None
    seconds_answered_to_posted: float | None


def _core(f: Any, seen_at: datetime | None, all_evs: list[Any], item_replies: list[Any]) -> _Core:
    decision, returns = decision_history(all_evs, f.bidang)
    awaiting = returns[-1] if decision is None and returns else None
    results = item_replies if decision and decision.event == "reply" else []
    posted = next((r for r in results if r.status in ("published", "outbox")), None)
    rerouted_from = f.via.split(":", 1)[1] if f.via.startswith("teruskan:") else None
    return _Core(
        decision=decision,
        returns=returns,
        awaiting=awaiting,
        posted=posted,
        status=decision.event if decision else (EVENT_RETURNED if awaiting else "menunggu tindak lanjut"),
        rerouted_from=rerouted_from,
        standard_forward_seconds=None if rerouted_from else STEP7.standard_seconds,  # a reroute is step 8
        seconds_incoming_to_forwarded=_secs(seen_at, f.forwarded_at),
        seconds_forwarded_to_answered=_secs(f.forwarded_at, decision.at if decision else None),
        seconds_answered_to_posted=_secs(
            decision.at if decision else None, posted.recorded_at if posted else None
        ),
    )


def timings(
    ledger: Ledger,
    *,
    forwarded_between: tuple[datetime, datetime] | None = None,
    bidang: str | None = None,
) -> list[dict[str, Any]]:
    """The part of :func:`summarize`'s rows the month's figures count — the same rows, with the
    same values under the same keys (``item_id``, ``bidang``, ``status``, ``answered_by``,
    ``posted`` (truthy when posted), ``seconds_*``, ``standard_forward_seconds``) — without the
    texts, links, labels and PPID clocks the figures never read."""
    forwards, items, events, replies = _load(ledger, forwarded_between, bidang, ("id", "seen_at"))
    rows = []
    for f in forwards:
        if not _in_scope(f, forwarded_between, bidang):
            continue
        core = _core(f, items[f.item_id].seen_at, events.get(f.item_id, []), replies.get(f.item_id, []))
        rows.append(
            {
                "item_id": f.item_id,
                "bidang": f.bidang,
                "status": core.status,
                "answered_by": core.decision.actor if core.decision else None,
                "posted": core.posted is not None,
                "seconds_incoming_to_forwarded": core.seconds_incoming_to_forwarded,
                "standard_forward_seconds": core.standard_forward_seconds,
                "seconds_forwarded_to_answered": core.seconds_forwarded_to_answered,
                "seconds_answered_to_posted": core.seconds_answered_to_posted,
            }
        )
    return rows


def summarize(
    ledger: Ledger,
    cfg: OfficeConfig | None = None,
    now: datetime | None = None,
    *,
    forwarded_between: tuple[datetime, datetime] | None = None,
    bidang: str | None = None,
) -> list[dict[str, Any]]:
    """Record 3 rows, one per item and bidang it was forwarded to.

    Who answered, when (WIB), what was posted or why not, elapsed times incoming → forwarded
    → answered → posted against the SOP's standard times, and the PPID clock (current
    deadline, extension, lapsed). ``cfg`` adds working days left before a PPID deadline.
    ``forwarded_between``: only the rows forwarded in that period (naive UTC, end excluded).
    ``bidang``: only the rows of items forwarded to that bidang (an item's other forwards and
    events still count for its clock and its latest bidang).

    A reply the official returned is not an answer: until the bidang answers again the row's
    status is ``reply_returned`` (label: who returned it, when and why; ``reply_text`` the
    returned reply), and every return stays listed in ``returned`` after the revision.
    """
    now = now or datetime.now(UTC)
    today = now.astimezone(cfg.tz if cfg else WIB).date()
    cal = cfg.calendar() if cfg else None
    forwards, items, events, replies = _load(ledger, forwarded_between, bidang, ITEM_COLUMNS)
    latest = {f.item_id: f.bidang for f in forwards}

    def iso(dt: datetime | None) -> str | None:
        return None if dt is None else (to_wib(dt) or dt).isoformat()

    def over(seconds: float | None, standard: int | None) -> bool:
        return bool(seconds is not None and standard and seconds > standard)

    rows = []
    for f in forwards:
        if not _in_scope(f, forwarded_between, bidang):
            continue
        item = items[f.item_id]
        all_evs = events.get(f.item_id, [])
        core = _core(f, item.seen_at, all_evs, replies.get(f.item_id, []))
        decision, returns, awaiting, posted = core.decision, core.returns, core.awaiting, core.posted
        verdict = verdict_on(all_evs, decision) if decision and decision.event == "reply" else None
        asked = decision is not None and awaiting_approval(all_evs, f.bidang) is not None
        results = replies.get(f.item_id, []) if decision and decision.event == "reply" else []
        failed = next((r for r in reversed(results) if r.status == "error"), None)
        since = decision.id if decision is not None else (returns[-1].returned.id if returns else 0)
        refused = any(e.event == EVENT_REFUSED and e.bidang == f.bidang and e.id > since for e in all_evs)
        rerouted_from, std_forward = core.rerouted_from, core.standard_forward_seconds
        to_forward, to_post = core.seconds_incoming_to_forwarded, core.seconds_answered_to_posted
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
                "status": core.status,
                "status_label": status_label(decision, posted, failed, returns, verdict, asked, refused),
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
                "seconds_forwarded_to_answered": core.seconds_forwarded_to_answered,
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
