"""The month's figures (sop_tasks.reports.summary) from records written through the real ledger."""

from __future__ import annotations

import json

import pytest

from sop_tasks.reports.summary import PeriodError, month_summary, parse_month, record_rows
from tests.support.month import MONTH, NOW, YEAR, seed_month
from tests.support.records import new_ledger


@pytest.fixture
def seeded(tmp_path, office_cfg, monkeypatch):
    ledger = new_ledger(tmp_path)
    ids = seed_month(ledger, office_cfg, monkeypatch)
    return ledger, ids


def _step(ms, no):
    return next(s for s in ms.steps if s.step == no)


def test_month_figures_count_only_the_month(seeded, office_cfg):
    ledger, _ = seeded
    ms = month_summary(ledger, YEAR, MONTH, office_cfg, now=NOW)
    s = ms.submissions
    assert (s.total, s.publish, s.update, s.approved, s.returned) == (3, 3, 0, 1, 1)
    assert {c.key: c.count for c in s.by_status} == {
        "diunggah": 1,
        "dikembalikan": 1,
        "menunggu verifikasi": 1,
    }
    uploads = {u.channel: (u.published, u.outbox, u.failed) for u in s.uploads}
    assert uploads == {"website": (1, 0, 0), "instagram": (0, 0, 0), "twitter": (0, 1, 0)}
    inc = ms.incoming
    assert (inc.total, inc.spam) == (4, 1)
    assert {c.key: c.count for c in inc.by_channel} == {"website": 2, "instagram": 1, "twitter": 1}
    assert {c.key: c.count for c in inc.by_bidang} == {"perpustakaan": 2, "kearsipan": 1, "sekretariat": 0}
    f = ms.follow_ups
    assert (f.total, f.answered, f.not_needed, f.forwarded, f.waiting, f.posted) == (3, 1, 1, 1, 0, 1)
    assert f.time_to_post.median_seconds == 180.0 and f.time_to_post.late == 0
    assert f.time_to_answer.count == 3


def test_each_step_against_its_standard_time_and_per_official(seeded, office_cfg):
    ledger, _ = seeded
    ms = month_summary(ledger, YEAR, MONTH, office_cfg, now=NOW)
    st2 = _step(ms, 2)
    assert (st2.durations.count, st2.durations.late, st2.durations.standard_seconds) == (2, 1, 900)
    assert st2.durations.median_seconds == 750.0 and st2.durations.max_seconds == 1200.0
    assert [(a.actor, a.durations.count, a.durations.late) for a in st2.by_actor] == [("kasubag", 2, 1)]
    st3 = _step(ms, 3)
    assert (st3.durations.count, st3.durations.late, st3.durations.max_seconds) == (2, 1, 1800.0)
    assert _step(ms, 4).durations.count == 1
    assert _step(ms, 6).durations.count == 6  # every sweep of the month, 2 minutes each
    assert _step(ms, 6).durations.late == 0
    assert _step(ms, 7).durations.median_seconds == 120.0
    st8 = _step(ms, 8)
    assert st8.durations.standard_seconds is None and st8.durations.late == 0
    assert {a.actor for a in st8.by_actor} == {"bidang_perpustakaan", "bidang_kearsipan"}
    assert _step(ms, 9).durations.median_seconds == 180.0
    assert dict(ms.figures())["Langkah melebihi waktu baku"] == 2


def test_ppid_and_proof_of_monitoring(seeded, office_cfg):
    ledger, ids = seeded
    ms = month_summary(ledger, YEAR, MONTH, office_cfg, now=NOW)
    p = ms.ppid
    assert p.as_of == "2026-11-30"
    assert [e.item_id for e in p.lapsed] == [ids["items"]["reroute"]]
    assert p.upcoming == () and p.extended == () and p.answered_in_time == 1
    m = ms.monitoring
    assert len(m.days) == 30 and m.days[0].date == "2026-11-01" and m.days[0].weekday == "Minggu"
    assert m.working_days == 21  # November 2026 has no holiday in the config
    assert (m.sop_sweeps_ok, m.sweeps_total, m.flagged_days) == (4, 6, 20)
    nov2, nov3, nov7 = m.days[1], m.days[2], m.days[6]
    assert not nov2.flag and [s.status for s in nov2.slots] == ["ok", "ok", "ok"]
    assert nov2.slots[0].at == "08:00" and nov2.slots[0].run_id == "scheduled__202611020800"
    assert nov3.flag and [s.status for s in nov3.slots] == ["ok", "failed", "missing"]
    assert not nov7.working_day and not nov7.flag and nov7.other_sweeps == 1


def test_bidang_sees_its_own_items_only(seeded, office_cfg):
    ledger, ids = seeded
    ms = month_summary(ledger, YEAR, MONTH, office_cfg, bidang="perpustakaan", now=NOW)
    assert (ms.incoming.total, ms.incoming.spam) == (2, 0)
    assert [c.key for c in ms.incoming.by_bidang] == ["perpustakaan"]
    assert (ms.follow_ups.total, ms.follow_ups.answered, ms.follow_ups.not_needed) == (2, 1, 1)
    assert ms.ppid.lapsed == () and ms.ppid.answered_in_time == 1
    assert ms.submissions.total == 3  # the office's own uploads have no bidang
    rows = record_rows(ledger, 3, year=YEAR, month=MONTH, bidang="kearsipan", cfg=office_cfg, now=NOW)
    assert [r["item_id"] for r in rows] == [ids["items"]["reroute"]]


def test_record_rows_link_runs_and_live_posts_and_filter(seeded, office_cfg):
    ledger, ids = seeded
    r1 = record_rows(ledger, 1, year=YEAR, month=MONTH, cfg=office_cfg)
    assert [r["id"] for r in r1] == [ids["submissions"][k] for k in ("published", "returned", "waiting")]
    assert r1[0]["run_path"] == "/dags/sop_publish/runs/manual__1"
    assert r1[0]["live_urls"] == {"website": "https://dinarpus.test/?p=77"}
    assert [
        r["id"] for r in record_rows(ledger, 1, year=YEAR, month=MONTH, cfg=office_cfg, channel="instagram")
    ] == [ids["submissions"]["returned"]]
    assert [
        r["id"] for r in record_rows(ledger, 1, year=YEAR, month=MONTH, cfg=office_cfg, status="dikembalikan")
    ] == [ids["submissions"]["returned"]]
    r2 = record_rows(ledger, 2, year=YEAR, month=MONTH, cfg=office_cfg)
    assert len(r2) == 4 and all(r["run_path"] == "/dags/sop_monitor/runs/scheduled__202611020800" for r in r2)
    assert [
        r["id"] for r in record_rows(ledger, 2, year=YEAR, month=MONTH, cfg=office_cfg, status="spam")
    ] == [ids["items"]["spam"]]
    assert [
        r["id"] for r in record_rows(ledger, 2, year=YEAR, month=MONTH, cfg=office_cfg, channel="twitter")
    ] == [ids["items"]["reroute"]]
    r3 = record_rows(ledger, 3, year=YEAR, month=MONTH, cfg=office_cfg, now=NOW)
    assert [(r["item_id"], r["run_id"], r["status"]) for r in r3] == [
        (ids["items"]["reply"], "manual__fu1", "reply"),
        (ids["items"]["no_reply"], "manual__fu2", "no_reply"),
        (ids["items"]["reroute"], "manual__fu3", "reroute"),
    ]
    assert r3[0]["posted"]["url"] == "https://s/?p=1#comment-c1"
    # October's records stay in October
    oct1 = record_rows(ledger, 1, year=YEAR, month=10, cfg=office_cfg)
    assert [r["id"] for r in oct1] == [ids["submissions"]["october"]]
    assert [r["item_id"] for r in record_rows(ledger, 3, year=YEAR, month=10, cfg=office_cfg)] == [
        ids["items"]["october"]
    ]


def test_summary_is_json_and_its_figures_agree_with_the_rows(seeded, office_cfg):
    ledger, _ = seeded
    ms = month_summary(ledger, YEAR, MONTH, office_cfg, now=NOW)
    data = json.loads(json.dumps(ms.to_json()))
    assert data["label"] == "November 2026" and data["submissions"]["total"] == 3
    figures = dict(ms.figures())
    assert figures["Pengajuan"] == len(record_rows(ledger, 1, year=YEAR, month=MONTH, cfg=office_cfg))
    assert figures["Informasi masuk"] == len(record_rows(ledger, 2, year=YEAR, month=MONTH, cfg=office_cfg))
    assert figures["Tindak lanjut"] == len(record_rows(ledger, 3, year=YEAR, month=MONTH, cfg=office_cfg))


@pytest.mark.parametrize("text", ["2026-13", "11-2026", "", "2026/11", "26-11"])
def test_a_bad_month_says_how_to_write_it(text):
    with pytest.raises(PeriodError, match="TTTT-BB"):
        parse_month(text)


def test_parse_month():
    assert parse_month("2026-11") == (2026, 11)
