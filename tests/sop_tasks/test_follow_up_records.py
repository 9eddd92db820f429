"""Record 3 (tindak lanjut): the PPID clock, its one extension (UU 14/2008) and the summaries."""

from datetime import UTC, date, datetime, timedelta

import pytest

from sop_tasks.followup import (
    EVENT_APPROVAL_REQUESTED,
    EVENT_APPROVED,
    EVENT_PPID_EXTENDED,
    EVENT_RETURNED,
    FollowUpError,
    FollowUps,
    fmt_date,
)
from sop_tasks.records.inbox import Inbox
from sop_tasks.records.ledger import Ledger
from tests.support.follow_up import WIB, decide, ppid_item, published, record_item


@pytest.fixture
def ledger(tmp_path):
    return Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")


def wib(*args):
    return datetime(*args, tzinfo=WIB)


def _reroute_to_kearsipan(ledger, fu, row):
    """Perpustakaan passes the PPID request on to kearsipan, and the forward is recorded."""
    decide(
        fu,
        row.id,
        text=None,
        decision="reroute",
        target_bidang="kearsipan",
        ppid=True,
        deadline=date(2027, 1, 7),
    )
    Inbox(ledger).record_forwards([row.id], "kearsipan", None, "teruskan:perpustakaan")


# ---- extension arithmetic (config holidays) -------------------------------------------------
def test_extension_is_seven_working_days_after_the_deadline_across_year_end(ledger, office_cfg):
    row = ppid_item(ledger, office_cfg, 1, wib(2026, 12, 21, 10, 0))
    fu = FollowUps(ledger)
    assert fu.ppid_clock(row.id).deadline == date(2027, 1, 7)  # 24-25 Dec and 1 Jan excluded
    clock = fu.extend_ppid(
        row.id,
        reason="Arsip ada di gudang arsip inaktif",
        actor="pengelola_ti",
        cfg=office_cfg,
        now=wib(2027, 1, 5, 9, 0),
    )
    # Fri 8 Jan, Mon 11 … Fri 15 Jan, Mon 18 Jan: the weekend in between is not counted
    assert clock.original_deadline == date(2027, 1, 7) and clock.deadline == date(2027, 1, 18)
    assert clock.extended and clock.extended_by == "pengelola_ti"
    assert clock.extension_reason == "Arsip ada di gudang arsip inaktif"
    ext = [e for e in fu.events(row.id) if e.event == EVENT_PPID_EXTENDED]
    assert len(ext) == 1 and ext[0].ppid and ext[0].deadline == date(2027, 1, 18)
    assert ext[0].bidang == "perpustakaan" and ext[0].actor == "pengelola_ti"
    assert ext[0].detail == {
        "original_deadline": "2027-01-07",
        "extension_working_days": 7,
        "requested_on": "2027-01-05",
    }
    assert fu.ppid_deadlines() == [(row.id, "perpustakaan", date(2027, 1, 18))]


def test_extension_skips_the_holidays_in_the_config(ledger, office_cfg):
    # received Fri 5 Mar 2027: 10 working days skip 10 Mar and 22 Mar (holidays) → Tue 23 Mar;
    # 7 more skip Good Friday 26 Mar and the weekend → Fri 2 Apr
    row = ppid_item(ledger, office_cfg, 2, wib(2027, 3, 5, 16, 30))
    fu = FollowUps(ledger)
    assert fu.ppid_clock(row.id).deadline == date(2027, 3, 23)
    clock = fu.extend_ppid(
        row.id, reason="Perlu izin pejabat", actor="kadis", cfg=office_cfg, now=wib(2027, 3, 19, 8, 0)
    )
    assert clock.deadline == date(2027, 4, 2)


def test_extension_length_comes_from_the_config(ledger, office_cfg):
    row = ppid_item(ledger, office_cfg, 3, wib(2026, 12, 21, 10, 0))
    short = office_cfg.model_copy(
        update={"follow_up": office_cfg.follow_up.model_copy(update={"ppid_extension_days": 2})}
    )
    clock = FollowUps(ledger).extend_ppid(row.id, reason="r", actor="a", cfg=short, now=wib(2027, 1, 6, 9, 0))
    assert clock.deadline == date(2027, 1, 11)  # Fri 8, Mon 11
    off = office_cfg.model_copy(
        update={"follow_up": office_cfg.follow_up.model_copy(update={"ppid_extension_days": 0})}
    )
    other = ppid_item(ledger, office_cfg, 4, wib(2026, 12, 21, 10, 0))
    with pytest.raises(FollowUpError, match="ppid_extension_days"):
        FollowUps(ledger).extend_ppid(other.id, reason="r", actor="a", cfg=off, now=wib(2027, 1, 6, 9, 0))


def test_deadline_day_itself_can_still_be_extended_but_not_the_day_after(ledger, office_cfg):
    fu = FollowUps(ledger)
    a = ppid_item(ledger, office_cfg, 5, wib(2026, 12, 21, 10, 0))
    assert fu.extend_ppid(a.id, reason="r", actor="x", cfg=office_cfg, now=wib(2027, 1, 7, 23, 59)).extended
    b = ppid_item(ledger, office_cfg, 6, wib(2026, 12, 21, 10, 0))
    with pytest.raises(FollowUpError) as exc:
        # 8 Jan 00:05 WIB is still 7 Jan in UTC: the office's day counts, not UTC's
        fu.extend_ppid(
            b.id, reason="r", actor="x", cfg=office_cfg, now=datetime(2027, 1, 7, 17, 5, tzinfo=UTC)
        )
    msg = str(exc.value)
    assert "sudah lewat" in msg and "Kamis, 07-01-2027" in msg and "Jumat, 08-01-2027" in msg
    assert "pasal 22 ayat (8)" in msg and "Jawab permohonan" in msg
    assert not [e for e in fu.events(b.id) if e.event == EVENT_PPID_EXTENDED]


# ---- refusals ---------------------------------------------------------------------------------
def test_unknown_item_and_not_ppid_are_refused(ledger, office_cfg):
    fu = FollowUps(ledger)
    with pytest.raises(FollowUpError, match="#999 tidak ada di catatan"):
        fu.extend_ppid(999, reason="r", actor="a", cfg=office_cfg)
    plain = record_item(ledger, 7, "jam buka perpus?")
    with pytest.raises(FollowUpError, match="bukan permohonan informasi publik") as exc:
        fu.extend_ppid(plain.id, reason="r", actor="a", cfg=office_cfg)
    assert "mencentang 'ppid'" in str(exc.value)
    assert fu.events(plain.id) == []


def test_second_extension_is_refused_and_changes_nothing(ledger, office_cfg):
    row = ppid_item(ledger, office_cfg, 8, wib(2026, 12, 21, 10, 0))
    fu = FollowUps(ledger)
    fu.extend_ppid(row.id, reason="pertama", actor="pengelola_ti", cfg=office_cfg, now=wib(2027, 1, 4, 9, 0))
    with pytest.raises(FollowUpError) as exc:
        fu.extend_ppid(row.id, reason="kedua", actor="kadis", cfg=office_cfg, now=wib(2027, 1, 12, 9, 0))
    assert "sudah diperpanjang" in str(exc.value) and "satu kali" in str(exc.value)
    assert "Senin, 18-01-2027" in str(exc.value) and "pengelola_ti" in str(exc.value)
    assert len([e for e in fu.events(row.id) if e.event == EVENT_PPID_EXTENDED]) == 1
    assert fu.ppid_clock(row.id).deadline == date(2027, 1, 18)


def test_a_racing_second_extension_row_never_moves_the_deadline(ledger, office_cfg):
    row = ppid_item(ledger, office_cfg, 9, wib(2026, 12, 21, 10, 0))
    fu = FollowUps(ledger)
    fu.extend_ppid(row.id, reason="pertama", actor="a", cfg=office_cfg, now=wib(2027, 1, 4, 9, 0))
    # a second row written by a concurrent process (the log is append-only): the first one counts
    fu.add(
        row.id,
        "perpustakaan",
        EVENT_PPID_EXTENDED,
        actor="b",
        text="kedua",
        ppid=True,
        deadline=date(2027, 2, 1),
    )
    clock = fu.ppid_clock(row.id)
    assert clock.deadline == date(2027, 1, 18) and clock.extended_by == "a"


@pytest.mark.parametrize(
    ("event", "wording"),
    [("no_reply", "tidak perlu dibalas"), ("posted", "balasannya diunggah")],
)
def test_answered_request_is_refused(ledger, office_cfg, event, wording):
    row = ppid_item(ledger, office_cfg, 10, wib(2026, 12, 21, 10, 0))
    fu = FollowUps(ledger)
    fu.add(row.id, "perpustakaan", event, actor="bidang_perpustakaan", text="Terlampir")
    with pytest.raises(FollowUpError, match=wording) as exc:
        fu.extend_ppid(row.id, reason="r", actor="a", cfg=office_cfg, now=wib(2027, 1, 4, 9, 0))
    assert "perpanjangan tidak diperlukan" in str(exc.value)
    assert fu.ppid_clock(row.id).deadline == date(2027, 1, 7)


def test_a_reply_not_yet_delivered_does_not_block_the_extension(ledger, office_cfg):
    # Written but waiting for the official's approval (or for its upload): the requester has nothing yet,
    # and the reminders still count it as unanswered — the two must agree.
    row = ppid_item(ledger, office_cfg, 12, wib(2026, 12, 21, 10, 0))
    fu = FollowUps(ledger)
    fu.add(row.id, "perpustakaan", "reply", actor="bidang_perpustakaan", text="Terlampir")
    assert fu.ppid_clock(row.id).answered_at is None
    clock = fu.extend_ppid(
        row.id, reason="data masih dihimpun", actor="a", cfg=office_cfg, now=wib(2027, 1, 4, 9, 0)
    )
    assert clock.extended and clock.deadline > date(2027, 1, 7)


def test_a_reroute_is_not_an_answer_and_the_new_bidang_owns_the_clock(ledger, office_cfg):
    row = ppid_item(ledger, office_cfg, 11, wib(2026, 12, 21, 10, 0))
    fu = FollowUps(ledger)
    _reroute_to_kearsipan(ledger, fu, row)
    clock = fu.extend_ppid(row.id, reason="r", actor="a", cfg=office_cfg, now=wib(2027, 1, 4, 9, 0))
    assert clock.bidang == "kearsipan" and clock.deadline == date(2027, 1, 18)


def test_reason_and_actor_are_required(ledger, office_cfg):
    row = ppid_item(ledger, office_cfg, 12, wib(2026, 12, 21, 10, 0))
    fu = FollowUps(ledger)
    with pytest.raises(FollowUpError, match="Alasan perpanjangan wajib"):
        fu.extend_ppid(row.id, reason="  ", actor="a", cfg=office_cfg, now=wib(2027, 1, 4, 9, 0))
    with pytest.raises(FollowUpError, match="--oleh"):
        fu.extend_ppid(row.id, reason="r", actor="", cfg=office_cfg, now=wib(2027, 1, 4, 9, 0))
    assert fu.ppid_clock(row.id).extended is False


# ---- summaries ----------------------------------------------------------------------------------
def test_one_deadline_per_request_even_when_step_8_marks_it_twice(ledger, office_cfg):
    row = ppid_item(ledger, office_cfg, 13, wib(2026, 12, 21, 10, 0))
    fu = FollowUps(ledger)  # prepare marked it; the bidang then ticks ppid on its decision too
    decide(fu, row.id, "Terlampir", actor="b", ppid=True, deadline=date(2027, 1, 7))
    assert fu.ppid_deadlines() == [(row.id, "perpustakaan", date(2027, 1, 7))]


def test_summaries_show_status_times_and_the_extended_deadline(ledger, office_cfg):
    fu = FollowUps(ledger)
    waiting = ppid_item(ledger, office_cfg, 14, wib(2026, 12, 21, 10, 0))
    fu.extend_ppid(
        waiting.id,
        reason="Dokumen di gudang",
        actor="pengelola_ti",
        cfg=office_cfg,
        now=wib(2027, 1, 5, 9, 0),
    )
    answered = record_item(ledger, 15, "jam buka?", wib(2026, 12, 21, 11, 0))
    decide(fu, answered.id, "Buka jam 8")
    fu.add_reply_result(answered.id, "website", mode="live", status="intent", idempotency_key="k")
    published(fu, answered.id, "77")
    declined = record_item(ledger, 16, "promo", wib(2026, 12, 21, 12, 0))
    decide(fu, declined.id, "bukan pertanyaan", decision="no_reply")

    rows = {r["item_id"]: r for r in fu.summaries(office_cfg, now=wib(2027, 1, 12, 9, 0))}
    w = rows[waiting.id]
    assert w["status"] == "menunggu tindak lanjut" and w["status_label"] == "menunggu tindak lanjut"
    assert w["ppid"] and w["ppid_deadline"] == "2027-01-18" and w["ppid_original_deadline"] == "2027-01-07"
    assert w["ppid_extended"]["reason"] == "Dokumen di gudang" and w["ppid_extended"]["by"] == "pengelola_ti"
    assert not w["ppid_lapsed"]  # 7 Jan has passed, but the extended deadline has not
    assert w["ppid_working_days_left"] == 4  # 13, 14, 15, 18 Jan
    a = rows[answered.id]
    assert a["status"] == "reply" and a["status_label"] == "dibalas"
    assert a["answered_by"] == "bidang_perpustakaan" and a["answered_at"].endswith("+07:00")
    assert a["posted"] == {"mode": "live", "post_id": "77", "url": "https://s/?p=1#comment-77"}
    assert a["reply_text"] == "Buka jam 8" and not a["ppid"] and a["ppid_deadline"] is None
    assert a["standard_post_seconds"] == 300 and a["over_standard_post"] is False
    assert a["seconds_answered_to_posted"] is not None and a["seconds_answered_to_posted"] < 300
    d = rows[declined.id]
    assert (
        d["status_label"] == "tidak perlu dibalas" and d["reason"] == "bukan pertanyaan" and not d["posted"]
    )

    late = fu.summaries(office_cfg, now=wib(2027, 1, 19, 8, 0))
    assert next(r for r in late if r["item_id"] == waiting.id)["ppid_lapsed"] is True


def test_lapsed_unextended_request_and_reroute_rows(ledger, office_cfg):
    fu = FollowUps(ledger)
    row = ppid_item(ledger, office_cfg, 17, wib(2026, 12, 21, 10, 0))
    _reroute_to_kearsipan(ledger, fu, row)
    rows = fu.summaries(office_cfg, now=wib(2027, 1, 8, 9, 0))
    first, second = [r for r in rows if r["item_id"] == row.id]
    assert first["bidang"] == "perpustakaan" and first["status_label"] == "diteruskan ke kearsipan"
    assert second["bidang"] == "kearsipan" and second["rerouted_from"] == "perpustakaan"
    assert second["standard_forward_seconds"] is None  # a reroute is step 8, not step 7's 5 minutes
    assert first["standard_forward_seconds"] == 300
    assert first["ppid_lapsed"] and second["ppid_lapsed"] and second["ppid_working_days_left"] is None


def test_answered_after_the_deadline_stays_marked_lapsed(ledger, office_cfg):
    fu = FollowUps(ledger)
    row = ppid_item(ledger, office_cfg, 18, datetime.now(WIB) - timedelta(days=60))
    decide(fu, row.id, "dijawab dengan surat", decision="no_reply", actor="b", ppid=True)
    r = next(r for r in fu.summaries(office_cfg) if r["item_id"] == row.id)
    assert r["ppid_answered_at"] is not None and r["ppid_lapsed"] is True


def test_fmt_date_is_indonesian():
    assert fmt_date(date(2027, 1, 18)) == "Senin, 18-01-2027"
    assert fmt_date(date(2027, 1, 15)) == "Jumat, 15-01-2027"


# ---- a reply the official returned (follow_up.replies_need_approval) ---------------------------
def test_a_returned_reply_no_longer_stands_and_the_revised_answer_counts(ledger):
    row = record_item(ledger, 20, "jam buka?", wib(2026, 12, 21, 10, 0))
    fu = FollowUps(ledger)
    decide(fu, row.id, "Jawaban pertama", "run-a")
    with pytest.raises(FollowUpError, match="jawaban kedua tidak dicatat"):  # while it stands
        decide(fu, row.id, "lagi", "run-a")
    assert fu.awaiting_revision(row.id, "perpustakaan") is None
    fu.add(row.id, "perpustakaan", EVENT_RETURNED, actor="kasubag", text="Kurang lengkap", run_id="run-a")
    assert fu.decided(row.id, "perpustakaan") is None
    back = fu.awaiting_revision(row.id, "perpustakaan")
    assert (
        back is not None and back.reply.text == "Jawaban pertama" and back.returned.text == "Kurang lengkap"
    )
    assert [i.id for i, *_ in fu.open_items()] == [row.id]  # the bidang owes an answer again
    decide(fu, row.id, "Jawaban kedua", "run-b")
    assert fu.decided(row.id, "perpustakaan").text == "Jawaban kedua"
    assert fu.awaiting_revision(row.id, "perpustakaan") is None and fu.open_items() == []
    assert [r.reply.text for r in fu.returned(row.id, "perpustakaan")] == ["Jawaban pertama"]
    # a racing second answer is still refused: the first one after the return counts
    with pytest.raises(FollowUpError):
        decide(fu, row.id, "Jawaban ketiga", "run-c")
    fu.add(row.id, "perpustakaan", "reply", actor="x", text="Jawaban ketiga", run_id="run-c")  # a race
    assert fu.decided(row.id, "perpustakaan").text == "Jawaban kedua"


def test_summaries_show_a_returned_reply_as_returned_not_as_waiting_to_be_posted(ledger, office_cfg):
    row = record_item(ledger, 21, "lowongan magang?", wib(2026, 12, 21, 10, 0))
    fu = FollowUps(ledger)
    decide(fu, row.id, "Kirim ke email pribadi saya", "run-a")
    fu.add(row.id, "perpustakaan", EVENT_APPROVAL_REQUESTED, run_id="run-a")
    r = next(r for r in fu.summaries(office_cfg) if r["item_id"] == row.id)
    assert r["status_label"] == "dijawab, menunggu persetujuan balasan"
    fu.add(
        row.id,
        "perpustakaan",
        EVENT_RETURNED,
        actor="kasubag",
        text="Jangan email pribadi;\nsebut pengumuman resmi",
        run_id="run-a",
    )
    r = next(r for r in fu.summaries(office_cfg) if r["item_id"] == row.id)
    assert r["status"] == "reply_returned" and r["answered_by"] is None and r["posted"] is None
    label = r["status_label"]
    assert label.startswith("balasan dikembalikan oleh kasubag (") and "\n" not in label
    assert (
        "alasan: Jangan email pribadi; sebut pengumuman resmi" in label and "menunggu jawaban baru" in label
    )
    assert "menunggu diunggah" not in label
    assert r["reply_text"] == "Kirim ke email pribadi saya"  # the returned reply, shown as such
    assert r["returned"] == [
        {
            "reply_text": "Kirim ke email pribadi saya",
            "replied_by": "bidang_perpustakaan",
            "replied_at": r["returned"][0]["replied_at"],
            "by": "kasubag",
            "at": r["returned"][0]["at"],
            "reason": "Jangan email pribadi;\nsebut pengumuman resmi",
        }
    ]
    assert r["returned"][0]["at"].endswith("+07:00")
    # the revised reply, approved: the return stays in the record
    decide(fu, row.id, "Lihat pengumuman resmi di situs dinas", "run-b")
    fu.add(row.id, "perpustakaan", EVENT_APPROVED, actor="kasubag", run_id="run-b")
    r = next(r for r in fu.summaries(office_cfg) if r["item_id"] == row.id)
    assert r["status"] == "reply" and r["answered_by"] == "bidang_perpustakaan"
    assert r["status_label"] == "dijawab, disetujui kasubag, menunggu diunggah (revisi ke-1)"
    assert r["reply_text"] == "Lihat pengumuman resmi di situs dinas" and len(r["returned"]) == 1
    assert r["approved"]["by"] == "kasubag"


def test_sop_records_tindak_lanjut_prints_who_returned_the_reply_and_why(ledger, office_cfg):
    from argparse import Namespace
    from io import StringIO

    from sop_tasks.cli import cmd_records_follow_ups

    row = record_item(ledger, 22, "lowongan magang?", wib(2026, 12, 21, 10, 0))
    fu = FollowUps(ledger)
    decide(fu, row.id, "Kirim ke email pribadi saya", "run-a")
    fu.add(row.id, "perpustakaan", EVENT_RETURNED, actor="kasubag", text="Sebut pengumuman resmi")
    out = StringIO()
    assert cmd_records_follow_ups(Namespace(db=str(ledger.engine.url), json=False), out) == 0
    text = out.getvalue()
    assert "balasan dikembalikan oleh kasubag" in text and "alasan: Sebut pengumuman resmi" in text
    assert "jawaban: Kirim ke email pribadi saya" in text and "menunggu diunggah" not in text


def test_a_returned_reply_is_not_an_answer_to_a_ppid_request(ledger, office_cfg):
    row = ppid_item(ledger, office_cfg, 23, wib(2026, 12, 21, 10, 0))
    fu = FollowUps(ledger)
    decide(fu, row.id, "Terlampir", "run-a")
    fu.add(row.id, "perpustakaan", EVENT_RETURNED, actor="kasubag", text="Lampiran salah")
    clock = fu.extend_ppid(
        row.id, reason="Dokumen dicari ulang", actor="a", cfg=office_cfg, now=wib(2027, 1, 4, 9, 0)
    )
    assert clock.extended and clock.answered_at is None
