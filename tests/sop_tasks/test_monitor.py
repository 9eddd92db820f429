"""Sweeps, watermarks and forwarding: nothing lost, nothing twice, every sweep proven."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sop_tasks.errors import CredentialsError
from sop_tasks.incoming import CollectResult, IncomingItem
from sop_tasks.monitor import forward, run_sweep
from sop_tasks.records.inbox import Inbox
from tests.support.records import new_ledger
from tests.support.smtp import body_text, smtp_server

WIB = ZoneInfo("Asia/Jakarta")


@dataclass(frozen=True)
class Decision:
    bidang: str | None
    spam: bool
    reasons: tuple[str, ...]


def route(text: str) -> Decision:
    if "gacor" in text:
        return Decision(None, True, ("spam: judi online",))
    if "buku" in text:
        return Decision("perpustakaan", False, ("kata 'buku' → perpustakaan",))
    return Decision("sekretariat", False, ("bawaan: sekretariat",))


def route_many(texts: list[str]) -> list[Decision]:
    """A sweep routes its new items as one batch (the learned router scores a batch at once)."""
    return [route(t) for t in texts]


class FakePlatform:
    """A channel whose items arrive over time; collects by id watermark, like the real ones."""

    channel = "twitter"

    def __init__(self) -> None:
        self.items: list[IncomingItem] = []
        self.fail_with: Exception | None = None
        self.calls: list[str | None] = []

    def post(self, n: int, text: str = "pinjam buku") -> None:
        for _ in range(n):
            i = len(self.items) + 1
            self.items.append(
                IncomingItem(
                    channel=self.channel,
                    platform_id=str(1000 + i),
                    kind="mention",
                    author=f"@warga{i}",
                    text=f"{text} #{i}",
                    created_at=datetime(2026, 11, 26, 8, 0, tzinfo=WIB) + timedelta(minutes=i),
                    url=f"https://x.com/warga{i}/status/{1000 + i}",
                )
            )

    def collect(self, watermark: str | None) -> CollectResult:
        self.calls.append(watermark)
        if self.fail_with:
            raise self.fail_with
        last = int(watermark or 0)
        new = [i for i in self.items if int(i.platform_id) > last]
        top = max([last, *(int(i.platform_id) for i in new)])
        return CollectResult(new, str(top) if top else watermark)


@pytest.fixture
def inbox(tmp_path) -> Inbox:
    return Inbox(new_ledger(tmp_path))


def _sweep(inbox, platform, **kw):
    return run_sweep(
        inbox,
        {"twitter": platform, "website": None},
        route_many,
        accounts={"twitter": "sop_twitter"},
        run_id=kw.get("run_id", "r"),
        slot=kw.get("slot", "pagi"),
        sop_sweep=True,
    )


def test_missed_sweeps_are_covered_by_the_next(inbox):
    x = FakePlatform()
    x.post(3)
    _sweep(inbox, x)
    x.post(5)  # the noon and afternoon sweeps were missed (scheduler down)
    r = _sweep(inbox, x)
    assert r.counts["twitter"]["new"] == 5
    assert x.calls == [None, "1003"]
    assert sorted(i.platform_id for i in inbox.items()) == [str(1000 + i) for i in range(1, 9)]
    assert r.counts["website"]["status"] == "outbox"


def _sweep_killed_in(inbox, platform, monkeypatch, step: str) -> None:
    """A sweep whose worker dies inside ``inbox.<step>``; the crash is patched out again after it."""

    def crash(*a, **k):
        raise RuntimeError(f"worker killed in {step}")

    monkeypatch.setattr(inbox, step, crash)
    with pytest.raises(RuntimeError):
        _sweep(inbox, platform)
    monkeypatch.undo()


def test_crash_between_collect_and_commit_loses_nothing(inbox, monkeypatch):
    x = FakePlatform()
    x.post(4)
    _sweep_killed_in(inbox, x, monkeypatch, "record_items")
    assert inbox.watermark("twitter", "sop_twitter") is None  # not advanced
    r = _sweep(inbox, x)
    assert r.counts["twitter"]["new"] == 4 and len(inbox.items()) == 4


def test_crash_after_commit_before_watermark_records_nothing_twice(inbox, monkeypatch):
    x = FakePlatform()
    x.post(2)
    _sweep_killed_in(inbox, x, monkeypatch, "set_watermark")  # after the items were committed
    r = _sweep(inbox, x)  # re-reads the same items: the unique key keeps one of each
    assert r.counts["twitter"]["new"] == 0 and len(inbox.items()) == 2


def test_overlapping_sweeps_record_each_item_once(inbox):
    x = FakePlatform()
    x.post(200)
    barrier = threading.Barrier(2)
    original = x.collect

    def collect(w):
        res = original(w)
        barrier.wait(10)  # both runs have read the same items before either commits
        return res

    x.collect = collect  # type: ignore[method-assign]
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(_sweep(inbox, x))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(inbox.items()) == 200
    assert sum(r.counts["twitter"]["new"] for r in reports) == 200


def test_failing_channel_is_recorded_and_others_go_on(inbox):
    x = FakePlatform()
    x.fail_with = CredentialsError("twitter", "X menolak kredensial; periksa koneksi sop_twitter")
    web = FakePlatform()
    web.channel = "website"
    web.post(1)
    r = run_sweep(
        inbox,
        {"twitter": x, "website": web},
        route_many,
        accounts={},
        run_id="r",
        slot="siang",
        sop_sweep=True,
    )
    assert r.status == "partial" and "sop_twitter" in r.errors["twitter"]
    assert r.counts["website"]["new"] == 1
    sweep = inbox.sweeps()[-1]
    assert sweep.status == "partial" and sweep.errors == r.errors and sweep.ended_at >= sweep.started_at


def test_day_with_fewer_than_three_ok_sweeps_is_flagged(inbox):
    x = FakePlatform()
    for slot in ("pagi", "siang", "sore"):
        _sweep(inbox, x, slot=slot)
    days = inbox.days(WIB, until=datetime.now(WIB).date() + timedelta(days=3))
    today = next(d for d in days if d["date"] == datetime.now(WIB).date().isoformat())
    assert today["sop_sweeps_ok"] == 3 and not today["flag"]
    later = [d for d in days if d["date"] > today["date"] and d["working_day"]]
    assert later and all(d["flag"] and d["sop_sweeps_ok"] == 0 for d in later)


def test_spam_not_forwarded_and_digest_per_bidang(inbox, office_cfg, monkeypatch):
    x = FakePlatform()
    x.post(2, "mau pinjam buku <script>alert(1)</script>")
    x.post(1, "slot gacor maxwin")
    x.post(1, "terima kasih pelayanannya")
    r = _sweep(inbox, x)
    with smtp_server() as (mails, conn):
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", conn)
        from sop_tasks.airflow.notify import notify

        cfg = office_cfg.model_copy(
            update={
                "bidang": [
                    b.model_copy(update={"emails": [f"{b.code}@dinarpus.test"]}) for b in office_cfg.bidang
                ]
            }
        )
        sent = forward(inbox, cfg, notify, r.sweep_id)
        again = forward(inbox, cfg, notify, r.sweep_id)
    assert {b: len(ids) for b, ids in sent.items()} == {"perpustakaan": 2, "sekretariat": 1} and again == {}
    to = sorted(m["X-Rcpt"] for m in mails.messages)
    assert to == ["perpustakaan@dinarpus.test", "sekretariat@dinarpus.test"]  # kearsipan: nothing new
    perpus = next(m for m in mails.messages if "perpustakaan" in m["X-Rcpt"])
    text = body_text(perpus)
    assert "&lt;script&gt;" in text and "<script>" not in text
    assert "https://x.com/warga1/status/1001" in text and "gacor" not in text
    assert {f.bidang for f in inbox.forwards()} == {"perpustakaan", "sekretariat"}
    assert all(f.via == "email" for f in inbox.forwards())


def test_timetable_yields_configured_wib_times_across_month_end(office_cfg):
    from airflow.timetables.base import DagRunInfo, TimeRestriction
    from airflow.timetables.trigger import MultipleCronTriggerTimetable  # what the scheduler runs

    tt = MultipleCronTriggerTimetable(*office_cfg.monitoring.crons(), timezone="Asia/Jakarta")
    restriction = TimeRestriction(
        earliest=datetime(2026, 11, 29, 0, 0, tzinfo=UTC), latest=None, catchup=True
    )
    last: DagRunInfo | None = None
    seen = []
    for _ in range(12):
        last = tt.next_dagrun_info(
            last_automated_data_interval=last.data_interval if last else None, restriction=restriction
        )
        assert last is not None
        seen.append(last.run_after.astimezone(WIB).strftime("%Y-%m-%d %H:%M"))
    assert seen[:12] == [
        f"{d} {t}"
        for d in ("2026-11-29", "2026-11-30", "2026-12-01", "2026-12-02")
        for t in ("08:00", "12:00", "15:30")
    ]
    assert date(2026, 12, 1).isoformat() in seen[6]


def test_records_sweeps_and_incoming_commands(inbox):
    import io
    import json
    from argparse import Namespace

    from sop_tasks.cli import cmd_records_incoming, cmd_records_sweeps

    x = FakePlatform()
    x.post(2, "pinjam buku")
    _sweep(inbox, x, slot="pagi")
    url = str(inbox.ledger.engine.url)
    out = io.StringIO()
    cmd_records_sweeps(Namespace(db=url, json=True), out)
    day = json.loads(out.getvalue().splitlines()[0])
    assert day["sop_sweeps_ok"] == 1 and day["slots"] == ["pagi"]
    assert day["flag"] == day["working_day"]  # one sweep is not enough on a working day
    out = io.StringIO()
    cmd_records_sweeps(Namespace(db=url, json=False), out)
    assert ("KURANG DARI 3 SAPUAN" in out.getvalue()) == day["working_day"]
    out = io.StringIO()
    cmd_records_incoming(Namespace(db=url, json=True), out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["bidang"] for r in rows] == ["perpustakaan", "perpustakaan"] and rows[0]["forwarded_at"] is None
    assert rows[0]["created_at"].endswith("+07:00")


def test_a_public_holiday_is_not_flagged_for_missing_sweeps(inbox):
    from sop_tasks.workdays import WorkCalendar

    _sweep(inbox, FakePlatform(), slot="pagi")
    today = datetime.now(WIB).date()
    # the next weekday after today, declared a holiday
    holiday = next(
        today + timedelta(days=n) for n in range(1, 8) if (today + timedelta(days=n)).weekday() < 5
    )
    days = inbox.days(WIB, until=holiday, calendar=WorkCalendar([holiday]))
    row = next(d for d in days if d["date"] == holiday.isoformat())
    assert not row["working_day"] and not row["flag"]
    plain = next(d for d in inbox.days(WIB, until=holiday) if d["date"] == holiday.isoformat())
    assert plain["working_day"] and plain["flag"]  # without the office calendar it would be flagged
