"""The month summary reads only the month's records (plus the PPID requests still open in it), and
its figures equal the straightforward computation over every record of the year.

The records sit on the edges a month restriction could lose: PPID requests that arrived in earlier
months and are still open, extended (twice: only the first counts), answered a few minutes either
side of the WIB month boundary (which is 17:00 UTC the day before), answered late after the month,
rerouted to another bidang; follow-ups forwarded or answered across the month's WIB edges; sweeps
from the month before and at its first WIB minutes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from sop_tasks.followup import FollowUps
from sop_tasks.records.inbox import Inbox
from sop_tasks.records.ledger import Ledger
from sop_tasks.records.models import FollowUpEvent, Forward, IncomingItemRow, ReplyResult, Sweep
from sop_tasks.reports import summary
from sop_tasks.reports.summary import month_bounds, month_summary, record_rows
from tests.support.records import new_ledger

YEAR, MONTH = 2026, 11
NOWS = {
    "after the month": datetime(2026, 12, 1, 3, 0, tzinfo=UTC),  # 1 Dec 10:00 WIB
    "mid-month": datetime(2026, 11, 15, 3, 0, tzinfo=UTC),  # 15 Nov 10:00 WIB
}
BIDANG = (None, "perpustakaan", "kearsipan")


def w(month: int, day: int, hour: int = 9, minute: int = 0, year: int = 2026) -> datetime:
    """A WIB wall-clock time as the ledger stores it (naive UTC)."""
    return datetime(year, month, day, hour, minute) - timedelta(hours=7)


class Year:
    """Writes records directly through the ledger's engine, with exact times."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.ids: dict[str, int] = {}
        self.sweep_id = self._sweep("sapuan pertama", w(9, 1, 8), True, "pagi", "ok")

    def _insert(self, model: Any, **values: Any) -> int:
        with self.ledger.engine.begin() as conn:
            return int(conn.execute(insert(model).values(**values)).inserted_primary_key[0])

    def _sweep(self, run_id: str, at: datetime, sop: bool, slot: str | None, status: str) -> int:
        return self._insert(
            Sweep,
            run_id=run_id,
            slot=slot,
            sop_sweep=sop,
            started_at=at,
            ended_at=at + timedelta(seconds=50),
            channels=["website"],
            counts={},
            errors={},
            status=status,
        )

    def sweep(self, at: datetime, slot: str | None, status: str = "ok", sop: bool = True) -> None:
        self._sweep(f"sapuan {at:%Y%m%d%H%M}", at, sop, slot, status)

    def item(self, name: str, seen: datetime, bidang: str = "perpustakaan") -> int:
        n = len(self.ids) + 1
        self.ids[name] = self._insert(
            IncomingItemRow,
            channel=("website", "instagram", "twitter")[n % 3],
            platform_id=f"p{n}",
            kind="comment",
            author=f"warga{n}",
            text=f"Pertanyaan {name}",
            created_at=seen - timedelta(minutes=5),
            url=f"https://contoh.test/{n}",
            raw={"id": n},
            seen_at=seen,
            sweep_id=self.sweep_id,
            bidang=bidang,
            spam=False,
            reasons=["kata kunci"],
        )
        return self.ids[name]

    def forward(self, item: int, bidang: str, at: datetime, via: str = "email") -> None:
        self._insert(Forward, item_id=item, bidang=bidang, via=via, forwarded_at=at)
        self.event(item, bidang, "opened", at)

    def event(self, item: int, bidang: str, event: str, at: datetime, **kw: Any) -> None:
        self._insert(FollowUpEvent, item_id=item, bidang=bidang, event=event, at=at, run_id=f"fu{item}", **kw)

    def ppid(self, item: int, bidang: str, at: datetime, deadline: date) -> None:
        self.event(item, bidang, "ppid", at, ppid=True, deadline=deadline)

    def reply(self, item: int, bidang: str, at: datetime, *, posted: bool = True) -> None:
        self.event(item, bidang, "reply", at, actor=f"bidang_{bidang}", text="Jawaban")
        if posted:
            later = at + timedelta(minutes=5)
            self._insert(
                ReplyResult,
                item_id=item,
                channel="website",
                mode="live",
                status="published",
                idempotency_key=f"r{item}-{at:%s}",
                post_id=f"r{item}",
                url=f"https://contoh.test/r/{item}",
                recorded_at=later,
            )
            self.event(item, bidang, "posted", later)

    def no_reply(self, item: int, bidang: str, at: datetime) -> None:
        self.event(item, bidang, "no_reply", at, actor=f"bidang_{bidang}", text="Dijawab lewat surat")


def write_year(ledger: Ledger) -> dict[str, int]:
    y = Year(ledger)
    P, K = "perpustakaan", "kearsipan"
    # ---- PPID requests
    i = y.item("open_from_october", w(10, 20))  # still open: lapsed on 3 Nov
    y.forward(i, P, w(10, 20, 9, 2))
    y.ppid(i, P, w(10, 20, 9, 2), date(2026, 11, 3))
    i = y.item("extended", w(10, 28))  # extended to 25 Nov (a second extension does not count)
    y.forward(i, P, w(10, 28, 9, 2))
    y.ppid(i, P, w(10, 28, 9, 2), date(2026, 11, 11))
    y.event(i, P, "ppid_extended", w(11, 5), deadline=date(2026, 11, 25), text="butuh arsip", actor="ti")
    y.event(i, P, "ppid_extended", w(11, 6), deadline=date(2026, 12, 20), text="lagi", actor="ti")
    y.reply(i, P, w(11, 20))
    i = y.item("handled_in_september", w(9, 1))
    y.forward(i, P, w(9, 1, 9, 2))
    y.ppid(i, P, w(9, 1, 9, 2), date(2026, 9, 15))
    y.no_reply(i, P, w(9, 5))
    i = y.item("answered_31_oct_23_30_wib", w(10, 25))  # 16:30 UTC, before the month
    y.forward(i, P, w(10, 25, 9, 2))
    y.ppid(i, P, w(10, 25, 9, 2), date(2026, 11, 6))
    y.reply(i, P, w(10, 31, 23, 25))
    i = y.item("answered_1_nov_00_20_wib", w(10, 25, 10))  # 17:20 UTC on 31 Oct: in the month
    y.forward(i, P, w(10, 25, 10, 2))
    y.ppid(i, P, w(10, 25, 10, 2), date(2026, 11, 6))
    y.reply(i, P, w(11, 1, 0, 15))
    i = y.item("arrives_30_nov_23_30_wib", w(11, 30, 23, 30))  # upcoming
    y.forward(i, K, w(11, 30, 23, 40))
    y.ppid(i, K, w(11, 30, 23, 40), date(2026, 12, 14))
    i = y.item("arrives_1_dec_00_10_wib", w(12, 1, 0, 10))  # next month's
    y.forward(i, K, w(12, 1, 0, 15))
    y.ppid(i, K, w(12, 1, 0, 15), date(2026, 12, 15))
    i = y.item("answered_late_in_december", w(10, 10))  # lapsed as of the month's end
    y.forward(i, P, w(10, 10, 9, 2))
    y.ppid(i, P, w(10, 10, 9, 2), date(2026, 10, 24))
    y.reply(i, P, w(12, 2))
    i = y.item("rerouted_in_november", w(10, 27))  # now kearsipan's, answered after its deadline
    y.forward(i, P, w(10, 27, 9, 2))
    y.ppid(i, P, w(10, 27, 9, 2), date(2026, 11, 10))
    y.event(i, P, "reroute", w(11, 2), actor="bidang_perpustakaan", text="bukan kami", target_bidang=K)
    y.forward(i, K, w(11, 2, 9, 1), via="teruskan:perpustakaan")
    y.no_reply(i, K, w(11, 12))
    i = y.item("lapsed_answered_in_november", w(10, 1), bidang=K)
    y.forward(i, K, w(10, 1, 9, 2))
    y.ppid(i, K, w(10, 1, 9, 2), date(2026, 10, 15))
    y.no_reply(i, K, w(11, 3))
    # ---- follow-ups across the month's WIB edges
    i = y.item("forwarded_31_oct_23_50_wib", w(10, 31, 23, 30))
    y.forward(i, P, w(10, 31, 23, 50))
    y.reply(i, P, w(11, 1, 8))
    i = y.item("forwarded_1_nov_00_05_wib", w(10, 31, 23, 45), bidang=K)
    y.forward(i, K, w(11, 1, 0, 5))
    y.reply(i, K, w(11, 1, 9))
    i = y.item("forwarded_30_nov_23_55_wib", w(11, 30, 23, 50))
    y.forward(i, P, w(11, 30, 23, 55))
    y.reply(i, P, w(12, 1, 8))
    i = y.item("forwarded_1_dec_00_01_wib", w(11, 30, 23, 58))
    y.forward(i, P, w(12, 1, 0, 1))
    y.no_reply(i, P, w(12, 1, 9))
    i = y.item("returned_then_answered", w(11, 10, 8), bidang=K)
    y.forward(i, K, w(11, 10, 8, 2))
    y.reply(i, K, w(11, 10, 10), posted=False)
    y.event(i, K, "reply_returned", w(11, 10, 11), actor="kadis", text="perbaiki")
    y.reply(i, K, w(11, 11))
    i = y.item("waiting", w(11, 20, 8))
    y.forward(i, P, w(11, 20, 8, 2))
    # ---- sweeps: October's last WIB hour, November's first, a full day and a partial one
    y.sweep(w(10, 31, 23, 30), None, sop=False)
    y.sweep(w(11, 1, 0, 30), None, sop=False)
    for hh, slot in (("08:00", "pagi"), ("12:00", "siang"), ("15:30", "sore")):
        h, m = map(int, hh.split(":"))
        y.sweep(w(11, 2, h, m), slot)
    y.sweep(w(11, 3, 8), "pagi", status="partial")
    y.sweep(w(12, 1, 8), "pagi")
    return y.ids


@pytest.fixture(scope="module")
def year(tmp_path_factory):
    ledger = new_ledger(tmp_path_factory.mktemp("year"))
    return ledger, write_year(ledger)


def _in_month(row: dict[str, Any], lo: datetime, hi: datetime) -> bool:
    at = datetime.fromisoformat(row["forwarded_at"]).astimezone(UTC).replace(tzinfo=None)
    return lo <= at < hi


def straightforward(ledger: Ledger, cfg, bidang: str | None, now: datetime):  # type: ignore[no-untyped-def]
    """The month's follow-ups, steps and PPID figures from EVERY record of the year, filtered in Python."""
    lo, hi = month_bounds(YEAR, MONTH, cfg)
    every = FollowUps(ledger).summaries(cfg, now)  # no period: the whole year's rows
    rec3 = [r for r in every if _in_month(r, lo, hi) and (not bidang or r["bidang"] == bidang)]
    with ledger.session() as s:
        seen = dict(s.execute(select(IncomingItemRow.id, IncomingItemRow.seen_at)).all())
        sweeps = list(
            s.scalars(select(Sweep).where(Sweep.started_at >= lo, Sweep.started_at < hi).order_by(Sweep.id))
        )
    ppid = summary._ppid_entries(FollowUps(ledger).ppid_clocks(), seen, lo, hi, cfg, now, bidang)
    rec1 = summary._record1(ledger, lo, hi)
    figures = {
        "follow_ups": summary._follow_up_figures(rec3),
        "steps": summary._step_figures(rec1, rec3, sweeps),
        "ppid": ppid,
    }
    return rec3, figures


@pytest.mark.parametrize("when", NOWS)
@pytest.mark.parametrize("bidang", BIDANG)
def test_the_month_restricted_summary_equals_the_whole_year_computation(year, office_cfg, bidang, when):
    ledger, _ = year
    now = NOWS[when]
    fast = month_summary(ledger, YEAR, MONTH, office_cfg, bidang=bidang, now=now)
    rec3, figures = straightforward(ledger, office_cfg, bidang, now)
    assert fast == replace(fast, **figures)  # every figure, to the last entry
    rows = record_rows(ledger, 3, year=YEAR, month=MONTH, cfg=office_cfg, bidang=bidang, now=now)
    extras = ("run_id", "run_path", "status_short")
    assert [{k: v for k, v in r.items() if k not in extras} for r in rows] == rec3


def _names(ids: dict[str, int], entries) -> set[str]:  # type: ignore[no-untyped-def]
    by_id = {v: k for k, v in ids.items()}
    return {by_id[e.item_id] for e in entries}


def test_the_edges_are_in_the_month_they_belong_to(year, office_cfg):
    """The comparison above is not vacuous: each edge lands where the SOP says."""
    ledger, ids = year
    ms = month_summary(ledger, YEAR, MONTH, office_cfg, now=NOWS["after the month"])
    p = ms.ppid
    assert _names(ids, p.upcoming) == {"arrives_30_nov_23_30_wib"}
    assert _names(ids, p.extended) == {"extended"}
    assert next(e for e in p.extended).deadline == "2026-11-25"  # the second extension does not count
    assert _names(ids, p.lapsed) == {
        "open_from_october",
        "answered_late_in_december",
        "rerouted_in_november",
        "lapsed_answered_in_november",
    }
    assert p.answered_in_time == 2  # "extended" and "answered_1_nov_00_20_wib"
    kearsipan = month_summary(
        ledger, YEAR, MONTH, office_cfg, bidang="kearsipan", now=NOWS["after the month"]
    )
    assert "rerouted_in_november" in _names(ids, kearsipan.ppid.lapsed)  # the latest forward's bidang
    rows = record_rows(ledger, 3, year=YEAR, month=MONTH, cfg=office_cfg, now=NOWS["after the month"])
    by_id = {v: k for k, v in ids.items()}
    names = sorted((by_id[r["item_id"]], r["bidang"]) for r in rows)
    assert ("forwarded_31_oct_23_50_wib", "perpustakaan") not in names
    assert ("forwarded_1_dec_00_01_wib", "perpustakaan") not in names
    assert ("forwarded_1_nov_00_05_wib", "kearsipan") in names
    assert ("forwarded_30_nov_23_55_wib", "perpustakaan") in names
    assert ("rerouted_in_november", "kearsipan") in names
    assert ("rerouted_in_november", "perpustakaan") not in names  # forwarded in October
    mid = month_summary(ledger, YEAR, MONTH, office_cfg, now=NOWS["mid-month"])
    assert "extended" in _names(ids, mid.ppid.upcoming)  # answered on 20 Nov, after the 15th
    assert mid.ppid.as_of == "2026-11-15"


def test_proof_of_monitoring_from_a_day_on_equals_every_day_filtered(year, office_cfg):
    ledger, _ = year
    inbox, cal = Inbox(ledger), office_cfg.calendar()
    every = inbox.days(office_cfg.tz, until=date(2026, 11, 30), calendar=cal)
    assert every[0]["date"] == "2026-09-01"  # the first sweep ever
    for since in (
        date(2026, 8, 1),
        date(2026, 9, 1),
        date(2026, 11, 1),
        date(2026, 11, 2),
        date(2026, 12, 5),
    ):
        part = inbox.days(office_cfg.tz, until=date(2026, 11, 30), calendar=cal, since=since)
        assert part == [d for d in every if d["date"] >= since.isoformat()]
    nov = {d["date"]: d for d in every}
    assert nov["2026-11-01"]["all_sweeps"] == 1  # 00:30 WIB on 1 Nov is 31 Oct in UTC
    assert nov["2026-10-31"]["all_sweeps"] == 1
    assert nov["2026-11-02"]["sop_sweeps_ok"] == 3 and not nov["2026-11-02"]["flag"]
    assert nov["2026-11-03"]["failed_or_partial"] == 1
    ms = month_summary(ledger, YEAR, MONTH, office_cfg, now=NOWS["after the month"])
    assert ms.monitoring.sweeps_total == 5 and ms.monitoring.sop_sweeps_ok == 3
