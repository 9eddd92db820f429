"""The monthly report's PDF, XLSX and CLI print the same figures month_summary gives, on the paper
and letterhead from config, with the chain head in the footer; public text stays inert in the XLSX."""

from __future__ import annotations

import io
import json
import re
import subprocess
from argparse import Namespace
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from sop_tasks.cli import cmd_laporan
from sop_tasks.config import ReportSettings
from sop_tasks.incoming import IncomingItem
from sop_tasks.records import chain
from sop_tasks.records.inbox import Inbox
from sop_tasks.reports.monthly import (
    build,
    first_working_day,
    previous_month,
    recipients,
    send_monthly,
)
from sop_tasks.reports.summary import month_summary, record_rows
from sop_tasks.reports.workbook import MONITORING_SHEET, RECORD_SHEETS, SUMMARY_SHEET
from tests.support.follow_up import WIB, Routed
from tests.support.month import MONTH, NOW, YEAR, clock, seed_month, wib
from tests.support.records import new_ledger

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "report"
MM = 72 / 25.4
FORMULA = '=HYPERLINK("http://evil.test","klik")'


@pytest.fixture
def seeded(tmp_path, office_cfg, monkeypatch):
    ledger = new_ledger(tmp_path)
    ids = seed_month(ledger, office_cfg, monkeypatch)
    with clock(monkeypatch) as c:  # a citizen's comment that tries to be a spreadsheet formula
        c.set(wib(12, 9))
        inbox = Inbox(ledger)
        sweep = inbox.start_sweep(run_id="r", slot=None, sop_sweep=False, channels=["website"])
        item = IncomingItem(
            "website", "evil", "comment", "=cmd|' /C calc'!A0", FORMULA, wib(12, 9).replace(tzinfo=WIB)
        )
        inbox.record_items([item], [Routed("sekretariat")], sweep)
    return ledger, ids


def _cfg(office_cfg, **report):
    return office_cfg.model_copy(update={"report": ReportSettings(**report)})


def _pdf_text(content: bytes) -> tuple[str, PdfReader]:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(p.extract_text() for p in reader.pages), reader


def test_pdf_holds_the_months_figures_letterhead_signature_and_chain_head(seeded, office_cfg):
    ledger, _ = seeded
    cfg = _cfg(
        office_cfg,
        letterhead=["PEMERINTAH KABUPATEN KENDAL", "DINAS KEARSIPAN DAN PERPUSTAKAAN", "Jl. Uji No. 1"],
        kadis_name="Drs. Contoh Kepala, M.Si.",
        kadis_nip="19700101 199503 1 001",
    )
    report = build(ledger, YEAR, MONTH, cfg, "pdf", now=NOW)
    text, reader = _pdf_text(report.content)
    ms = month_summary(ledger, YEAR, MONTH, cfg, now=NOW)
    assert report.summary.figures() == ms.figures()
    for label, value in ms.figures():
        assert re.search(rf"^{re.escape(label)}\s+{value}$", text, re.M), (label, value)
    for line in cfg.report.letterhead:
        assert line in text
    assert "Drs. Contoh Kepala, M.Si." in text and "NIP. 19700101 199503 1 001" in text
    assert "Kendal, 2 Desember 2026" in text
    assert f"Kepala rantai catatan: {chain.head(ledger.engine).label()}" in text
    assert "Bulan November 2026" in text
    page = reader.pages[0].mediabox
    assert (round(float(page.width) / MM), round(float(page.height) / MM)) == (215, 330)  # F4
    # page 1 as the office prints it, kept as a test artifact to look at
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = ARTIFACTS / "laporan-2026-11.pdf"
    pdf.write_bytes(report.content)
    subprocess.run(
        ["pdftoppm", "-f", "1", "-l", "1", "-r", "80", "-png", str(pdf), str(ARTIFACTS / "halaman")],
        check=True,
    )
    png = next(ARTIFACTS.glob("halaman-*1.png"))
    assert png.stat().st_size > 10_000


def test_a4_paper_and_an_office_template_from_config(seeded, office_cfg, tmp_path):
    ledger, _ = seeded
    own = tmp_path / "laporan"
    own.mkdir()
    builtin = REPO / "sop_tasks" / "reports" / "templates"
    (own / "laporan.html").write_text(
        (builtin / "laporan.html").read_text().replace("Laporan Bulanan Pelaksanaan", "Laporan Khusus Kantor")
    )
    cfg = _cfg(office_cfg, paper="A4", templates=str(own))
    text, reader = _pdf_text(build(ledger, YEAR, MONTH, cfg, "pdf", now=NOW).content)
    page = reader.pages[0].mediabox
    assert (round(float(page.width) / MM), round(float(page.height) / MM)) == (210, 297)
    assert "LAPORAN KHUSUS KANTOR" in text  # the office's template, with the built-in stylesheet


def test_xlsx_has_the_figures_a_native_chart_and_every_record_row(seeded, office_cfg):
    ledger, _ = seeded
    report = build(ledger, YEAR, MONTH, office_cfg, "xlsx", now=NOW)
    wb = load_workbook(io.BytesIO(report.content))
    assert wb.sheetnames == [SUMMARY_SHEET, *RECORD_SHEETS.values(), MONITORING_SHEET]
    ws = wb[SUMMARY_SHEET]
    assert len(ws._charts) == 1
    ms = month_summary(ledger, YEAR, MONTH, office_cfg, now=NOW)
    assert f"Kepala rantai catatan: {chain.head(ledger.engine).label()}" in ws["A3"].value
    rows = list(ws.iter_rows(min_row=6, max_col=2, values_only=True))
    assert rows[: len(ms.figures())] == ms.figures()
    for no, title in RECORD_SHEETS.items():
        sheet = wb[title]
        expected = record_rows(ledger, no, year=YEAR, month=MONTH, cfg=office_cfg, now=NOW)
        assert sheet.max_row - 1 == len(expected), title
    rec2 = wb[RECORD_SHEETS[2]]
    header = [c.value for c in rec2[1]]
    evil = next(r for r in rec2.iter_rows(min_row=2) if r[header.index("platform_id")].value == "evil")
    text = evil[header.index("text")]
    assert text.value == FORMULA and text.data_type == "s"  # text, never a formula
    assert evil[header.index("author")].data_type == "s"
    assert wb[MONITORING_SHEET].max_row == 31  # a row per day of November


def test_cli_prints_the_same_figures_and_writes_pdf_and_xlsx(seeded, office_cfg, tmp_path, monkeypatch):
    ledger, _ = seeded
    url = str(ledger.engine.url)
    ms = month_summary(ledger, YEAR, MONTH, office_cfg)

    def run(*argv: str, **kw) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        args = Namespace(bulan="2026-11", format="teks", keluar=None, bidang=None, db=url)
        for k, v in kw.items():
            setattr(args, k, v)
        return cmd_laporan(args, out=out, err=err), out.getvalue(), err.getvalue()

    rc, out, _ = run()
    assert rc == 0
    assert [tuple(line.strip().rsplit(": ", 1)) for line in out.splitlines()[1 : 1 + len(ms.figures())]] == [
        (label, str(value)) for label, value in ms.figures()
    ]
    rc, out, _ = run(format="json")
    data = json.loads(out)
    assert (
        data["submissions"] == ms.to_json()["submissions"]
        and data["monitoring"] == ms.to_json()["monitoring"]
    )
    for fmt in ("pdf", "xlsx"):
        target = tmp_path / f"l.{fmt}"
        rc, out, _ = run(format=fmt, keluar=str(target))
        assert rc == 0 and str(target) in out and target.stat().st_size > 1000
    rc, _, err = run(bulan="2026-13")
    assert rc == 2 and "TTTT-BB" in err
    rc, _, err = run(bidang="gudang")
    assert rc == 2 and "perpustakaan" in err


def test_report_settings_are_validated_in_indonesian(tmp_path):
    from sop_tasks.config import load_config
    from sop_tasks.errors import ConfigError
    from tests.support.records import write_yaml

    raw = (REPO / "config" / "office.yaml").read_text()
    bad = raw.replace("paper: F4", "paper: Letter").replace('kadis_nip: ""', 'kadis_nip: "123"')
    write_yaml(tmp_path, "office.yaml", bad)
    with pytest.raises(ConfigError) as exc:
        load_config(tmp_path)
    text = str(exc.value)
    assert "report.paper" in text and "F4, A4" in text
    assert "report.kadis_nip" in text and "18 angka" in text


def test_the_report_goes_out_on_the_first_working_day_only(seeded, office_cfg, tmp_path):
    ledger, _ = seeded
    cfg = office_cfg.model_copy(update={"holidays": [*office_cfg.holidays, date(2027, 2, 1)]})
    assert first_working_day(2026, 11, cfg.calendar()) == date(2026, 11, 2)  # 1 Nov is a Sunday
    assert first_working_day(2027, 2, cfg.calendar()) == date(2027, 2, 2)  # a holiday on Monday 1 Feb
    assert previous_month(date(2027, 1, 4)) == (2026, 12)
    sent: list = []

    def send(to, subject, text, files):
        sent.append((to, subject, text, files))
        return True

    assert send_monthly(ledger, cfg, date(2026, 12, 2), tmp_path, send)["sent"] is False
    result = send_monthly(ledger, cfg, date(2026, 12, 1), tmp_path, send, now=NOW)
    assert result["sent"] and result["month"] == "2026-11"
    (to, subject, text, files) = sent[0]
    assert to == recipients(cfg)
    assert subject == "[SOP] Laporan bulanan November 2026"
    assert [f.name for f in files] == ["laporan-sop-2026-11.pdf", "laporan-sop-2026-11.xlsx"]
    assert "Pengajuan: 3" in text and result["chain_head"] in text


def test_the_pdf_fetches_nothing_outside_its_template_folders(seeded, office_cfg, tmp_path):
    """An office template (or any text that reached the HTML) naming an external URL or a file
    elsewhere on the server makes WeasyPrint fetch nothing; an image in the template folder is used."""
    import http.server
    import threading

    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"body{}")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    secret = tmp_path / "rahasia.png"
    own = tmp_path / "laporan"
    own.mkdir()
    from tests.support.media import make_jpeg

    make_jpeg(own / "logo.jpg", (40, 40), "red")
    make_jpeg(secret, (40, 40), "blue")
    builtin = REPO / "sop_tasks" / "reports" / "templates"
    extra = (
        f'<img src="{url}/img.png"><img src="file://{secret}"><img src="logo.jpg">'
        f'<link rel="stylesheet" href="{url}/gaya.css"><style>@import url("{url}/impor.css");</style>'
    )
    page = (builtin / "laporan.html").read_text()
    (own / "laporan.html").write_text(page.replace("</body>", extra + "</body>"))
    cfg = _cfg(office_cfg, templates=str(own))
    try:
        _, reader = _pdf_text(build(seeded[0], YEAR, MONTH, cfg, "pdf", now=NOW).content)
    finally:
        server.shutdown()
    assert hits == []
    images = [img for page in reader.pages for img in page.images]
    assert len({i.name for i in images}) == 1, [i.name for i in images]  # one image: the logo only
    red, green, blue = images[0].image.convert("RGB").getpixel((20, 20))
    assert red > 200 and green < 60 and blue < 60  # the red logo, not the blue file from elsewhere


def test_a_sweep_with_no_connected_channel_is_marked_not_a_failed_report(seeded, office_cfg, monkeypatch):
    """A new office sweeps before any connection exists (status "no_channels"): the month's PDF
    and the page's calendar used to fail on that status (the report answered 500)."""
    ledger, _ = seeded
    with clock(monkeypatch) as c:
        c.set(wib(4, 8))
        inbox = Inbox(ledger)
        sid = inbox.start_sweep(run_id="scheduled__tanpa_kanal", slot="pagi", sop_sweep=True, channels=[])
        inbox.finish_sweep(sid, counts={}, errors={}, status="no_channels")
    ms = month_summary(ledger, YEAR, MONTH, office_cfg, now=NOW)
    day = next(d for d in ms.monitoring.days if d.date == f"{YEAR}-{MONTH:02d}-04")
    assert day.slots[0].status == "no_channels"
    text, _ = _pdf_text(build(ledger, YEAR, MONTH, office_cfg, "pdf", now=NOW).content)
    assert "belum ada kanal yang terhubung" in text
