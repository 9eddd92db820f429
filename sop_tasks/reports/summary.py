"""A month of the SOP in figures (``month_summary``) and the records behind them (``record_rows``).

The one query layer the "Catatan SOP" page, the monthly PDF and XLSX and the CLI read, so their
numbers always agree. It reads through the existing record code: record 1 rows are
:func:`sop_tasks.records.ledger.summarize`, record 3 rows :meth:`sop_tasks.followup.FollowUps.summaries`
(the month's figures read their status and timings, :func:`sop_tasks.followup.summaries.timings`),
PPID clocks :func:`~sop_tasks.followup.ppid_clock_from`, proof of monitoring
:meth:`sop_tasks.records.inbox.Inbox.days`.

Which month a record belongs to (WIB): a submission by when it was made, an incoming item by when
the monitoring recorded it (``seen_at``), a follow-up by when the item was forwarded to the bidang,
a sweep by when it started. A PPID request shows in every month from its arrival until it is
handled. ``bidang`` limits records 2 and 3, the PPID list and steps 7–9 to that bidang; record 1
(the office's own uploads) has no bidang and is never limited.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select

from sop_tasks.config import CHANNEL_NAMES, OfficeConfig
from sop_tasks.followup import EVENT_POSTED, EVENT_RETURNED, FollowUps, PpidClock, ppid_clock_from
from sop_tasks.followup.summaries import timings as follow_up_timings
from sop_tasks.records.inbox import Inbox
from sop_tasks.records.ledger import (
    STATUS_RETURNED,
    Ledger,
    summarize,
    to_utc,
    to_wib,
)
from sop_tasks.records.models import (
    ChannelResult,
    ContentVersion,
    FollowUpEvent,
    Forward,
    IncomingItemRow,
    StepEvent,
    Submission,
    Sweep,
)
from sop_tasks.sop import STEPS, step

AUTOMATIC = "otomatis"  # the actor of steps the DAGs do on their own (6, 7, 9)
MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
_CHUNK = 5000  # ids per IN list (SQLite allows 32,766 parameters, PostgreSQL 65,535)
DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
# Record 2 statuses (what the officer did with an item).
ITEM_SPAM, ITEM_FORWARDED, ITEM_UNFORWARDED, ITEM_UNROUTED = (
    "spam",
    "diteruskan",
    "belum diteruskan",
    "belum dirute",
)
# Record 3 statuses (FollowUps.summaries "status").
FOLLOW_UP_WAITING = "menunggu tindak lanjut"
FOLLOW_UP_LABELS = {
    "reply": "dibalas",
    "no_reply": "tidak perlu dibalas",
    "reroute": "diteruskan ke bidang lain",
    EVENT_RETURNED: "balasan dikembalikan",
    FOLLOW_UP_WAITING: FOLLOW_UP_WAITING,
}


class PeriodError(ValueError):
    """A month that cannot be reported (the message says what to write, in Indonesian)."""


def parse_month(text: str) -> tuple[int, int]:
    """``2026-11`` → (2026, 11), or a PeriodError saying how to write it."""
    parts = (text or "").strip().split("-")
    if len(parts) == 2 and all(p.isdigit() for p in parts) and len(parts[0]) == 4:
        year, month = int(parts[0]), int(parts[1])
        if 1 <= month <= 12:
            return year, month
    raise PeriodError(f"bulan '{text}' tidak sah; tulis TTTT-BB, mis. 2026-11")


def month_bounds(year: int, month: int, cfg: OfficeConfig) -> tuple[datetime, datetime]:
    """[start, end) of the month in the office's time zone, as naive UTC (how the ledger stores)."""
    if not 1 <= month <= 12:
        raise PeriodError(f"bulan {month} tidak sah; pakai 1–12")
    start = datetime(year, month, 1, tzinfo=cfg.tz)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=cfg.tz)
    lo, hi = to_utc(start), to_utc(end)
    assert lo is not None and hi is not None
    return lo, hi


def month_label(year: int, month: int) -> str:
    return f"{MONTHS[month - 1]} {year}"


def run_path(dag_id: str, run_id: str | None) -> str | None:
    """The Airflow UI path of a DAG run (relative to the UI's base URL)."""
    if not run_id:
        return None
    return f"/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def fmt_seconds(s: float | None) -> str:
    """A duration as staff read it: ``4m05d``, ``1j05m``, ``2 hari 03j00m`` (``-`` when unknown)."""
    if s is None:
        return "-"
    m, sec = divmod(round(s), 60)
    h, m = divmod(m, 60)
    d, h = divmod(h, 24)
    if d:
        return f"{d} hari {h:02d}j{m:02d}m"
    return f"{h}j{m:02d}m" if h else f"{m}m{sec:02d}d"


# ---- figures -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Durations:
    """How long something took, against its standard time (mutu baku) when the SOP sets one."""

    count: int
    median_seconds: float | None
    max_seconds: float | None
    late: int
    standard_seconds: int | None

    @classmethod
    def of(cls, seconds: Iterable[float], standard: int | None) -> Durations:
        vals = [float(s) for s in seconds]
        return cls(
            count=len(vals),
            median_seconds=round(statistics.median(vals), 1) if vals else None,
            max_seconds=round(max(vals), 1) if vals else None,
            late=sum(1 for v in vals if standard and v > standard),
            standard_seconds=standard,
        )


@dataclass(frozen=True)
class ActorDurations:
    actor: str
    durations: Durations


@dataclass(frozen=True)
class StepFigures:
    step: int
    label: str
    actor_role: str
    durations: Durations
    by_actor: tuple[ActorDurations, ...]


@dataclass(frozen=True)
class Count:
    key: str
    label: str
    count: int


@dataclass(frozen=True)
class ChannelUploads:
    channel: str
    label: str
    published: int  # live on the platform
    outbox: int  # written to the outbox (no connection)
    failed: int


@dataclass(frozen=True)
class SubmissionFigures:
    total: int
    publish: int
    update: int
    approved: int  # the Kepala Dinas approved (step 4 "Ya")
    returned: int  # returned at a verification ("Tidak")
    by_status: tuple[Count, ...]
    uploads: tuple[ChannelUploads, ...]


@dataclass(frozen=True)
class IncomingFigures:
    total: int
    spam: int
    by_channel: tuple[Count, ...]
    by_bidang: tuple[Count, ...]


@dataclass(frozen=True)
class FollowUpFigures:
    total: int
    answered: int  # a reply
    not_needed: int
    forwarded: int  # passed on to another bidang
    waiting: int
    returned: int  # the reply was returned by the approving official
    posted: int
    time_to_answer: Durations  # forwarded → the bidang's decision (step 8; no standard)
    time_to_answer_by_outcome: tuple[tuple[str, Durations], ...]
    time_to_post: Durations  # decision → reply posted (step 9)


@dataclass(frozen=True)
class PpidEntry:
    item_id: int
    bidang: str
    original_deadline: str
    deadline: str
    extended: bool
    extension_reason: str | None
    answered_at: str | None
    lapsed: bool
    working_days_left: int | None


@dataclass(frozen=True)
class PpidFigures:
    as_of: str  # the day the clocks are read on (today, or the month's last day)
    upcoming: tuple[PpidEntry, ...]  # unanswered, deadline not passed
    extended: tuple[PpidEntry, ...]
    lapsed: tuple[PpidEntry, ...]
    answered_in_time: int


@dataclass(frozen=True)
class SlotState:
    slot: str
    status: str  # ok | partial | failed | running | missing | future
    at: str | None  # start of the sweep (WIB, HH:MM)
    run_id: str | None


@dataclass(frozen=True)
class MonitoringDay:
    date: str
    weekday: str
    working_day: bool
    slots: tuple[SlotState, ...]
    sop_sweeps_ok: int
    other_sweeps: int  # extra (non-SOP) sweeps and SOP sweeps outside a known slot
    flag: bool  # a working day with fewer than the required sweeps
    future: bool


@dataclass(frozen=True)
class MonitoringFigures:
    required_per_day: int
    slots: tuple[str, ...]
    days: tuple[MonitoringDay, ...]
    working_days: int
    flagged_days: int
    sop_sweeps_ok: int
    sweeps_total: int


@dataclass(frozen=True)
class MonthSummary:
    year: int
    month: int
    label: str  # "November 2026"
    bidang: str | None
    office_name: str
    generated_at: str  # WIB ISO
    submissions: SubmissionFigures
    steps: tuple[StepFigures, ...]
    incoming: IncomingFigures
    follow_ups: FollowUpFigures
    ppid: PpidFigures
    monitoring: MonitoringFigures
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return _jsonable(asdict(self))

    def figures(self) -> list[tuple[str, int]]:
        """The month's headline numbers, labelled as every output prints them (tests compare these)."""
        s, i, f, m, p = self.submissions, self.incoming, self.follow_ups, self.monitoring, self.ppid
        rows = [
            ("Pengajuan", s.total),
            ("Disetujui Kepala Dinas", s.approved),
            ("Dikembalikan", s.returned),
        ]
        for u in s.uploads:
            rows.append((f"Unggahan {u.label}", u.published + u.outbox))
        rows += [
            ("Informasi masuk", i.total),
            ("Spam", i.spam),
            ("Tindak lanjut", f.total),
            ("Dibalas", f.answered),
            ("Tidak perlu dibalas", f.not_needed),
            ("Diteruskan ke bidang lain", f.forwarded),
            ("Menunggu tindak lanjut", f.waiting),
            ("PPID berjalan", len(p.upcoming)),
            ("PPID diperpanjang", len(p.extended)),
            ("PPID lewat batas", len(p.lapsed)),
            ("Sapuan SOP berhasil", m.sop_sweeps_ok),
            ("Hari kerja kurang sapuan", m.flagged_days),
        ]
        late = sum(st.durations.late for st in self.steps)
        rows.append(("Langkah melebihi waktu baku", late))
        return rows


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    return obj


# ---- record 1 ------------------------------------------------------------------------------------
def _record1(ledger: Ledger, lo: datetime, hi: datetime) -> list[dict[str, Any]]:
    """Record 1 rows (``summarize``) of the submissions made in [lo, hi), with run and live links."""
    in_month = (Submission.created_at >= lo, Submission.created_at < hi)
    ids = select(Submission.id).where(*in_month)
    # Events and results as plain rows (they carry the same attributes ``summarize`` reads): a
    # month has thousands, and ORM objects would cost most of the page's time.
    ev_t, res_t = StepEvent.__table__, ChannelResult.__table__
    sub_t = Submission.__table__
    with ledger.session() as s:
        subs: Sequence[Any] = (
            s.connection().execute(select(sub_t).where(*in_month).order_by(sub_t.c.id)).all()
        )
        events: dict[int, list[Any]] = {}
        for e in (
            s.connection()
            .execute(select(ev_t).where(ev_t.c.submission_id.in_(ids)).order_by(ev_t.c.id))
            .all()
        ):
            events.setdefault(e.submission_id, []).append(e)
        results: dict[int, list[Any]] = {}
        for r in (
            s.connection()
            .execute(select(res_t).where(res_t.c.submission_id.in_(ids)).order_by(res_t.c.id))
            .all()
        ):
            results.setdefault(r.submission_id, []).append(r)
        versions = {
            v.update_submission_id: v
            for v in s.scalars(select(ContentVersion).where(ContentVersion.update_submission_id.in_(ids)))
        }
    rows = []
    for sub in subs:
        row = summarize(sub, events.get(sub.id, []), results.get(sub.id, []), versions.get(sub.id))
        row["run_path"] = run_path(sub.dag_id, sub.run_id)
        row["live_urls"] = {
            ch: info.get("url")
            for ch, info in row["channels"].items()
            if info.get("status") == "published" and info.get("url")
        }
        rows.append(row)
    return rows


def _submission_figures(rows: list[dict[str, Any]], cfg: OfficeConfig) -> SubmissionFigures:
    statuses = Counter(r["status"] for r in rows)
    uploads = []
    for ch in cfg.channels:
        st = Counter(r["channels"][ch]["status"] for r in rows if ch in r["channels"])
        uploads.append(
            ChannelUploads(ch, CHANNEL_NAMES.get(ch, ch), st["published"], st["outbox"], st["failed"])
        )
    return SubmissionFigures(
        total=len(rows),
        publish=sum(1 for r in rows if r["kind"] == "publish"),
        update=sum(1 for r in rows if r["kind"] == "update"),
        approved=sum(1 for r in rows if (r["steps"].get("4") or {}).get("outcome") == "approved"),
        returned=statuses[STATUS_RETURNED],
        by_status=tuple(Count(k, k, v) for k, v in sorted(statuses.items())),
        uploads=tuple(uploads),
    )


# ---- record 2 ------------------------------------------------------------------------------------
def _item_status(item: IncomingItemRow, forwarded: bool) -> str:
    if item.spam:
        return ITEM_SPAM
    if forwarded:
        return ITEM_FORWARDED
    return ITEM_UNFORWARDED if item.bidang else ITEM_UNROUTED


def incoming_row(item: IncomingItemRow, forward: Forward | None) -> dict[str, Any]:
    """One record-2 row (what ``sop records incoming --json`` prints for an item)."""
    return {
        "id": item.id,
        "channel": item.channel,
        "platform_id": item.platform_id,
        "kind": item.kind,
        "author": item.author,
        "text": item.text,
        "created_at": (to_wib(item.created_at) or item.created_at).isoformat(),
        "url": item.url,
        "bidang": item.bidang,
        "spam": item.spam,
        "reasons": item.reasons,
        "submission_id": item.submission_id,
        "sweep_id": item.sweep_id,
        "forwarded_at": (to_wib(forward.forwarded_at) or forward.forwarded_at).isoformat()
        if forward
        else None,
    }


def _record2(
    ledger: Ledger, lo: datetime, hi: datetime, *, channel: str | None, bidang: str | None
) -> list[dict[str, Any]]:
    q = select(IncomingItemRow).where(IncomingItemRow.seen_at >= lo, IncomingItemRow.seen_at < hi)
    if channel:
        q = q.where(IncomingItemRow.channel == channel)
    if bidang:
        q = q.where(IncomingItemRow.bidang == bidang)
    with ledger.session() as s:
        items = list(s.scalars(q.order_by(IncomingItemRow.id)))
        ids = q.with_only_columns(IncomingItemRow.id)
        forwards: dict[int, Forward] = {}
        for f in s.scalars(select(Forward).where(Forward.item_id.in_(ids)).order_by(Forward.id)):
            forwards.setdefault(f.item_id, f)
        sweeps = dict(
            s.execute(
                select(Sweep.id, Sweep.run_id).where(
                    Sweep.id.in_(q.with_only_columns(IncomingItemRow.sweep_id))
                )
            ).all()
        )
    rows = []
    for item in items:
        fwd = forwards.get(item.id)
        row = incoming_row(item, fwd)
        row["seen_at"] = (to_wib(item.seen_at) or item.seen_at).isoformat()
        row["status"] = _item_status(item, fwd is not None)
        row["run_id"] = sweeps.get(item.sweep_id) if item.sweep_id else None
        row["run_path"] = run_path("sop_monitor", row["run_id"])
        rows.append(row)
    return rows


def _incoming_figures(
    ledger: Ledger, lo: datetime, hi: datetime, cfg: OfficeConfig, bidang: str | None
) -> IncomingFigures:
    q = (
        select(IncomingItemRow.channel, IncomingItemRow.bidang, IncomingItemRow.spam, func.count())
        .where(IncomingItemRow.seen_at >= lo, IncomingItemRow.seen_at < hi)
        .group_by(IncomingItemRow.channel, IncomingItemRow.bidang, IncomingItemRow.spam)
    )
    if bidang:
        q = q.where(IncomingItemRow.bidang == bidang)
    with ledger.session() as s:
        groups = s.execute(q).all()
    channels: Counter[str] = Counter()
    bidangs: Counter[str] = Counter()
    spam = 0
    for ch, b, is_spam, n in groups:
        channels[ch] += n
        if is_spam:
            spam += n
        else:
            bidangs[b or ""] += n
    names = {b.code: b.name for b in cfg.bidang}
    by_bidang = [
        Count(b.code, b.name, bidangs.pop(b.code, 0)) for b in cfg.bidang if not bidang or b.code == bidang
    ]
    by_bidang += [Count(k, names.get(k, k) if k else ITEM_UNROUTED, v) for k, v in sorted(bidangs.items())]
    order = list(cfg.channels) + sorted(set(channels) - set(cfg.channels))
    return IncomingFigures(
        total=sum(channels.values()),
        spam=spam,
        by_channel=tuple(Count(c, CHANNEL_NAMES.get(c, c), channels[c]) for c in order),
        by_bidang=tuple(by_bidang),
    )


# ---- record 3 ------------------------------------------------------------------------------------
def _record3(
    ledger: Ledger,
    lo: datetime,
    hi: datetime,
    cfg: OfficeConfig,
    now: datetime,
    *,
    channel: str | None,
    bidang: str | None,
) -> list[dict[str, Any]]:
    rows = FollowUps(ledger).summaries(cfg, now, forwarded_between=(lo, hi), bidang=bidang)
    rows = [
        r for r in rows if (not channel or r["channel"] == channel) and (not bidang or r["bidang"] == bidang)
    ]
    runs: dict[tuple[int, str], str] = {}  # (item, bidang) → the newest follow-up run
    ids = sorted({r["item_id"] for r in rows})
    with ledger.session() as s:
        conn = s.connection()  # plain rows (an ORM load of a month's events cost a tenth of a second)
        found: list[Any] = []
        for n in range(0, len(ids), _CHUNK):
            found += conn.execute(
                select(FollowUpEvent.id, FollowUpEvent.item_id, FollowUpEvent.bidang, FollowUpEvent.run_id)
                .where(FollowUpEvent.item_id.in_(ids[n : n + _CHUNK]), FollowUpEvent.run_id.is_not(None))
                .order_by(FollowUpEvent.id)
            ).all()
        found.sort(key=lambda e: e.id)
        for _id, item_id, b, run_id in found:
            if run_id:
                runs[(item_id, b)] = run_id
    for r in rows:
        r["run_id"] = runs.get((r["item_id"], r["bidang"]))
        r["run_path"] = run_path("sop_follow_up", r["run_id"])
        r["status_short"] = FOLLOW_UP_LABELS.get(r["status"], r["status"])
    return rows


def _follow_up_figures(rows: list[dict[str, Any]]) -> FollowUpFigures:
    st = Counter(r["status"] for r in rows)
    by_outcome = []
    for key in ("reply", "no_reply", "reroute"):
        secs = [r["seconds_forwarded_to_answered"] for r in rows if r["status"] == key]
        by_outcome.append((key, Durations.of((x for x in secs if x is not None), None)))
    answered = [
        r["seconds_forwarded_to_answered"] for r in rows if r["seconds_forwarded_to_answered"] is not None
    ]
    posted = [r["seconds_answered_to_posted"] for r in rows if r["seconds_answered_to_posted"] is not None]
    return FollowUpFigures(
        total=len(rows),
        answered=st["reply"],
        not_needed=st["no_reply"],
        forwarded=st["reroute"],
        waiting=st[FOLLOW_UP_WAITING],
        returned=st[EVENT_RETURNED],
        posted=sum(1 for r in rows if r["posted"]),
        time_to_answer=Durations.of(answered, None),
        time_to_answer_by_outcome=tuple(by_outcome),
        time_to_post=Durations.of(posted, step(9).standard_seconds),
    )


def _iso(dt: datetime | None) -> str | None:
    wib = to_wib(dt)
    return None if wib is None else wib.isoformat()


# ---- PPID ---------------------------------------------------------------------------------------


def _ppid_clocks(
    ledger: Ledger, lo: datetime, hi: datetime
) -> tuple[dict[int, PpidClock], dict[int, datetime]]:
    """The clocks (``ppid_clock_from``) of PPID requests that arrived before ``hi`` and were not
    handled before ``lo``, and when each arrived — not the whole year's requests."""
    marked = select(FollowUpEvent.item_id).where(FollowUpEvent.ppid.is_(True))
    handled = select(FollowUpEvent.item_id).where(
        FollowUpEvent.event.in_((EVENT_POSTED, "no_reply")), FollowUpEvent.at < lo
    )
    candidates = select(IncomingItemRow.id, IncomingItemRow.seen_at).where(
        IncomingItemRow.id.in_(marked), IncomingItemRow.seen_at < hi, IncomingItemRow.id.not_in(handled)
    )
    ev_t = FollowUpEvent.__table__  # plain rows: the attributes ppid_clock_from reads, no ORM objects
    evs: list[Any] = []
    latest: dict[int, str] = {}
    with ledger.session() as s:
        conn = s.connection()
        seen: dict[int, datetime] = dict(conn.execute(candidates).all())  # found once, used twice
        ids = sorted(seen)
        for n in range(0, len(ids), _CHUNK):  # a list of ids, in chunks under every driver's limit
            part = ids[n : n + _CHUNK]
            evs += conn.execute(select(ev_t).where(ev_t.c.item_id.in_(part))).all()
            latest.update(
                conn.execute(
                    select(Forward.item_id, Forward.bidang)
                    .where(Forward.item_id.in_(part))
                    .order_by(Forward.id)
                ).all()
            )  # in id order: the last forward wins (an item's forwards are all in its chunk)
    evs.sort(key=lambda e: e.id)
    by_item: dict[int, list[Any]] = {}
    for e in evs:
        by_item.setdefault(e.item_id, []).append(e)
    clocks = {i: ppid_clock_from(i, e, latest.get(i)) for i, e in by_item.items()}
    return {i: c for i, c in clocks.items() if c is not None}, seen


def _ppid_figures(
    ledger: Ledger, lo: datetime, hi: datetime, cfg: OfficeConfig, now: datetime, bidang: str | None
) -> PpidFigures:
    """Every public-information request open at some point of the month, as of its last day (or today)."""
    clocks, seen = _ppid_clocks(ledger, lo, hi)
    return _ppid_entries(clocks, seen, lo, hi, cfg, now, bidang)


def _ppid_entries(
    clocks: dict[int, PpidClock],
    seen: dict[int, datetime],
    lo: datetime,
    hi: datetime,
    cfg: OfficeConfig,
    now: datetime,
    bidang: str | None,
) -> PpidFigures:
    """The month's PPID figures from clocks and arrival times (any superset of the month's requests:
    the year's clocks give the same figures as :func:`_ppid_clocks`' restricted ones)."""
    first_day = (to_wib(lo) or lo).date()
    last_day = (to_wib(hi) or hi).date() - timedelta(days=1)
    today = now.astimezone(cfg.tz).date()
    as_of = min(today, last_day)
    cal = cfg.calendar()
    upcoming, extended, lapsed, in_time = [], [], [], 0
    for item_id, c in sorted(clocks.items()):
        if bidang and c.bidang != bidang:
            continue
        arrived = seen.get(item_id)
        if arrived is None or arrived >= hi:
            continue
        answered_day = (to_wib(c.answered_at) or c.answered_at).date() if c.answered_at else None
        if answered_day is not None and answered_day < first_day:
            continue  # handled before the month began
        if answered_day is not None and answered_day > as_of:
            answered_day = None  # handled after the day the clocks are read on
        is_lapsed = (answered_day > c.deadline) if answered_day else as_of > c.deadline
        left = None if answered_day or is_lapsed else cal.working_days_between(as_of, c.deadline)
        entry = PpidEntry(
            item_id=item_id,
            bidang=c.bidang,
            original_deadline=c.original_deadline.isoformat(),
            deadline=c.deadline.isoformat(),
            extended=c.extended,
            extension_reason=c.extension_reason,
            answered_at=_iso(c.answered_at) if answered_day else None,
            lapsed=is_lapsed,
            working_days_left=left,
        )
        if c.extended:
            extended.append(entry)
        if is_lapsed:
            lapsed.append(entry)
        elif answered_day is None:
            upcoming.append(entry)
        else:
            in_time += 1
    return PpidFigures(as_of.isoformat(), tuple(upcoming), tuple(extended), tuple(lapsed), in_time)


# ---- monitoring (step 6) --------------------------------------------------------------------------
def _monitoring(
    ledger: Ledger, lo: datetime, hi: datetime, cfg: OfficeConfig, now: datetime
) -> tuple[MonitoringFigures, list[Sweep]]:
    inbox = Inbox(ledger)
    first_day = (to_wib(lo) or lo).date()
    last_day = (to_wib(hi) or hi).date() - timedelta(days=1)
    today = now.astimezone(cfg.tz).date()
    required = len(cfg.monitoring.times)
    # Inbox.days is the rule of record (flags, what counts as a successful SOP sweep).
    proven = {
        d["date"]: d
        for d in inbox.days(
            cfg.tz, until=min(last_day, today), required=required, calendar=cfg.calendar(), since=first_day
        )
    }
    with ledger.session() as s:
        sweeps = list(
            s.scalars(select(Sweep).where(Sweep.started_at >= lo, Sweep.started_at < hi).order_by(Sweep.id))
        )
    by_day: dict[date, list[Sweep]] = {}
    for sw in sweeps:
        by_day.setdefault((to_wib(sw.started_at) or sw.started_at).date(), []).append(sw)
    slots = tuple(cfg.monitoring.slot_of(t) or t for t in cfg.monitoring.times)
    cal = cfg.calendar()
    days = []
    d = first_day
    while d <= last_day:
        future = d > today
        day_sweeps = by_day.get(d, [])
        states = []
        for slot in slots:
            mine = [sw for sw in day_sweeps if sw.sop_sweep and sw.slot == slot]
            best = next((sw for sw in mine if sw.status == "ok"), mine[-1] if mine else None)
            if best is not None:
                at = to_wib(best.started_at)
                states.append(SlotState(slot, best.status, f"{at:%H:%M}" if at else None, best.run_id))
            else:
                states.append(SlotState(slot, "future" if future else "missing", None, None))
        known = {id(sw) for sw in day_sweeps if sw.sop_sweep and sw.slot in slots}
        info = proven.get(d.isoformat())
        working = cal.is_working_day(d)
        ok = info["sop_sweeps_ok"] if info else 0
        days.append(
            MonitoringDay(
                date=d.isoformat(),
                weekday=DAYS[d.weekday()],
                working_day=working,
                slots=tuple(states),
                sop_sweeps_ok=ok,
                other_sweeps=sum(1 for sw in day_sweeps if id(sw) not in known),
                # a day before the first sweep ever is not in Inbox.days: none, so flagged alike
                flag=bool(info["flag"]) if info else (working and not future),
                future=future,
            )
        )
        d += timedelta(days=1)
    figures = MonitoringFigures(
        required_per_day=required,
        slots=slots,
        days=tuple(days),
        working_days=sum(1 for x in days if x.working_day and not x.future),
        flagged_days=sum(1 for x in days if x.flag),
        sop_sweeps_ok=sum(x.sop_sweeps_ok for x in days),
        sweeps_total=len(sweeps),
    )
    return figures, sweeps


# ---- steps ----------------------------------------------------------------------------------------
def _step_figures(
    rec1: list[dict[str, Any]], rec3: list[dict[str, Any]], sweeps: Sequence[Sweep]
) -> tuple[StepFigures, ...]:
    samples: dict[int, list[tuple[str, float]]] = {s.number: [] for s in STEPS}
    for r in rec1:
        for no, info in r["steps"].items():
            if info["seconds"] is not None:
                samples[int(no)].append((info["actor"] or AUTOMATIC, info["seconds"]))
    for sw in sweeps:
        if sw.ended_at is not None:
            samples[6].append((AUTOMATIC, max(0.0, (sw.ended_at - sw.started_at).total_seconds())))
    for r in rec3:
        if r["standard_forward_seconds"] is not None and r["seconds_incoming_to_forwarded"] is not None:
            samples[7].append((AUTOMATIC, r["seconds_incoming_to_forwarded"]))
        if r["seconds_forwarded_to_answered"] is not None:
            samples[8].append((r["answered_by"] or r["bidang"], r["seconds_forwarded_to_answered"]))
        if r["seconds_answered_to_posted"] is not None:
            samples[9].append((AUTOMATIC, r["seconds_answered_to_posted"]))
    out = []
    for st in STEPS:
        vals = samples[st.number]
        actors: dict[str, list[float]] = {}
        for actor, secs in vals:
            actors.setdefault(actor, []).append(secs)
        out.append(
            StepFigures(
                step=st.number,
                label=st.label,
                actor_role=st.actor.value,
                durations=Durations.of((v for _, v in vals), st.standard_seconds),
                by_actor=tuple(
                    ActorDurations(a, Durations.of(v, st.standard_seconds)) for a, v in sorted(actors.items())
                ),
            )
        )
    return tuple(out)


# ---- the public API -------------------------------------------------------------------------------
def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def month_summary(
    ledger: Ledger,
    year: int,
    month: int,
    cfg: OfficeConfig,
    *,
    bidang: str | None = None,
    now: datetime | None = None,
) -> MonthSummary:
    """The month's SOP figures (see the module docstring for what belongs to a month)."""
    now = _now(now)
    lo, hi = month_bounds(year, month, cfg)
    rec1 = _record1(ledger, lo, hi)
    # The figures read only the status and timings of record 3's rows: not its texts, links and clocks.
    rec3 = follow_up_timings(ledger, forwarded_between=(lo, hi), bidang=bidang)
    monitoring, sweeps = _monitoring(ledger, lo, hi, cfg, now)
    return MonthSummary(
        year=year,
        month=month,
        label=month_label(year, month),
        bidang=bidang,
        office_name=cfg.office_name,
        generated_at=now.astimezone(cfg.tz).isoformat(timespec="seconds"),
        submissions=_submission_figures(rec1, cfg),
        steps=_step_figures(rec1, rec3, sweeps),
        incoming=_incoming_figures(ledger, lo, hi, cfg, bidang),
        follow_ups=_follow_up_figures(rec3),
        ppid=_ppid_figures(ledger, lo, hi, cfg, now, bidang),
        monitoring=monitoring,
    )


def record_rows(
    ledger: Ledger,
    record: int,
    *,
    year: int,
    month: int,
    cfg: OfficeConfig | None = None,
    channel: str | None = None,
    bidang: str | None = None,
    status: str | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """The rows of SOP record 1, 2 or 3 for one month, each with ``run_id`` and ``run_path`` (the
    Airflow UI path of its run) and the live URLs, filtered by channel, bidang and status.

    ``status``: record 1 the status word (e.g. ``diunggah``), record 2 one of ``spam``,
    ``diteruskan``, ``belum diteruskan``, ``belum dirute``, record 3 ``reply``, ``no_reply``,
    ``reroute``, ``reply_returned`` or ``menunggu tindak lanjut``. ``bidang`` does not limit record 1.
    """
    if cfg is None:
        from sop_tasks.config import load_config

        cfg = load_config()
    lo, hi = month_bounds(year, month, cfg)
    if record == 1:
        rows = _record1(ledger, lo, hi)
        if channel:
            rows = [r for r in rows if channel in r["channels"]]
    elif record == 2:
        rows = _record2(ledger, lo, hi, channel=channel, bidang=bidang)
    elif record == 3:
        rows = _record3(ledger, lo, hi, cfg, _now(now), channel=channel, bidang=bidang)
    else:
        raise PeriodError(f"catatan {record} tidak ada; pilih 1, 2 atau 3")
    if status:
        rows = [r for r in rows if r["status"] == status]
    return rows


__all__ = [
    "MonthSummary",
    "PeriodError",
    "incoming_row",
    "month_bounds",
    "month_label",
    "month_summary",
    "parse_month",
    "record_rows",
    "run_path",
]
