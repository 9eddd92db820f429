"""The monthly report end to end: which month, its figures, the PDF and the XLSX, and the e-mail.

Used by ``sop laporan`` and by the ``sop_laporan_bulanan`` DAG (first working day of the month).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sop_tasks.config import OfficeConfig
from sop_tasks.records import chain
from sop_tasks.records.ledger import Ledger
from sop_tasks.reports.summary import MonthSummary, month_summary, record_rows
from sop_tasks.workdays import WorkCalendar

FORMATS = ("pdf", "xlsx")
LEDGER_URL_ENV = "SOP_REPORT_LEDGER_URL"  # the child process of a download reads its ledger here
MIME = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def previous_month(today: date) -> tuple[int, int]:
    first = today.replace(day=1) - timedelta(days=1)
    return first.year, first.month


def first_working_day(year: int, month: int, calendar: WorkCalendar) -> date:
    d = date(year, month, 1)
    while not calendar.is_working_day(d):
        d += timedelta(days=1)
    return d


def file_name(year: int, month: int, fmt: str, bidang: str | None = None) -> str:
    return f"laporan-sop-{year}-{month:02d}{'-' + bidang if bidang else ''}.{fmt}"


def record_sheets(
    ledger: Ledger, year: int, month: int, cfg: OfficeConfig, *, bidang: str | None, now: datetime | None
) -> dict[int, list[dict[str, Any]]]:
    """Records 1–3 of the month as flat rows, in the columns ``sop records export`` writes."""
    from sop_tasks.cli import follow_up_csv_rows, submission_csv_rows

    r1 = record_rows(ledger, 1, year=year, month=month, cfg=cfg, now=now)
    flat1 = submission_csv_rows(r1)
    for flat, r in zip(flat1, r1, strict=True):
        flat["run"] = r["run_id"]
        flat["tautan tayang"] = " ".join(r["live_urls"].values())
    r2 = record_rows(ledger, 2, year=year, month=month, cfg=cfg, bidang=bidang, now=now)
    r3 = record_rows(ledger, 3, year=year, month=month, cfg=cfg, bidang=bidang, now=now)
    flat3 = follow_up_csv_rows(r3)
    for flat, r in zip(flat3, r3, strict=True):
        flat["run"] = r["run_id"]
    return {1: flat1, 2: r2, 3: flat3}


@dataclass(frozen=True)
class Report:
    summary: MonthSummary
    head: chain.ChainHead
    fmt: str
    content: bytes
    name: str


def build(
    ledger: Ledger,
    year: int,
    month: int,
    cfg: OfficeConfig,
    fmt: str,
    *,
    bidang: str | None = None,
    now: datetime | None = None,
) -> Report:
    """The month's report as PDF or XLSX bytes, with the figures and chain head it printed."""
    if fmt not in FORMATS:
        raise ValueError(f"format '{fmt}' tidak dikenal; pilih {' atau '.join(FORMATS)}")
    head = chain.head(ledger.engine)  # first: the report covers at least what the head seals
    ms = month_summary(ledger, year, month, cfg, bidang=bidang, now=now)
    if fmt == "pdf":
        from sop_tasks.reports.document import render_pdf

        content = render_pdf(ms, cfg, head)
    else:
        from sop_tasks.reports.workbook import workbook_bytes

        content = workbook_bytes(ms, record_sheets(ledger, year, month, cfg, bidang=bidang, now=now), head)
    return Report(ms, head, fmt, content, file_name(year, month, fmt, bidang))


Sender = Callable[[Sequence[str], str, str, Sequence[Path]], bool]


def recipients(cfg: OfficeConfig) -> list[str]:
    """The Kepala Dinas and the officers (Pengelola TI), each address once."""
    out: list[str] = []
    for e in [*cfg.verifier("kadis").emails, *cfg.officers.emails]:
        if e not in out:
            out.append(e)
    return out


def send_monthly(
    ledger: Ledger, cfg: OfficeConfig, today: date, folder: Path, send: Sender, *, now: datetime | None = None
) -> dict[str, Any]:
    """On the first working day of a month: write last month's PDF and XLSX under ``folder`` and mail
    them to the Kadis and the officers. Other days do nothing (returns ``{"sent": False, ...}``)."""
    first = first_working_day(today.year, today.month, cfg.calendar())
    if today != first:
        return {"sent": False, "reason": f"bukan hari kerja pertama bulan ini ({first.isoformat()})"}
    year, month = previous_month(today)
    folder.mkdir(parents=True, exist_ok=True)
    files, figures = [], None
    for fmt in FORMATS:
        report = build(ledger, year, month, cfg, fmt, now=now)
        path = folder / report.name
        path.write_bytes(report.content)
        files.append(path)
        figures = report.summary.figures()
        head = report.head
    assert figures is not None
    lines = [
        f"Laporan bulanan SOP Pengelolaan Media Sosial {report.summary.label} terlampir (PDF dan XLSX).",
        "",
    ]
    lines += [f"- {label}: {value}" for label, value in figures]
    lines += [
        "",
        f"Kepala rantai catatan saat laporan dibuat: {head.label()}. Keutuhan catatan dapat diperiksa "
        f"kapan saja dengan: sop records verify --kepala '{head.label()}'",
    ]
    emailed = send(recipients(cfg), f"[SOP] Laporan bulanan {report.summary.label}", "\n".join(lines), files)
    return {
        "sent": True,
        "emailed": emailed,
        "month": f"{year}-{month:02d}",
        "files": [str(p) for p in files],
        "chain_head": head.label(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sop_tasks.reports.monthly YYYY-MM pdf|xlsx [bidang]``: the report's bytes on stdout.

    The Catatan SOP download runs this as a child process, so the minutes WeasyPrint may take on a
    busy machine are spent outside the api-server (which also answers the tasks' execution API).
    The ledger URL comes in the environment (:data:`LEDGER_URL_ENV`), never on the command line.
    """
    import os
    import sys

    from sop_tasks.config import load_config
    from sop_tasks.reports.summary import parse_month

    bulan, fmt, *rest = list(argv if argv is not None else sys.argv[1:])
    year, month = parse_month(bulan)
    report = build(
        Ledger(os.environ[LEDGER_URL_ENV]), year, month, load_config(), fmt, bidang=rest[0] if rest else None
    )
    sys.stdout.buffer.write(report.content)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
