import csv
import io
import json
from argparse import Namespace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from sop_tasks.channels import OutboxPublisher
from sop_tasks.cli import build_parser, cmd_records_export, cmd_records_follow_ups, cmd_records_list, main
from sop_tasks.content import PreparedContent
from sop_tasks.followup import FollowUps, fmt_date, ppid_deadline
from sop_tasks.records.ledger import Ledger
from sop_tasks.records.models import FollowUpEvent
from tests.support.follow_up import WIB, decide, mark_ppid, published, record_item


@pytest.fixture
def ledger(records_url):
    """The same tests on SQLite (embedded default) and PostgreSQL (the production stack)."""
    return Ledger(records_url)


def _url(ledger: Ledger) -> str:
    return ledger.engine.url.render_as_string(hide_password=False)


def _content(**over) -> dict:
    c = PreparedContent(
        title="Judul", body="Isi", channels=("website", "twitter"), caption_instagram="", text_twitter="t"
    )
    d = c.to_json()
    d.update(over)
    return d


def _publish_all(ledger, sid, t0):
    for no, who in ((2, "kasubag"), (3, "kabid"), (4, "kadis")):
        start = t0 + timedelta(minutes=10 * no)
        ledger.add_event(sid, no, "requested", started_at=start)
        ledger.add_event(
            sid, no, "approved", actor=who, started_at=start, ended_at=start + timedelta(minutes=no * 3)
        )
    for ch in ("website", "twitter"):
        ledger.add_channel_result(sid, ch, mode="outbox", status="intent", idempotency_key=f"k-{ch}")
        ledger.add_channel_result(
            sid, ch, mode="outbox", status="outbox", idempotency_key=f"k-{ch}", url=f"file:///o/{ch}"
        )


def test_submission_is_opened_once_per_run(ledger):
    a = ledger.open_submission(dag_id="d", run_id="r", kind="publish", title="t", content=_content())
    b = ledger.open_submission(dag_id="d", run_id="r", kind="publish", title="t", content=_content())
    assert a == b


def test_published_needs_id_and_url(ledger):
    sid = ledger.open_submission(dag_id="d", run_id="r", kind="publish", title="t", content=_content())
    with pytest.raises(ValueError):
        ledger.add_channel_result(sid, "website", mode="live", status="published", idempotency_key="k")


def test_status_durations_and_over_standard(ledger):
    t0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    sid = ledger.open_submission(dag_id="d", run_id="r1", kind="publish", title="Pameran", content=_content())
    ledger.add_event(sid, 1, "valid", actor="pengelola_ti", started_at=t0, ended_at=t0 + timedelta(seconds=5))
    _publish_all(ledger, sid, t0)
    s = ledger.summary_for_run("d", "r1")
    assert s["status"] == "outbox"
    assert s["steps"]["2"]["seconds"] == 360 and not s["steps"]["2"]["over_standard"]
    assert s["steps"]["4"]["seconds"] == 720 and s["steps"]["4"]["standard_seconds"] == 900
    assert s["channels"]["website"] == {
        "status": "outbox",
        "mode": "outbox",
        "post_id": None,
        "url": "file:///o/website",
        "payload_hash": None,
    }
    rid = ledger.open_submission(dag_id="d", run_id="r2", kind="publish", title="Ditolak", content=_content())
    ledger.add_event(rid, 2, "requested", started_at=t0)
    ledger.add_event(
        rid,
        2,
        "returned",
        actor="kasubag",
        reason="salah",
        started_at=t0,
        ended_at=t0 + timedelta(minutes=20),
    )
    r = ledger.summary_for_run("d", "r2")
    assert (
        r["status"] == "dikembalikan"
        and r["steps"]["2"]["over_standard"]
        and r["steps"]["2"]["reason"] == "salah"
    )


def test_pending_verifications(ledger):
    t0 = datetime.now(UTC) - timedelta(minutes=30)
    sid = ledger.open_submission(dag_id="d", run_id="p", kind="publish", title="t", content=_content())
    ledger.add_event(sid, 2, "requested", started_at=t0)
    assert [e.step for _, e in ledger.pending_verifications(datetime.now(UTC) - timedelta(minutes=15))] == [2]
    assert ledger.pending_verifications(t0 - timedelta(minutes=1)) == []
    ledger.add_event(sid, 2, "approved", actor="kasubag", ended_at=datetime.now(UTC))
    assert ledger.pending_verifications(datetime.now(UTC)) == []


def test_records_list_json_and_csv(ledger, tmp_path):
    t0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    sid = ledger.open_submission(
        dag_id="d", run_id="r1", kind="publish", title='Pameran, "arsip"', content=_content()
    )
    _publish_all(ledger, sid, t0)
    url = _url(ledger)
    out = io.StringIO()
    cmd_records_list(Namespace(db=url, json=True), out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert rows[0]["id"] == sid and rows[0]["title"] == 'Pameran, "arsip"' and rows[0]["status"] == "outbox"
    assert rows[0]["steps"]["3"]["seconds"] == 540 and set(rows[0]["channels"]) == {"website", "twitter"}
    out = io.StringIO()
    cmd_records_list(Namespace(db=url, json=False), out)
    assert '#1 [outbox] Pameran, "arsip"' in out.getvalue()
    assert "9m00d / 15m00d" in out.getvalue()
    out = io.StringIO()
    cmd_records_export(Namespace(db=url, format="csv"), out)
    table = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert table[0]["judul"] == 'Pameran, "arsip"'
    assert table[0]["langkah 3 (detik)"] == "540.0" and table[0]["langkah 3 baku (detik)"] == "900"


def test_outbox_is_idempotent(tmp_path):
    c = PreparedContent(
        title="J", body="a\n\nb <i>", channels=("website",), caption_instagram="", text_twitter=""
    )
    pub = OutboxPublisher("website", tmp_path / "out")
    r1 = pub.publish(c, "key1")
    r2 = pub.publish(c, "key1")
    assert r1 == r2 and r1.status == "outbox" and r1.post_id is None
    doc = json.loads((tmp_path / "out" / "key1" / "payload.json").read_text())
    assert doc["payload"]["content"] == "<p>a</p>\n<p>b &lt;i&gt;</p>"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["key1"]


# ---- record 3 and the PPID extension on the command line --------------------------------------
HOSTILE = "Halo\x1b[31mMERAH\x1b[0m\x1b]0;judul\x07\x9b2J\u202etks\u2028baris\x07 min"


def _incoming(ledger, n, text, received=None):
    """An incoming item whose sender's name carries an escape sequence."""
    return record_item(ledger, n, text, received, author="Warga\x1b[2J")


def _backdate(ledger, item_id, event, minutes):
    with ledger.session() as s:
        for e in s.scalars(select(FollowUpEvent).where(FollowUpEvent.item_id == item_id)):
            if e.event == event:
                e.at = e.at - timedelta(minutes=minutes)
        s.commit()


@pytest.fixture
def record3(ledger, office_cfg):
    """An answered item (reply posted 10 minutes after the answer: over step 9's 5) and an open,
    extended PPID request — both with hostile text."""
    fu = FollowUps(ledger)
    answered = _incoming(ledger, 1, HOSTILE)
    decide(fu, answered.id, '=HYPERLINK("http://jahat")\x1b[5m')
    _backdate(ledger, answered.id, "reply", 10)
    published(fu, answered.id, "9")
    now = datetime.now(WIB)
    request = _incoming(ledger, 2, "Permohonan informasi publik: SK 2020")
    mark_ppid(ledger, office_cfg, request, now)
    fu.extend_ppid(request.id, reason="Arsip\x1b[8m di gudang", actor="pengelola_ti", cfg=office_cfg)
    original = ppid_deadline(office_cfg, now)
    extended = office_cfg.calendar().add_working_days(original, 7)
    return answered, request, original, extended


def test_records_tindak_lanjut_table_is_indonesian_and_terminal_safe(ledger, record3):
    answered, request, original, extended = record3
    out = io.StringIO()
    assert cmd_records_follow_ups(Namespace(db=_url(ledger), json=False), out) == 0
    text = out.getvalue()
    assert text.startswith("Catatan 3 — data/informasi tindak lanjut")
    lines = text.splitlines()
    head = next(line for line in lines if line.startswith(f"#{answered.id} "))
    assert "Website · Bidang Perpustakaan · dibalas — oleh bidang_perpustakaan" in head
    assert "balasan diunggah: https://s/?p=1#comment-9" in text
    timing = next(line for line in lines if "dijawab→diunggah" in line and "⚠" in line)
    assert "/ 5m00d ⚠ melebihi waktu baku" in timing and "masuk→diteruskan" in timing
    assert "HaloMERAH" in text and "baris" in text  # the words stay, the escapes go
    for bad in ("\x1b", "\x9b", "\x07", "\u202e", "\u2028", "[31m", "[2J"):
        assert bad not in text
    head = next(line for line in lines if line.startswith(f"#{request.id} "))
    assert "menunggu tindak lanjut" in head
    ppid = next(line for line in lines if line.strip().startswith("PPID:"))
    assert f"batas {fmt_date(extended)}" in ppid and f"diperpanjang dari {fmt_date(original)}" in ppid
    assert "oleh pengelola_ti" in ppid and "Arsip di gudang" in ppid and "hari kerja" in ppid
    assert "LEWAT BATAS" not in ppid


def test_records_tindak_lanjut_json_and_alias(ledger, record3, capsys):
    answered, request, _, extended = record3
    assert main(["records", "follow-ups", "--json", "--db", _url(ledger)]) == 0
    raw = capsys.readouterr().out
    assert "\x1b" not in raw and "\x9b" not in raw and "\u202e" not in raw and "\\u009b" in raw
    rows = {r["item_id"]: r for r in map(json.loads, raw.splitlines())}
    assert rows[answered.id]["text"] == HOSTILE  # machines get the exact text back
    assert rows[answered.id]["status_label"] == "dibalas" and rows[answered.id]["over_standard_post"] is True
    assert rows[answered.id]["seconds_answered_to_posted"] >= 600
    assert rows[request.id]["ppid_deadline"] == extended.isoformat()
    assert main(["records", "tindak-lanjut", "--db", _url(ledger)]) == 0
    assert "Catatan 3" in capsys.readouterr().out


def test_records_tindak_lanjut_lapsed_request(ledger, office_cfg, tmp_path):
    long_ago = datetime.now(WIB) - timedelta(days=40)
    row = _incoming(ledger, 3, "permohonan informasi publik", received=long_ago)
    mark_ppid(ledger, office_cfg, row, long_ago)
    out = io.StringIO()
    cmd_records_follow_ups(Namespace(db=_url(ledger), json=False), out)
    assert f"batas {fmt_date(ppid_deadline(office_cfg, long_ago))}  ⚠ LEWAT BATAS" in out.getvalue()
    out = io.StringIO()
    cmd_records_follow_ups(Namespace(db=f"sqlite:///{tmp_path / 'kosong.db'}", json=False), out)
    assert out.getvalue() == "Belum ada catatan tindak lanjut.\n"


def test_export_record_3_and_2_as_csv_and_record_1_stays_default(ledger, record3):
    answered, request, original, extended = record3
    url = _url(ledger)
    out = io.StringIO()
    args = build_parser().parse_args(["records", "export", "--record", "3", "--db", url])
    assert args.func(args, out) == 0
    table = {int(r["nomor"]): r for r in csv.DictReader(io.StringIO(out.getvalue()))}
    a, p = table[answered.id], table[request.id]
    assert a["status"] == "dibalas" and a["dijawab oleh"] == "bidang_perpustakaan"
    assert a["tautan balasan"] == "https://s/?p=1#comment-9" and a["melebihi waktu baku"] == "ya"
    assert a["jawaban"] == '\'=HYPERLINK("http://jahat")'  # never a formula, no escape sequence
    assert a["pesan"].startswith("HaloMERAH") and "\x1b" not in out.getvalue()
    assert float(a["durasi dijawab-diunggah (detik)"]) >= 600 and a["baku langkah 9 (detik)"] == "300"
    assert p["PPID"] == "ya" and p["batas PPID"] == extended.isoformat()
    assert p["batas PPID semula"] == original.isoformat() and p["alasan perpanjangan"] == "Arsip di gudang"
    assert (
        p["diperpanjang oleh"] == "pengelola_ti"
        and p["lewat batas"] == ""
        and p["status"] == "menunggu tindak lanjut"
    )
    out = io.StringIO()
    args = build_parser().parse_args(["records", "export", "--record", "2", "--db", url])
    args.func(args, out)
    incoming = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [int(r["id"]) for r in incoming] == [answered.id, request.id] and incoming[0]["reasons"] == "uji"
    sid = ledger.open_submission(dag_id="d", run_id="x", kind="publish", title="-diskon", content=_content())
    args = build_parser().parse_args(["records", "export", "--db", url])
    assert args.record == "1"
    out = io.StringIO()
    args.func(args, out)
    (upload,) = csv.DictReader(io.StringIO(out.getvalue()))
    assert (
        int(upload["id"]) == sid
        and upload["judul"] == "'-diskon"
        and upload["status"] == "menunggu verifikasi"
    )


def test_ppid_extend_command(ledger, office_cfg, capsys):
    now = datetime.now(WIB)
    row = _incoming(ledger, 4, "Permohonan informasi publik: daftar arsip")
    mark_ppid(ledger, office_cfg, row, now)
    url = _url(ledger)
    original = ppid_deadline(office_cfg, now)
    extended = office_cfg.calendar().add_working_days(original, 7)
    code = main(
        [
            "ppid",
            "extend",
            str(row.id),
            "--alasan",
            "Dokumen perlu dipindai",
            "--oleh",
            "pengelola_ti",
            "--db",
            url,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert f"Permohonan informasi publik #{row.id} diperpanjang satu kali" in out
    assert f"batas semula : {fmt_date(original)}" in out
    assert f"batas baru   : {fmt_date(extended)} (7 hari kerja berikutnya)" in out
    assert "dicatat oleh : pengelola_ti" in out and "pemberitahuan tertulis" in out
    assert FollowUps(ledger).ppid_clock(row.id).deadline == extended

    # refused a second time: exit 1, the reason on stderr, nothing recorded
    code = main(["ppid", "extend", str(row.id), "--alasan", "lagi", "--db", url])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("Ditolak: ") and "satu kali" in err
    assert len([e for e in FollowUps(ledger).events(row.id) if e.event == "ppid_extended"]) == 1


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unknown", "tidak ada di catatan"),
        ("not_ppid", "bukan permohonan informasi publik"),
        ("answered", "sudah dijawab (balasannya diunggah)"),
        ("lapsed", "sudah lewat"),
    ],
)
def test_ppid_extend_refusals_exit_non_zero(ledger, office_cfg, capsys, case, expected):
    long_ago = datetime.now(WIB) - timedelta(days=40)
    row = _incoming(ledger, 5, "Permohonan informasi publik", received=long_ago if case == "lapsed" else None)
    if case != "not_ppid":
        mark_ppid(ledger, office_cfg, row, long_ago if case == "lapsed" else datetime.now(WIB))
    if case == "answered":
        decide(FollowUps(ledger), row.id, "ok", actor="b", ppid=True)
        FollowUps(ledger).add(row.id, "perpustakaan", "posted", detail={"url": "https://s/?c=9"})
    item_id = 999 if case == "unknown" else row.id
    code = main(["ppid", "extend", str(item_id), "--alasan", "x", "--oleh", "a", "--db", _url(ledger)])
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert captured.err.startswith("Ditolak: ") and expected in captured.err


def test_ppid_extend_needs_a_reason(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["ppid", "extend", "1"])
    assert exc.value.code == 2 and "--alasan" in capsys.readouterr().err
