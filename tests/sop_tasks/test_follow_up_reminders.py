from datetime import UTC, date, datetime, timedelta

import pytest

from sop_tasks.airflow.followup import approval_reminders, reminders
from sop_tasks.followup import (
    EVENT_APPROVAL_REQUESTED,
    EVENT_APPROVED,
    EVENT_RETURNED,
    FollowUps,
    due_approval_reminders,
    due_follow_up_reminders,
    ppid_deadline,
    remind_text,
)
from sop_tasks.records.ledger import Ledger
from tests.support.follow_up import PPID_TEXT, WIB, decide, mark_ppid, record_item


@pytest.fixture
def ledger(tmp_path):
    return Ledger(f"sqlite:///{tmp_path / 'l.db'}")


def _ppid(ledger, cfg, n, received, text=PPID_TEXT):
    """A PPID request that arrived now, with the deadline of one received at ``received``."""
    row = record_item(ledger, n, text)
    mark_ppid(ledger, cfg, row, received)
    return row


def test_unanswered_item_reminds_bidang_then_officer_once(ledger, office_cfg):
    row = record_item(ledger, 1)
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
    decide(FollowUps(ledger), row.id)
    assert [i for i, *_ in FollowUps(ledger).open_items()] == []


def test_ppid_deadline_reminded_before_it_lapses(ledger, office_cfg):
    received = datetime(2026, 12, 21, 10, 0, tzinfo=WIB)
    deadline = ppid_deadline(office_cfg, received)
    assert deadline.isoformat() == "2027-01-07"  # 10 working days, 24-25 Dec and 1 Jan excluded
    fu = FollowUps(ledger)
    _ppid(ledger, office_cfg, 2, received)  # as step 8 marks it
    sent = []
    near = datetime(2027, 1, 5, 9, 0, tzinfo=WIB)  # two working days before the deadline
    reminders(ledger, office_cfg, lambda to, s, t: sent.append(s), near)
    assert sum("informasi publik" in s for s in sent) == 1  # plus the ordinary follow-up reminders
    assert reminders(ledger, office_cfg, lambda to, s, t: sent.append(s), near) == 0
    handled = _ppid(ledger, office_cfg, 3, received, "Permohonan informasi publik: SK kepala dinas")
    decide(fu, handled.id, "dijawab dengan surat resmi", decision="no_reply", ppid=True, deadline=deadline)
    sent.clear()
    reminders(ledger, office_cfg, lambda to, s, t: sent.append(s), near)
    assert not any("informasi publik" in s for s in sent)  # handled: no PPID alarm for it


def _ppid_kinds(fu, cfg, now):
    return [(item.id, kind) for item, _, kind, _ in due_follow_up_reminders(fu, cfg, now) if "ppid" in kind]


def test_extension_moves_the_ppid_reminder_to_the_new_deadline(ledger, office_cfg):
    fu = FollowUps(ledger)
    row = _ppid(ledger, office_cfg, 4, datetime(2026, 12, 21, 10, 0, tzinfo=WIB))  # deadline Thu 7 Jan
    sent = []

    def notify(to, subject, text):
        sent.append((to, subject, text))

    reminders(ledger, office_cfg, notify, datetime(2027, 1, 5, 9, 0, tzinfo=WIB))
    assert [s for _, s, _ in sent if "informasi publik" in s] == [
        f"[SOP] Batas waktu permohonan informasi publik #{row.id} mendekat"
    ]
    fu.extend_ppid(
        row.id,
        reason="arsip di gudang",
        actor="pengelola_ti",
        cfg=office_cfg,
        now=datetime(2027, 1, 5, 10, 0, tzinfo=WIB),
    )  # new deadline Mon 18 Jan
    assert fu.ppid_deadlines() == [(row.id, "perpustakaan", date(2027, 1, 18))]
    # the original deadline day passes without a (false) alarm: the deadline is now 18 Jan
    assert _ppid_kinds(fu, office_cfg, datetime(2027, 1, 8, 9, 0, tzinfo=WIB)) == []
    assert _ppid_kinds(fu, office_cfg, datetime(2027, 1, 13, 9, 0, tzinfo=WIB)) == []  # 3 working days left
    sent.clear()
    near = datetime(2027, 1, 14, 9, 0, tzinfo=WIB)  # 2 working days left (15, 18 Jan)
    reminders(ledger, office_cfg, notify, near)
    ppid_sent = [m for m in sent if "informasi publik" in m[1]]
    assert len(ppid_sent) == 1
    to, subject, text = ppid_sent[0]
    assert subject == f"[SOP] Batas waktu perpanjangan permohonan informasi publik #{row.id} mendekat"
    assert "tidak dapat diperpanjang lagi" in text
    assert set(office_cfg.bidang_by_code("perpustakaan").emails) <= set(to)
    assert set(office_cfg.officers.emails) <= set(to)
    assert reminders(ledger, office_cfg, notify, near) == 0  # once
    kinds = [(e.detail or {}).get("kind") for e in fu.events(row.id) if e.event == "reminded"]
    assert kinds.count("ppid") == 1 and kinds.count("ppid_diperpanjang") == 1


def test_early_extension_gets_one_reminder_and_answered_gets_none(ledger, office_cfg):
    fu = FollowUps(ledger)
    early = _ppid(ledger, office_cfg, 5, datetime(2026, 12, 21, 10, 0, tzinfo=WIB))
    fu.extend_ppid(
        early.id, reason="r", actor="a", cfg=office_cfg, now=datetime(2026, 12, 22, 9, 0, tzinfo=WIB)
    )
    done = _ppid(ledger, office_cfg, 6, datetime(2026, 12, 21, 10, 0, tzinfo=WIB))
    fu.extend_ppid(
        done.id, reason="r", actor="a", cfg=office_cfg, now=datetime(2026, 12, 22, 9, 0, tzinfo=WIB)
    )
    fu.add(done.id, "perpustakaan", "posted", detail={"mode": "live", "url": "https://s/?c=6#r"})
    assert _ppid_kinds(fu, office_cfg, datetime(2027, 1, 6, 9, 0, tzinfo=WIB)) == []
    assert _ppid_kinds(fu, office_cfg, datetime(2027, 1, 14, 9, 0, tzinfo=WIB)) == [
        (early.id, "ppid_diperpanjang")
    ]


def test_remind_text_names_the_current_deadline(ledger, office_cfg):
    row = _ppid(ledger, office_cfg, 7, datetime(2026, 12, 21, 10, 0, tzinfo=WIB))
    subject, text = remind_text(
        row, "perpustakaan", "ppid", datetime(2027, 1, 5, 9, 0, tzinfo=WIB), deadline=date(2027, 1, 7)
    )
    assert "mendekat" in subject and "paling lambat Kamis, 07-01-2027" in text
    assert f'sop ppid extend {row.id} --alasan "..."' in text  # how to extend, before it lapses
    subject, text = remind_text(
        row,
        "perpustakaan",
        "ppid_diperpanjang",
        datetime(2027, 1, 14, 9, 0, tzinfo=WIB),
        deadline=date(2027, 1, 18),
    )
    assert "perpanjangan" in subject and "paling lambat Senin, 18-01-2027" in text
    assert "sop ppid extend" not in text
    subject, text = remind_text(
        row, "perpustakaan", "ppid", datetime(2027, 1, 8, 9, 0, tzinfo=WIB), deadline=date(2027, 1, 7)
    )
    assert "sudah lewat" in subject and "Kamis, 07-01-2027" in text
    subject, text = remind_text(row, "perpustakaan", "ppid", datetime(2027, 1, 5, 9, 0, tzinfo=WIB))
    assert "informasi publik" in subject and "sebelum batas waktu" in text  # caller without a deadline


def test_ppid_reminder_mail_names_the_deadline_date(ledger, office_cfg):
    fu = FollowUps(ledger)
    row = _ppid(ledger, office_cfg, 8, datetime(2026, 12, 21, 10, 0, tzinfo=WIB))  # deadline Thu 7 Jan
    sent = []
    reminders(
        ledger, office_cfg, lambda to, s, t: sent.append((s, t)), datetime(2027, 1, 5, 9, 0, tzinfo=WIB)
    )
    [(_, text)] = [(s, t) for s, t in sent if "informasi publik" in s]
    assert "paling lambat Kamis, 07-01-2027" in text and "sebelum batas waktu" not in text
    fu.extend_ppid(row.id, reason="r", actor="a", cfg=office_cfg, now=datetime(2027, 1, 5, 10, 0, tzinfo=WIB))
    sent.clear()
    reminders(
        ledger, office_cfg, lambda to, s, t: sent.append((s, t)), datetime(2027, 1, 14, 9, 0, tzinfo=WIB)
    )
    [(_, text)] = [(s, t) for s, t in sent if "informasi publik" in s]
    assert "paling lambat Senin, 18-01-2027" in text  # the extended deadline


def _reply_and_return(fu, row, reason="Kurang lengkap"):
    decide(fu, row.id)
    fu.add(row.id, "perpustakaan", EVENT_RETURNED, actor="kasubag", text=reason, run_id="r")


def test_a_returned_reply_reminds_the_bidang_again_counted_from_the_return(ledger, office_cfg):
    row = record_item(ledger, 9)
    fu = FollowUps(ledger)
    sent = []

    def notify(to, subject, text):
        sent.append((list(to), subject, text))

    now = datetime.now(UTC)
    assert reminders(ledger, office_cfg, notify, now + timedelta(days=7)) == 2  # bidang, then officer
    _reply_and_return(fu, row)
    assert [i.id for i, *_ in fu.open_items()] == [row.id]
    sent.clear()
    assert reminders(ledger, office_cfg, notify, now) == 0  # just returned: not yet
    later = now + timedelta(days=7)
    kinds = [kind for _, _, kind, _ in due_follow_up_reminders(fu, office_cfg, later)]
    assert kinds == ["revisi_bidang", "revisi_pengelola"]  # the earlier reminders do not count
    assert reminders(ledger, office_cfg, notify, later) == 2
    assert all("dikembalikan" in s and f"#{row.id}" in s for _, s, _ in sent)
    assert "untuk bidang" in sent[0][2] and "pengelola TI" in sent[1][2] and "jawaban baru" in sent[0][2]
    assert reminders(ledger, office_cfg, notify, later) == 0  # once per return
    _reply_and_return(fu, row, "Masih kurang")  # a second return starts them afresh
    assert reminders(ledger, office_cfg, notify, later + timedelta(days=7)) == 2


def _awaiting_approval(ledger, n):
    row = record_item(ledger, n)
    fu = FollowUps(ledger)
    decide(fu, row.id)
    fu.add(row.id, "perpustakaan", EVENT_APPROVAL_REQUESTED, run_id="r")
    request = next(e for e in fu.events(row.id) if e.event == EVENT_APPROVAL_REQUESTED)
    return row, request.at.replace(tzinfo=UTC)


def test_a_reply_waiting_for_approval_reminds_the_kasubag_after_step_9s_standard_time(ledger, office_cfg):
    row, t0 = _awaiting_approval(ledger, 10)
    sent = []

    def notify(to, subject, text):
        sent.append((list(to), subject, text))

    def remind(minutes):
        return approval_reminders(ledger, office_cfg, notify, t0 + timedelta(minutes=minutes))

    assert remind(4) == 0  # step 9's standard time (5 minutes) has not passed
    assert remind(6) == 1
    to, subject, text = sent[0]
    assert to == ["kasubag@dinarpus.test"] == office_cfg.verifier("kasubag").emails
    assert subject == f"[SOP] Pengingat persetujuan balasan informasi masuk #{row.id}"
    assert "Kasubag Umum dan Kepegawaian" in text and "(6 menit; waktu baku langkah 9" in text
    assert "5 menit" in text and "tidak diunggah sebelum disetujui" in text
    assert remind(6) == 0 and remind(20) == 0  # never twice within reminder_every_minutes (15)
    assert remind(21) == 1  # 15 minutes after the first one
    assert remind(35) == 0 and remind(36) == 1
    fu = FollowUps(ledger)
    reminded = [e for e in fu.events(row.id) if e.event == "reminded"]
    assert [(e.detail or {})["kind"] for e in reminded] == ["persetujuan_balasan"] * 3
    assert due_follow_up_reminders(fu, office_cfg, t0 + timedelta(minutes=36)) == []  # not the bidang's turn
    fu.add(row.id, "perpustakaan", EVENT_APPROVED, actor="kasubag", run_id="r")
    assert remind(60) == 0  # answered: no more


def test_approval_reminders_stop_for_a_returned_reply_and_after_three_days(ledger, office_cfg):
    fu = FollowUps(ledger)
    returned, t0 = _awaiting_approval(ledger, 11)
    fu.add(returned.id, "perpustakaan", EVENT_RETURNED, actor="kasubag", text="x", run_id="r")
    forgotten, _ = _awaiting_approval(ledger, 12)
    assert due_approval_reminders(fu, office_cfg, t0 + timedelta(minutes=10)) != []
    assert [r.item.id for r in due_approval_reminders(fu, office_cfg, t0 + timedelta(minutes=10))] == [
        forgotten.id
    ]
    assert due_approval_reminders(fu, office_cfg, t0 + timedelta(days=3, minutes=1)) == []
    # a reply written without approval switched on was never requested: nothing to remind
    plain = record_item(ledger, 13)
    decide(fu, plain.id)
    assert {r.item.id for r in due_approval_reminders(fu, office_cfg, t0 + timedelta(minutes=10))} == {
        forgotten.id
    }


def test_an_item_of_a_bidang_removed_from_the_config_still_reminds_the_officers(ledger, office_cfg):
    row = record_item(ledger, 1)
    cfg = office_cfg.model_copy(update={"bidang": [b for b in office_cfg.bidang if b.code != "perpustakaan"]})
    due = due_follow_up_reminders(FollowUps(ledger), cfg, datetime.now(UTC) + timedelta(days=7))
    assert [(i.id, kind) for i, _, kind, _ in due] == [(row.id, "bidang"), (row.id, "pengelola")]
    assert all(to == list(cfg.officers.emails) for *_, to in due)
