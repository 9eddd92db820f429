"""The ``sop`` command.

``sop check-config``; ``sop records list|export|sweeps|incoming|tindak-lanjut|verify``;
``sop records cadangkan|pulihkan|salin`` (backup, restore, copy to another database);
``sop route``; ``sop spam``; ``sop laporan``; ``sop ppid extend``; ``sop terbitkan NOMOR --kanal
KANAL`` (an outbox upload sent live through ``sop_terbitkan``); ``sop pengguna sandi NAMA`` (a staff
password, stored as a salted hash). Text that came from the public or from a form is made inert
before it reaches a terminal (control characters and escape sequences removed) or a spreadsheet
(no formulas).
"""

from __future__ import annotations

import argparse
import csv
import getpass
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.engine import make_url

from sop_tasks.config import CHANNEL_NAMES, OfficeConfig, load_config
from sop_tasks.errors import ConfigError, SopError
from sop_tasks.render import csv_cell, plain_line
from sop_tasks.sop import STEPS, VERIFY_STEPS
from sop_tasks.update import ACTION_WORDS

# Characters a terminal may act on even inside a JSON string (json.dumps leaves them raw).
_JSON_UNSAFE = re.compile(
    r"[\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]"
)


def safe_line(text: str | None, limit: int = 120) -> str:
    """Untrusted text as one terminal-safe line: escapes and control characters removed."""
    return plain_line(text or "", limit)


def _json_line(obj: Any) -> str:
    """One JSON object per line, readable (UTF-8) but with terminal-active characters escaped."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(obj, ensure_ascii=False))


def _csv_cell(value: Any) -> Any:
    """A CSV cell that cannot run as a spreadsheet formula and carries no control characters."""
    return csv_cell(value) if isinstance(value, str) else value


def _write_csv(rows: list[dict[str, Any]], out: TextIO) -> None:
    fields: list[str] = []
    for r in rows:
        fields += [k for k in r if k not in fields]
    writer = csv.DictWriter(out, fieldnames=fields or ["id"])
    writer.writeheader()
    writer.writerows({k: _csv_cell(v) for k, v in r.items()} for r in rows)


def ledger_url(explicit: str | None, err: TextIO | None = None) -> str:
    """The records database to read; unless given with ``--db`` it is said on stderr (so ``--json``
    output stays clean).

    ``--db``; else the ``sop_ledger`` connection; else SQLite under AIRFLOW_HOME. Without
    AIRFLOW_HOME the project's ``.airflow/`` that ``make run`` writes is used when it exists,
    with the same Airflow settings ``make run`` has (so a connection defined in its UI counts).
    """
    err = err or sys.stderr
    if explicit:  # named by the user: nothing to say
        return explicit
    from sop_tasks.records.db import default_url, local_home

    local = local_home()
    if local is not None:
        from sop_tasks.airflow.local import airflow_env

        for k, v in airflow_env(local.resolve(), load_config()).items():
            os.environ.setdefault(k, v)
        how = "folder .airflow proyek, yang ditulis `make run`"
    elif os.environ.get("AIRFLOW_HOME"):
        how = "di bawah AIRFLOW_HOME"
    else:
        how = "AIRFLOW_HOME tidak diatur dan folder .airflow proyek belum ada"
    try:
        from sop_tasks.airflow.ledger import ledger_url
    except ImportError:  # Airflow not installed: the default location
        url = default_url()
    else:
        url = ledger_url()
        # Importing Airflow sends log records to stdout; the migration check's chatter must not
        # mix into `--json` or CSV output.
        logging.getLogger("alembic").setLevel(logging.WARNING)
        if url != default_url():
            how = "koneksi sop_ledger"
    shown = make_url(url).render_as_string(hide_password=True)
    err.write(f"Basis data catatan: {shown} ({how})\n")
    return url


def cmd_check_config(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.dir)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"Konfigurasi valid: {cfg.office_name}")
    for v, st in zip(cfg.verifiers, VERIFY_STEPS, strict=True):  # the config enforces this order
        print(f"  langkah {st.number}: {v.title} — {', '.join(v.users)}")
    print(f"  bidang: {', '.join(b.name for b in cfg.bidang)}")
    print(f"  kanal: {', '.join(cfg.channels)}; zona waktu {cfg.timezone}")
    _print_holidays(cfg, args.tanggal)
    from sop_tasks.routing import load_rules  # the sweep reads routing.yaml too: check it here

    try:
        path = Path(args.dir) / "routing.yaml" if args.dir else None
        rules = load_rules(path, [b.code for b in cfg.bidang])
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"  aturan rute: {rules.source} valid")
    return 0


def _print_holidays(cfg: OfficeConfig, on: str | None) -> None:
    """The working-day calendar in one line, and the warning when the office's list runs out."""
    years = sorted({d.year for d in cfg.holidays})
    span = f"{years[0]}–{years[-1]}" if years else "kosong"
    national = f"libur nasional {cfg.national_holidays} otomatis" if cfg.national_holidays else "tanpa"
    print(f"  hari libur: {national}; hari libur kantor {len(cfg.holidays)} tanggal ({span})")
    today = date.fromisoformat(on) if on else datetime.now(cfg.tz).date()
    warning = cfg.holiday_data_warning(today)
    if warning:
        print(f"PERINGATAN: {warning}", file=sys.stderr)


def _fmt_seconds(s: float | None) -> str:
    from sop_tasks.reports.summary import fmt_seconds

    return fmt_seconds(s)


def submission_csv_rows(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for s in summaries:
        row: dict[str, Any] = {
            "id": s["id"],
            "dibuat (WIB)": (s["created_at"] or "")[:19].replace("T", " "),
            "judul": s["title"],
            "status": s["status"],
            "pemutakhiran dari": (s.get("update") or {}).get("of", ""),
            "versi": (s.get("update") or {}).get("version", ""),
            "alasan pemutakhiran": (s.get("update") or {}).get("reason", ""),
        }
        for st in (*STEPS[:5], STEPS[9]):
            info = s["steps"].get(str(st.number))
            row[f"langkah {st.number} (detik)"] = (
                "" if not info or info["seconds"] is None else info["seconds"]
            )
            row[f"langkah {st.number} baku (detik)"] = st.standard_seconds or ""
        for ch, info in s["channels"].items():
            row[f"{ch}"] = f"{info['status']} {info.get('url') or ''}".strip()
        rows.append(row)
    return rows


def cmd_records_list(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from sop_tasks.records.ledger import Ledger

    out = out or sys.stdout
    summaries = Ledger(ledger_url(args.db)).summaries()
    if args.json:
        for s in summaries:
            out.write(_json_line(s) + "\n")
        return 0
    if not summaries:
        out.write("Belum ada catatan unggahan.\n")
        return 0
    out.write("Catatan 1 — data/informasi yang diunggah (waktu nyata / waktu baku)\n")
    for s in summaries:
        out.write(
            f"#{s['id']} [{s['status']}] {safe_line(s['title'])}  ({(s['created_at'] or '')[:16]} WIB)\n"
        )
        if s.get("update"):
            u = s["update"]
            why = safe_line(u["reason"], 200)
            out.write(f"     pemutakhiran #{u['of']}, versi {u['version']} — alasan: {why}\n")
        for no, info in s["steps"].items():
            std = info["standard_seconds"]
            flag = "  ⚠ melebihi waktu baku" if info["over_standard"] else ""
            who = f" oleh {safe_line(info['actor'], 60)}" if info["actor"] else ""
            why = (
                f" — {safe_line(info['reason'], 200)}"
                if info["reason"] and info["outcome"] in ("returned", "invalid", "refused")
                else ""
            )
            out.write(
                f"   {no:>2}. {info['label']}: {info['outcome']}{who}, "
                f"{_fmt_seconds(info['seconds'])} / {_fmt_seconds(std)}{flag}{why}\n"
            )
        for ch, info in s["channels"].items():
            how = f" ({ACTION_WORDS[info['action']]})" if info.get("action") in ACTION_WORDS else ""
            out.write(f"       {ch}: {info['status']}{how} {safe_line(info.get('url') or '', 200)}\n")
    return 0


def cmd_records_versions(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Every version of a published submission (SOP step 10): status, reason and diff."""
    from sop_tasks.records.ledger import Ledger

    out = out or sys.stdout
    ledger = Ledger(ledger_url(args.db))
    sub = ledger.submission(args.submission_id)
    if sub is None:
        raise SopError(f"Pengajuan {args.submission_id} tidak ada di catatan; lihat `sop records list`")
    if sub.kind == "update":
        original = ledger.update_of(sub.id)
        sub = ledger.submission(original) if original is not None else None
        if sub is None:
            raise SopError(f"Pemutakhiran {args.submission_id} tidak menyebut pengajuan asli di catatan")
    versions = ledger.content_versions(sub.id)
    by_id = {
        i: summary
        for i in (sub.id, *(v.update_submission_id for v in versions))
        if (summary := ledger.summary_of(i)) is not None
    }
    shown: dict[int, list[str]] = {}
    for channel, (number, _) in ledger.live_contents(sub.id).items():
        shown.setdefault(number, []).append(CHANNEL_NAMES.get(channel, channel))

    def live(number: int) -> str:
        return f"  ← tayang di: {', '.join(shown[number])}" if number in shown else ""

    out.write(f"Versi pengajuan #{sub.id} — {safe_line(sub.title)}\n")
    out.write(f"  versi 1: unggahan asli #{sub.id} [{by_id[sub.id]['status']}]{live(1)}\n")
    for v in versions:
        s = by_id[v.update_submission_id]
        out.write(
            f"  versi {v.version}: pemutakhiran #{v.update_submission_id} [{s['status']}] "
            f"({(s['created_at'] or '')[:16]} WIB){live(v.version)}\n"
            f"    alasan: {safe_line(v.reason, 300)}\n"
        )
        for line in v.diff.splitlines():
            out.write(f"    {safe_line(line, 300)}\n")
    return 0


def cmd_records_export(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """CSV of one SOP record: 1 uploads (default), 2 incoming, 3 follow-ups."""
    from sop_tasks.records.ledger import Ledger

    out = out or sys.stdout
    record = str(getattr(args, "record", None) or "1")
    ledger = Ledger(ledger_url(args.db))
    if record == "3":
        rows = follow_up_csv_rows(_follow_up_summaries(ledger, load_config()))
    elif record == "2":
        rows = [_incoming_row(i, f) for i, f in _incoming(ledger)]
        for r in rows:
            r["reasons"] = "; ".join(r["reasons"] or [])
    else:
        rows = submission_csv_rows(ledger.summaries())
    _write_csv(rows, out)
    return 0


def cmd_records_sweeps(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Proof of monitoring: each day's successful SOP sweeps; a working day with fewer than 3 is flagged."""
    from datetime import datetime

    from sop_tasks.records.inbox import Inbox
    from sop_tasks.records.ledger import Ledger

    out = out or sys.stdout
    cfg = load_config()
    days = Inbox(Ledger(ledger_url(args.db))).days(
        cfg.tz, until=datetime.now(cfg.tz).date(), calendar=cfg.calendar()
    )
    if args.json:
        for d in days:
            out.write(json.dumps(d, ensure_ascii=False) + "\n")
        return 0
    if not days:
        out.write("Belum ada sapuan pemantauan.\n")
        return 0
    out.write("Pemantauan (SOP langkah 6; minimal 3 sapuan sehari: pagi, siang, sore)\n")
    for d in days:
        mark = "  ⚠ KURANG DARI 3 SAPUAN" if d["flag"] else ""
        kind = "hari kerja" if d["working_day"] else "libur"
        out.write(
            f"{d['date']} ({kind}): {d['sop_sweeps_ok']} sapuan SOP berhasil [{', '.join(d['slots'])}], "
            f"{d['all_sweeps']} sapuan total, {d['failed_or_partial']} bermasalah{mark}\n"
        )
    return 0


def _incoming(ledger: Any) -> list[tuple[Any, Any]]:
    """(item, its first forward or None) for every record-2 item."""
    from sop_tasks.records.inbox import Inbox

    inbox = Inbox(ledger)
    forwarded: dict[int, Any] = {}
    for f in inbox.forwards():
        forwarded.setdefault(f.item_id, f)
    return [(i, forwarded.get(i.id)) for i in inbox.items()]


def _incoming_row(i: Any, f: Any) -> dict[str, Any]:
    from sop_tasks.reports.summary import incoming_row

    return incoming_row(i, f)


def cmd_records_incoming(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Record 2: every incoming item, its route and whether it was forwarded."""
    from sop_tasks.records.ledger import Ledger

    out = out or sys.stdout
    for i, f in _incoming(Ledger(ledger_url(args.db))):
        row = _incoming_row(i, f)
        if args.json:
            out.write(_json_line(row) + "\n")
        else:
            route = "SPAM" if i.spam else (i.bidang or "-")
            sent = "diteruskan" if f else ("tidak diteruskan" if i.spam else "belum diteruskan")
            out.write(
                f"#{i.id} [{i.channel}/{i.kind}] {row['created_at'][:16]} {safe_line(i.author or '-', 30)}: "
                f"{safe_line(i.text, 70)} → {route} ({sent}); "
                f"alasan: {safe_line('; '.join(i.reasons or []), 200)}\n"
            )
    return 0


# ---- record 3: follow-ups ------------------------------------------------------------------
def _follow_up_summaries(ledger: Any, cfg: OfficeConfig, now: datetime | None = None) -> list[dict[str, Any]]:
    from sop_tasks.followup import FollowUps

    return FollowUps(ledger).summaries(cfg, now)


def _wib(iso: str | None) -> str:
    """``2027-01-05T09:12:03+07:00`` → ``05-01-2027 09:12`` (already WIB)."""
    if not iso:
        return "-"
    dt = datetime.fromisoformat(iso)
    return f"{dt:%d-%m-%Y %H:%M}"


def _day(iso: str | None) -> str:
    from datetime import date

    from sop_tasks.followup import fmt_date

    return fmt_date(date.fromisoformat(iso)) if iso else "-"


def _bidang_name(cfg: OfficeConfig, code: str | None) -> str:
    if not code:
        return "-"
    try:
        return cfg.bidang_by_code(code).name
    except KeyError:
        return code


def _elapsed(seconds: float | None, standard: int | None, over: bool) -> str:
    if seconds is None:
        return "-"
    if standard is None:
        return _fmt_seconds(seconds)
    return f"{_fmt_seconds(seconds)} / {_fmt_seconds(standard)}{' ⚠ melebihi waktu baku' if over else ''}"


def _ppid_line(r: dict[str, Any]) -> str:
    ext = r["ppid_extended"]
    parts = [f"batas {_day(r['ppid_deadline'])}"]
    if ext:
        parts.append(
            f"diperpanjang dari {_day(r['ppid_original_deadline'])} oleh {safe_line(ext['by'] or '-', 40)} "
            f"({_wib(ext['at'])}): {safe_line(ext['reason'], 100)}"
        )
    if r["ppid_answered_at"]:
        parts.append(f"ditangani {_wib(r['ppid_answered_at'])}")
    elif r["ppid_working_days_left"] is not None:
        parts.append(f"sisa {r['ppid_working_days_left']} hari kerja")
    line = "; ".join(parts)
    return line + ("  ⚠ LEWAT BATAS" if r["ppid_lapsed"] else "")


def cmd_records_follow_ups(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Record 3 (data/informasi tindak lanjut): per item and bidang, who did what, when, how fast."""
    from sop_tasks.records.ledger import Ledger

    out = out or sys.stdout
    cfg = load_config()
    rows = _follow_up_summaries(Ledger(ledger_url(args.db)), cfg)
    if args.json:
        for r in rows:
            out.write(_json_line(r) + "\n")
        return 0
    if not rows:
        out.write("Belum ada catatan tindak lanjut.\n")
        return 0
    out.write("Catatan 3 — data/informasi tindak lanjut (waktu WIB; waktu nyata / waktu baku)\n")
    for r in rows:
        status = r["status_label"]
        if r["rerouted_to"]:
            status = f"diteruskan ke {_bidang_name(cfg, r['rerouted_to'])}"
        who = (
            f" — oleh {safe_line(r['answered_by'], 40)}, {_wib(r['answered_at'])}" if r["answered_by"] else ""
        )
        channel = CHANNEL_NAMES.get(r["channel"], r["channel"])
        out.write(f"#{r['item_id']} {channel} · {_bidang_name(cfg, r['bidang'])} · {status}{who}\n")
        out.write(
            f"    pesan dari {safe_line(r['author'] or '-', 30)} ({_wib(r['created_at'])}): "
            f"{safe_line(r['text'], 90)}\n"
        )
        if r["rerouted_from"]:
            out.write(f"    diteruskan dari {_bidang_name(cfg, r['rerouted_from'])}\n")
        if r["reply_text"]:
            out.write(f"    jawaban: {safe_line(r['reply_text'], 100)}\n")
        if r["reason"]:
            out.write(f"    alasan: {safe_line(r['reason'], 100)}\n")
        if r["posted"]:
            where = r["posted"]["url"] or "-"
            mode = " (outbox)" if r["posted"]["mode"] == "outbox" else ""
            out.write(f"    balasan diunggah{mode}: {safe_line(where, 200)} ({_wib(r['posted_at'])})\n")
        elif r["post_error"]:
            out.write(f"    gagal mengunggah: {safe_line(r['post_error'], 100)}\n")
        forward_label = "diteruskan ulang" if r["rerouted_from"] else "masuk→diteruskan"
        forwarded = _elapsed(
            r["seconds_incoming_to_forwarded"], r["standard_forward_seconds"], r["over_standard_forward"]
        )
        answered = _elapsed(r["seconds_forwarded_to_answered"], None, False)
        posted = _elapsed(
            r["seconds_answered_to_posted"], r["standard_post_seconds"], r["over_standard_post"]
        )
        out.write(
            f"    waktu: {forward_label} {forwarded} · diteruskan→dijawab {answered} "
            f"· dijawab→diunggah {posted}\n"
        )
        if r["ppid"]:
            out.write(f"    PPID: {_ppid_line(r)}\n")
    return 0


def follow_up_csv_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        ext = r["ppid_extended"] or {}
        posted = r["posted"] or {}
        out.append(
            {
                "nomor": r["item_id"],
                "kanal": r["channel"],
                "bidang": r["bidang"],
                "status": r["status_label"],
                "diteruskan dari": r["rerouted_from"] or "",
                "diteruskan ke": r["rerouted_to"] or "",
                "pengirim": r["author"] or "",
                "pesan": r["text"],
                "tautan pesan": r["item_url"] or "",
                "masuk (WIB)": _wib(r["created_at"]),
                "diteruskan (WIB)": _wib(r["forwarded_at"]),
                "dijawab oleh": r["answered_by"] or "",
                "dijawab (WIB)": _wib(r["answered_at"]) if r["answered_at"] else "",
                "jawaban": r["reply_text"] or "",
                "alasan tidak dibalas": r["reason"] or "",
                "mode unggah": posted.get("mode") or "",
                "tautan balasan": posted.get("url") or "",
                "diunggah (WIB)": _wib(r["posted_at"]) if r["posted_at"] else "",
                "durasi masuk-diteruskan (detik)": _blank(r["seconds_incoming_to_forwarded"]),
                "baku langkah 7 (detik)": _blank(r["standard_forward_seconds"]),
                "durasi diteruskan-dijawab (detik)": _blank(r["seconds_forwarded_to_answered"]),
                "durasi dijawab-diunggah (detik)": _blank(r["seconds_answered_to_posted"]),
                "baku langkah 9 (detik)": _blank(r["standard_post_seconds"]),
                "melebihi waktu baku": "ya" if r["over_standard_forward"] or r["over_standard_post"] else "",
                "PPID": "ya" if r["ppid"] else "",
                "batas PPID semula": r["ppid_original_deadline"] or "",
                "batas PPID": r["ppid_deadline"] or "",
                "diperpanjang oleh": ext.get("by") or "",
                "alasan perpanjangan": ext.get("reason") or "",
                "lewat batas": "ya" if r["ppid_lapsed"] else "",
            }
        )
    return out


def _blank(value: Any) -> Any:
    return "" if value is None else value


# ---- the monthly report ---------------------------------------------------------------------------
def cmd_laporan(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """The month's report: PDF or XLSX to a file, or its figures as text or JSON."""
    from sop_tasks.records.ledger import Ledger
    from sop_tasks.reports.monthly import build
    from sop_tasks.reports.summary import PeriodError, fmt_seconds, month_summary, parse_month

    out, err = out or sys.stdout, err or sys.stderr
    cfg = load_config()
    try:
        year, month = parse_month(args.bulan)
    except PeriodError as exc:
        err.write(f"Ditolak: {exc}\n")
        return 2
    if args.bidang and args.bidang not in {b.code for b in cfg.bidang}:
        err.write(
            f"Ditolak: bidang '{args.bidang}' tidak ada di config/office.yaml; pilih "
            f"{', '.join(b.code for b in cfg.bidang)}\n"
        )
        return 2
    ledger = Ledger(ledger_url(args.db, err))
    if args.format in ("pdf", "xlsx"):
        report = build(ledger, year, month, cfg, args.format, bidang=args.bidang)
        target = Path(args.keluar or report.name)
        target.write_bytes(report.content)
        out.write(
            f"Laporan {report.summary.label} ({args.format.upper()}) ditulis ke {target} "
            f"— kepala rantai catatan {report.head.label()}\n"
        )
        return 0
    ms = month_summary(ledger, year, month, cfg, bidang=args.bidang)
    if args.format == "json":
        out.write(json.dumps(ms.to_json(), ensure_ascii=False, indent=1) + "\n")
        return 0
    out.write(
        f"Laporan SOP Pengelolaan Media Sosial — {ms.label}{' — ' + args.bidang if args.bidang else ''}\n"
    )
    for label, value in ms.figures():
        out.write(f"  {label}: {value}\n")
    out.write("Waktu tiap langkah (median / terlama / waktu baku, jumlah melebihi):\n")
    for st in ms.steps:
        d = st.durations
        if d.count:
            out.write(
                f"  {st.step}. {st.label}: {fmt_seconds(d.median_seconds)} / {fmt_seconds(d.max_seconds)} / "
                f"{fmt_seconds(d.standard_seconds)}, {d.late} dari {d.count}\n"
            )
    return 0


# ---- tamper evidence -------------------------------------------------------------------------------
def cmd_records_verify(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Recompute the records' hash chain: 0 intact, 1 something was changed or removed, 2 bad input."""
    from sop_tasks.records import chain
    from sop_tasks.records.db import get_engine

    out, err = out or sys.stdout, err or sys.stderr
    engine = get_engine(ledger_url(args.db, err))
    try:
        result = chain.verify(engine, printed_head=args.kepala)
    except ValueError as exc:
        err.write(f"Ditolak: {exc}\n")
        return 2
    where = f"{result.rows} baris catatan, {result.entries} entri rantai; kepala rantai {result.head.label()}"
    if result.ok:
        checked = f"; cocok dengan kepala rantai di laporan {args.kepala}" if args.kepala else ""
        out.write(f"Catatan utuh: tidak ada baris yang diubah atau dihapus ({where}{checked}).\n")
        return 0
    out.write(f"PERINGATAN: catatan tidak utuh — {len(result.problems)} masalah ({where}):\n")
    for p in result.problems:
        out.write(f"  - {p.text()}\n")
    return 1


# ---- PPID (UU 14/2008) -----------------------------------------------------------------------
def cmd_ppid_extend(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Extend a public-information request's deadline once, with a written reason."""
    from sop_tasks.followup import FollowUpError, FollowUps, fmt_date
    from sop_tasks.records.ledger import Ledger, to_wib

    out, err = out or sys.stdout, err or sys.stderr
    cfg = load_config()
    actor = args.oleh if args.oleh is not None else getpass.getuser()
    try:
        clock = FollowUps(Ledger(ledger_url(args.db))).extend_ppid(
            args.item_id, reason=args.alasan, actor=actor, cfg=cfg
        )
    except FollowUpError as exc:
        err.write(f"Ditolak: {exc}\n")
        return 1
    days = cfg.follow_up.ppid_extension_days
    at = to_wib(clock.extended_at) or datetime.now(UTC)
    out.write(
        f"Permohonan informasi publik #{clock.item_id} diperpanjang satu kali "
        "(UU 14/2008 pasal 22 ayat (8)).\n"
        f"  batas semula : {fmt_date(clock.original_deadline)}\n"
        f"  batas baru   : {fmt_date(clock.deadline)} ({days} hari kerja berikutnya)\n"
        f"  alasan       : {safe_line(clock.extension_reason, 200)}\n"
        f"  dicatat oleh : {safe_line(clock.extended_by, 60)}, {at:%d-%m-%Y %H:%M} WIB\n"
        f"Kirim pemberitahuan tertulis berisi alasan ini kepada pemohon paling lambat "
        f"{fmt_date(clock.original_deadline)}. Perpanjangan tidak dapat diulang.\n"
    )
    return 0


def cmd_route(args: argparse.Namespace) -> int:
    from sop_tasks.routing import cli as rc

    model = None if args.aturan else rc.LIVE
    if args.riwayat:
        return rc.main_history(sys.stdout, db=args.db)
    if args.evaluasi:
        return rc.main_evaluate(sys.stdout, model=model, db=args.db)
    return rc.main_route(
        args.text, args.json, sys.stdin, sys.stdout, explain=args.explain, model=model, db=args.db
    )


def cmd_spam(args: argparse.Namespace) -> int:
    from sop_tasks.routing import cli as rc

    if args.spam_command == "daftar":
        return rc.main_spam_list(sys.stdout, db=args.db, as_json=args.json, everything=args.semua)
    return rc.main_spam_restore(args.item_id, args.bidang, args.oleh, sys.stdout, db=args.db)


def cmd_user_password(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Set or reset a staff password as a salted hash (the auth manager reads it at each login)."""
    import secrets

    from sop_tasks import passwords
    from sop_tasks.airflow.local import users

    out, err = out or sys.stdout, err or sys.stderr
    known = users(load_config())
    if args.nama not in known:
        print(
            f"Galat: pengguna '{safe_line(args.nama, 40)}' tidak ada. Pengguna: {', '.join(known)} "
            "(tambahkan dulu di config/office.yaml).",
            file=err,
        )
        return 2
    if args.acak:
        password = secrets.token_urlsafe(12)
    else:
        password = getpass.getpass(f"Kata sandi baru untuk {args.nama}: ")
        if getpass.getpass("Ulangi kata sandi: ") != password:
            print("Galat: kedua kata sandi tidak sama; tidak ada yang diubah.", file=err)
            return 2
    path = passwords.hashes_file()
    try:
        passwords.set_password(path, args.nama, password)
    except ValueError as exc:
        print(f"Galat: {exc}; tidak ada yang diubah.", file=err)
        return 2
    print(f"Kata sandi {args.nama} disimpan sebagai hash di {path}; berlaku pada login berikutnya.", file=out)
    if args.acak:
        print(f"Kata sandi baru (tampil sekali ini saja): {password}", file=out)
    return 0


def _has_connection(conn_id: str) -> bool:
    """Whether Airflow knows the connection (environment, secrets backend or metadata DB)."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.models.connection import Connection

    try:
        Connection.get_connection_from_secrets(conn_id)
    except AirflowNotFoundException:
        return False
    return True


def cmd_terbitkan(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Send an approved outbox upload live: checks the records, then triggers ``sop_terbitkan``.

    The write itself happens in Airflow's task (where the channel's connection lives, with its
    retries and log); the approvals and the connection are checked there, right before it.
    """
    from sop_tasks.airflow.publish import CONN_IDS
    from sop_tasks.airflow.release import DAG_ID, refusals
    from sop_tasks.records.ledger import Ledger

    out, err = out or sys.stdout, err or sys.stderr
    channels = list(dict.fromkeys(args.kanal))
    ledger = Ledger(ledger_url(args.db, err))
    problems = [p for ch in channels for p in refusals(ledger, args.nomor, ch)]
    if not problems:  # said here at once; the task checks again right before the write
        problems = [
            f"koneksi {CONN_IDS[ch]} belum ada; tambahkan di Admin → Connections"
            for ch in channels
            if not _has_connection(CONN_IDS[ch])
        ]
    if problems:
        print("Galat: tidak diunggah dari outbox —", file=err)
        for p in problems:
            print(f"- {safe_line(p, 300)}", file=err)
        return 1
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.exceptions import DagNotFound
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from airflow.utils.types import DagRunTriggeredByType

    user = args.oleh or getpass.getuser()
    try:
        run = trigger_dag(
            DAG_ID,
            triggered_by=DagRunTriggeredByType.CLI,
            triggering_user_name=user,
            conf={"submission_id": args.nomor, "channels": channels},
        )
    except DagNotFound:
        print(f"Galat: DAG {DAG_ID} belum dikenal Airflow; jalankan `make run` dulu lalu ulangi.", file=err)
        return 1
    with create_session() as session:
        model = session.get(DagModel, DAG_ID)
        paused = bool(model is not None and model.is_paused)
    run_id = run.run_id if run is not None else "?"
    print(
        f"Pengajuan {args.nomor} ({', '.join(channels)}) dikirim ke {DAG_ID} (run {run_id}). Persetujuan dan "
        "koneksi diperiksa di tugasnya; hasilnya tampil di `sop records list` dan di Airflow.",
        file=out,
    )
    if paused:
        print(f"Peringatan: DAG {DAG_ID} sedang dijeda; aktifkan di Airflow agar run berjalan.", file=err)
    return 0


def _iso_date(text: str) -> str:
    try:
        date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' bukan tanggal; tulis YYYY-MM-DD") from None
    return text


def cmd_records_backup(args: argparse.Namespace) -> int:
    from sop_tasks.records.db import BackupError, backup

    try:
        path = backup(ledger_url(args.db), Path(args.berkas))
    except BackupError as exc:
        print(f"Galat: {exc}", file=sys.stderr)
        return 1
    print(f"Cadangan catatan tersimpan: {path} (hanya dapat dibaca pemiliknya)")
    return 0


def cmd_records_restore(args: argparse.Namespace) -> int:
    from sop_tasks.records.db import BackupError, restore

    if not args.ya:
        print(
            "Galat: pemulihan MENGGANTI seluruh catatan dengan isi cadangan; hentikan Airflow dulu, "
            "lalu ulangi dengan --ya",
            file=sys.stderr,
        )
        return 2
    try:
        restore(ledger_url(args.db), Path(args.berkas))
    except BackupError as exc:
        print(f"Galat: {exc}", file=sys.stderr)
        return 1
    print(f"Catatan dipulihkan dari {args.berkas}")
    return 0


def cmd_records_copy(args: argparse.Namespace) -> int:
    from sop_tasks.records.db import BackupError, copy_records

    try:
        counts = copy_records(ledger_url(args.db), args.ke)
    except BackupError as exc:
        print(f"Galat: {exc}", file=sys.stderr)
        return 1
    print("Disalin: " + ", ".join(f"{t} {n}" for t, n in counts.items()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sop", description="SOP Pengelolaan Media Sosial — Dinarpus Kendal")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check-config", help="periksa config/office.yaml")
    c.add_argument("--dir", help="folder konfigurasi (bawaan: SOP_CONFIG_DIR atau config/)")
    c.add_argument(
        "--tanggal",
        type=_iso_date,
        help="periksa daftar hari libur seolah-olah pada tanggal ini (YYYY-MM-DD)",
    )
    c.set_defaults(func=cmd_check_config)
    r = sub.add_parser("records", help="catatan SOP")
    rsub = r.add_subparsers(dest="records_command", required=True)
    lst = rsub.add_parser("list", help="daftar pengajuan dan durasi tiap langkah")
    lst.add_argument("--json", action="store_true", help="satu objek JSON per baris")
    lst.add_argument("--db", help="URL basis data catatan (bawaan: koneksi sop_ledger)")
    lst.set_defaults(func=cmd_records_list)
    exp = rsub.add_parser("export", help="ekspor catatan (CSV)")
    exp.add_argument("--format", choices=["csv"], default="csv")
    exp.add_argument(
        "--record",
        choices=["1", "2", "3"],
        default="1",
        help="catatan SOP: 1 diunggah (bawaan), 2 informasi masuk, 3 tindak lanjut",
    )
    exp.add_argument("--db", help="URL basis data catatan (bawaan: koneksi sop_ledger)")
    exp.set_defaults(func=cmd_records_export)
    sw = rsub.add_parser("sweeps", help="bukti pemantauan: sapuan per hari")
    sw.add_argument("--json", action="store_true")
    sw.add_argument("--db", help="URL basis data catatan (bawaan: koneksi sop_ledger)")
    sw.set_defaults(func=cmd_records_sweeps)
    inc = rsub.add_parser("incoming", help="catatan 2: informasi yang masuk")
    inc.add_argument("--json", action="store_true")
    inc.add_argument("--db", help="URL basis data catatan (bawaan: koneksi sop_ledger)")
    inc.set_defaults(func=cmd_records_incoming)
    tl = rsub.add_parser(
        "tindak-lanjut",
        aliases=["follow-ups"],
        help="catatan 3: tindak lanjut informasi masuk, waktu tiap langkah dan batas PPID",
    )
    tl.add_argument("--json", action="store_true", help="satu objek JSON per baris")
    tl.add_argument("--db", help="URL basis data catatan (bawaan: koneksi sop_ledger)")
    tl.set_defaults(func=cmd_records_follow_ups)
    ver = rsub.add_parser(
        "versi", aliases=["versions"], help="langkah 10: setiap versi konten dan perbedaannya"
    )
    ver.add_argument("submission_id", type=int, help="nomor pengajuan (asli atau pemutakhiran)")
    ver.add_argument("--db", help="URL basis data catatan (bawaan: koneksi sop_ledger)")
    ver.set_defaults(func=cmd_records_versions)
    vf = rsub.add_parser(
        "verify",
        aliases=["periksa"],
        help="periksa rantai hash catatan: adakah baris yang diubah atau dihapus",
    )
    vf.add_argument(
        "--kepala",
        help="kepala rantai yang tercetak di kaki laporan (mis. #1234:9f2c0a1b3c4d5e6f): "
        "periksa juga bahwa catatan sebelum laporan itu tidak ditulis ulang",
    )
    vf.add_argument("--db", help="URL basis data catatan (bawaan: koneksi sop_ledger)")
    vf.set_defaults(func=cmd_records_verify)
    bk = rsub.add_parser("cadangkan", help="cadangkan seluruh catatan ke satu berkas (SQLite/pg_dump)")
    bk.add_argument("berkas", help="berkas cadangan yang dibuat (izin 0600)")
    bk.add_argument("--db", help="URL basis data catatan (bawaan: koneksi sop_ledger)")
    bk.set_defaults(func=cmd_records_backup)
    rs = rsub.add_parser("pulihkan", help="ganti seluruh catatan dengan isi berkas cadangan")
    rs.add_argument("berkas", help="berkas dari `sop records cadangkan` (jenis basis data yang sama)")
    rs.add_argument("--ya", action="store_true", help="ya, ganti catatan yang ada sekarang")
    rs.add_argument("--db", help="URL basis data catatan (bawaan: koneksi sop_ledger)")
    rs.set_defaults(func=cmd_records_restore)
    cp = rsub.add_parser("salin", help="salin seluruh catatan ke basis data lain yang masih kosong")
    cp.add_argument(
        "--ke", required=True, help="URL basis data tujuan, mis. postgresql://sop:…@host/sop_ledger"
    )
    cp.add_argument("--db", help="URL basis data asal (bawaan: koneksi sop_ledger)")
    cp.set_defaults(func=cmd_records_copy)
    pp = sub.add_parser("ppid", help="permohonan informasi publik (UU 14/2008)")
    psub = pp.add_subparsers(dest="ppid_command", required=True)
    ext = psub.add_parser(
        "extend",
        help="perpanjang batas jawaban satu kali (ppid_extension_days hari kerja), dengan alasan tertulis",
    )
    ext.add_argument("item_id", type=int, help="nomor informasi masuk (lihat `sop records tindak-lanjut`)")
    ext.add_argument("--alasan", required=True, help="alasan perpanjangan (disampaikan kepada pemohon)")
    ext.add_argument("--oleh", help="nama petugas yang memperpanjang (bawaan: pengguna sistem)")
    ext.add_argument("--db", help="URL basis data catatan (bawaan: koneksi sop_ledger)")
    ext.set_defaults(func=cmd_ppid_extend)
    lp = sub.add_parser("laporan", help="laporan bulanan: PDF, XLSX, atau angkanya (teks/JSON)")
    lp.add_argument("--bulan", required=True, help="bulan laporan, TTTT-BB (mis. 2026-11)")
    lp.add_argument("--format", choices=["pdf", "xlsx", "teks", "json"], default="teks")
    lp.add_argument("--keluar", help="berkas tujuan PDF/XLSX (bawaan: laporan-sop-TTTT-BB.pdf|xlsx)")
    lp.add_argument("--bidang", help="hanya informasi masuk dan tindak lanjut bidang ini (kode bidang)")
    lp.add_argument("--db", help="URL basis data catatan (bawaan: koneksi sop_ledger)")
    lp.set_defaults(func=cmd_laporan)
    rt = sub.add_parser("route", help="ke bidang mana sebuah pesan diteruskan, dan mengapa")
    rt.add_argument(
        "text", nargs="?", help="pesan; tanpa teks dengan --json: satu pesan per baris dari stdin"
    )
    rt.add_argument("--json", action="store_true", help="keluaran JSON (satu objek per baris)")
    rt.add_argument(
        "--explain", action="store_true", help="tampilkan juga fitur model yang paling menentukan"
    )
    rt.add_argument("--aturan", action="store_true", help="hanya aturan routing.yaml, tanpa model")
    rt.add_argument(
        "--evaluasi", action="store_true", help="akurasi pada bagian uji beku: per bidang, spam, matriks"
    )
    rt.add_argument("--riwayat", action="store_true", help="versi model yang pernah dilatih dan nilainya")
    rt.add_argument("--db", help="URL basis data catatan (bawaan: koneksi sop_ledger)")
    rt.set_defaults(func=cmd_route)
    pg = sub.add_parser("pengguna", help="pengguna Airflow kantor")
    pgsub = pg.add_subparsers(dest="pengguna_command", required=True)
    pw = pgsub.add_parser(
        "sandi",
        help="atur/setel ulang kata sandi seorang pengguna (disimpan sebagai hash, "
        "berkas [sop] password_hashes_file)",
    )
    pw.add_argument("nama", help="nama pengguna, mis. kadis")
    pw.add_argument("--acak", action="store_true", help="buat kata sandi acak dan tampilkan sekali")
    pw.set_defaults(func=cmd_user_password)
    sp = sub.add_parser("spam", help="informasi masuk yang ditandai spam: periksa dan pulihkan")
    spsub = sp.add_subparsers(dest="spam_command", required=True)
    spl = spsub.add_parser("daftar", help="daftar yang ditandai spam, dengan alasannya")
    spl.add_argument("--semua", action="store_true", help="termasuk yang sudah dipulihkan")
    spl.add_argument("--json", action="store_true", help="satu objek JSON per baris")
    spl.add_argument("--db", help="URL basis data catatan (bawaan: koneksi sop_ledger)")
    spr = spsub.add_parser("pulihkan", help="bukan spam: teruskan ke bidang (dicatat sebagai koreksi)")
    spr.add_argument("item_id", type=int, help="nomor informasi masuk (lihat `sop spam daftar`)")
    spr.add_argument("--bidang", required=True, help="kode bidang tujuan (lihat config/office.yaml)")
    spr.add_argument("--oleh", required=True, help="nama petugas yang memulihkan")
    spr.add_argument("--db", help="URL basis data catatan (bawaan: koneksi sop_ledger)")
    for spam_parser in (spl, spr):
        spam_parser.set_defaults(func=cmd_spam)
    tb = sub.add_parser(
        "terbitkan", help="kirim unggahan yang disetujui dan tertahan di outbox ke kanal yang kini terhubung"
    )
    tb.add_argument("nomor", type=int, help="nomor pengajuan (lihat `sop records list`)")
    tb.add_argument(
        "--kanal", action="append", required=True, choices=list(CHANNEL_NAMES), help="kanal (boleh diulang)"
    )
    tb.add_argument("--oleh", help="nama petugas yang meminta (bawaan: pengguna sistem)")
    tb.add_argument("--db", help="URL basis data catatan (bawaan: koneksi sop_ledger)")
    tb.set_defaults(func=cmd_terbitkan)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SopError as exc:
        print(f"Galat: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
