"""The monthly report as an XLSX workbook: a summary sheet with a native chart, one sheet per record.

Cells are values, never formulas: text from the public that starts with ``=`` stays text, and
control characters are removed (openpyxl refuses them, and a spreadsheet would act on some).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from sop_tasks.records.chain import ChainHead
from sop_tasks.render import clean_text
from sop_tasks.reports.summary import MonthSummary

SUMMARY_SHEET = "Ringkasan"
RECORD_SHEETS = {1: "Catatan 1 - diunggah", 2: "Catatan 2 - masuk", 3: "Catatan 3 - tindak lanjut"}
MONITORING_SHEET = "Pemantauan"
_HEADER = Font(bold=True)
_FILL = PatternFill("solid", fgColor="E8EDF3")


def _value(v: Any) -> Any:
    if v is None or isinstance(v, bool | int | float):
        return v
    if isinstance(v, list | tuple):
        v = "; ".join(str(x) for x in v)
    elif isinstance(v, dict):
        v = ", ".join(f"{k}: {x}" for k, x in v.items() if x not in (None, ""))
    return clean_text(str(v))


def _put(ws: Worksheet, row: int, col: int, v: Any) -> Cell:
    cell = ws.cell(row=row, column=col)
    cell.value = _value(v)
    if isinstance(cell.value, str):
        cell.data_type = "s"  # never a formula, whatever the text starts with
    return cell


def _table(ws: Worksheet, top: int, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    for c, h in enumerate(header, 1):
        cell = _put(ws, top, c, h)
        cell.font, cell.fill = _HEADER, _FILL
    for r, values in enumerate(rows, top + 1):
        for c, v in enumerate(values, 1):
            _put(ws, r, c, v)
    return top + len(rows) + 1


def _dict_sheet(ws: Worksheet, rows: list[dict[str, Any]]) -> None:
    fields: list[str] = []
    for r in rows:
        fields += [k for k in r if k not in fields]
    _table(ws, 1, fields or ["(kosong)"], [[r.get(f) for f in fields] for r in rows])
    ws.freeze_panes = "A2"
    for i, f in enumerate(fields, 1):
        ws.column_dimensions[get_column_letter(i)].width = min(max(len(f) + 2, 10), 40)


def _minutes(s: float | None) -> float | None:
    return None if s is None else round(s / 60, 1)


def build_workbook(ms: MonthSummary, records: dict[int, list[dict[str, Any]]], head: ChainHead) -> Workbook:
    """``records``: the flat rows of records 1–3 (as ``sop records export`` writes them)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SUMMARY_SHEET
    _put(ws, 1, 1, f"Laporan SOP Pengelolaan Media Sosial — {ms.label}").font = Font(bold=True, size=13)
    _put(ws, 2, 1, ms.office_name + (f" · bidang {ms.bidang}" if ms.bidang else ""))
    _put(ws, 3, 1, f"Kepala rantai catatan: {head.label()} · dibuat {ms.generated_at}")
    row = _table(ws, 5, ["Uraian", "Jumlah"], ms.figures()) + 1
    steps_top = row
    row = _table(
        ws,
        steps_top,
        ["Langkah", "Jumlah", "Median (menit)", "Terlama (menit)", "Waktu baku (menit)", "Melebihi"],
        [
            [
                f"{s.step}. {s.label}",
                s.durations.count,
                _minutes(s.durations.median_seconds),
                _minutes(s.durations.max_seconds),
                _minutes(s.durations.standard_seconds),
                s.durations.late,
            ]
            for s in ms.steps
        ],
    )
    chart = BarChart()
    chart.type = "bar"
    chart.title = "Median durasi tiap langkah dibanding waktu baku (menit)"
    chart.y_axis.title = "menit"
    data = Reference(ws, min_col=3, max_col=3, min_row=steps_top, max_row=row - 1)
    standard = Reference(ws, min_col=5, max_col=5, min_row=steps_top, max_row=row - 1)
    chart.add_data(data, titles_from_data=True)
    chart.add_data(standard, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=steps_top + 1, max_row=row - 1))
    chart.height, chart.width = 10, 20
    ws.add_chart(chart, f"H{steps_top}")
    row += 1
    actors = [
        [
            s.step,
            a.actor,
            a.durations.count,
            _minutes(a.durations.median_seconds),
            _minutes(a.durations.max_seconds),
            a.durations.late,
        ]
        for s in ms.steps
        for a in s.by_actor
    ]
    row = (
        _table(
            ws,
            row,
            ["Langkah", "Pelaksana", "Jumlah", "Median (menit)", "Terlama (menit)", "Melebihi"],
            actors,
        )
        + 1
    )
    row = (
        _table(ws, row, ["Kanal", "Informasi masuk"], [[c.label, c.count] for c in ms.incoming.by_channel])
        + 1
    )
    _table(ws, row, ["Bidang", "Informasi masuk"], [[c.label, c.count] for c in ms.incoming.by_bidang])
    ws.column_dimensions["A"].width = 48
    for c in "BCDEF":
        ws.column_dimensions[c].width = 16

    for no, title in RECORD_SHEETS.items():
        _dict_sheet(wb.create_sheet(title), records.get(no, []))

    mon = wb.create_sheet(MONITORING_SHEET)
    slots = list(ms.monitoring.slots)
    _table(
        mon,
        1,
        ["Tanggal", "Hari", "Hari kerja", *slots, "Sapuan SOP berhasil", "Sapuan lain", "Kurang sapuan"],
        [
            [
                d.date,
                d.weekday,
                "ya" if d.working_day else "libur",
                *[f"{s.status}{' ' + s.at if s.at else ''}" for s in d.slots],
                d.sop_sweeps_ok,
                d.other_sweeps,
                "ya" if d.flag else "",
            ]
            for d in ms.monitoring.days
        ],
    )
    mon.freeze_panes = "A2"
    return wb


def workbook_bytes(ms: MonthSummary, records: dict[int, list[dict[str, Any]]], head: ChainHead) -> bytes:
    buf = io.BytesIO()
    build_workbook(ms, records, head).save(buf)
    return buf.getvalue()
