from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sop_tasks.airflow.followup import reminders
from sop_tasks.followup import FollowUps, ppid_deadline
from sop_tasks.incoming import IncomingItem
from sop_tasks.records.inbox import Inbox
from sop_tasks.records.ledger import Ledger

WIB = ZoneInfo("Asia/Jakarta")


class D:
    def __init__(self, bidang):
        self.bidang, self.spam, self.reasons = bidang, False, ("uji",)


def _item(inbox, n, text="Mohon info jadwal"):
    item = IncomingItem(
        "website", str(n), "comment", "Warga", text, datetime.now(WIB), url=f"https://s/?c={n}"
    )
    sweep = inbox.start_sweep(run_id="r", slot="pagi", sop_sweep=True, channels=["website"])
    inbox.record_items([item], [D("perpustakaan")], sweep)
    row = next(i for i in inbox.items() if i.platform_id == str(n))
    inbox.record_forwards([row.id], "perpustakaan", sweep, "log")
    return row


def test_unanswered_item_reminds_bidang_then_officer_once(tmp_path, office_cfg):
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    inbox = Inbox(ledger)
    row = _item(inbox, 1)
    sent = []

    def notify(to, subject, text):
        sent.append((subject, text))
        return False

    now = datetime.now(UTC)
    assert reminders(ledger, office_cfg, notify, now) == 0  # same day: nothing yet
    later = now + timedelta(days=7)  # well past one (and two) working days
    assert reminders(ledger, office_cfg, notify, later) == 2
    assert reminders(ledger, office_cfg, notify, later) == 0  # each reminder once
    assert all(f"#{row.id}" in s for s, _ in sent) and "pengelola TI" in sent[1][1]
    FollowUps(ledger).decide(
        row.id,
        "perpustakaan",
        decision="reply",
        actor="bidang_perpustakaan",
        text="Jam 8",
        target_bidang=None,
        ppid=False,
        deadline=None,
        run_id="r",
    )
    assert [i for i, *_ in FollowUps(ledger).open_items()] == []


def test_ppid_deadline_reminded_before_it_lapses(tmp_path, office_cfg):
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    row = _item(Inbox(ledger), 2, "Permohonan informasi publik: daftar arsip statis 2020")
    received = datetime(2026, 12, 21, 10, 0, tzinfo=WIB)
    deadline = ppid_deadline(office_cfg, received)
    assert deadline.isoformat() == "2027-01-07"  # 10 working days, 24-25 Dec and 1 Jan excluded
    fu = FollowUps(ledger)
    fu.add(row.id, "perpustakaan", "ppid", ppid=True, deadline=deadline, run_id="r")  # as step 8 marks it
    sent = []
    near = datetime(2027, 1, 5, 9, 0, tzinfo=WIB)  # two working days before the deadline
    reminders(ledger, office_cfg, lambda to, s, t: sent.append(s), near)
    assert sum("informasi publik" in s for s in sent) == 1  # plus the ordinary follow-up reminders
    assert reminders(ledger, office_cfg, lambda to, s, t: sent.append(s), near) == 0
    handled = _item(Inbox(ledger), 3, "Permohonan informasi publik: SK kepala dinas")
    fu.add(handled.id, "perpustakaan", "ppid", ppid=True, deadline=deadline, run_id="r")
    fu.decide(
        handled.id,
        "perpustakaan",
        decision="no_reply",
        actor="bidang_perpustakaan",
        text="dijawab dengan surat resmi",
        target_bidang=None,
        ppid=True,
        deadline=deadline,
        run_id="r",
    )
    sent.clear()
    reminders(ledger, office_cfg, lambda to, s, t: sent.append(s), near)
    assert not any("informasi publik" in s for s in sent)  # handled: no PPID alarm for it
