"""The ``sop`` command.

``sop check-config``; ``sop records list|export|sweeps|incoming|tindak-lanjut``;
``sop records cadangkan|pulihkan|salin`` (backup, restore, copy to another database); ``sop route``;
``sop ppid extend``. Text that came from the public or from a form is made inert before it
reaches a terminal (control characters and escape sequences removed) or a spreadsheet (no
formulas).
"""

from __future__ import annotations

import argparse
import csv
import getpass
import json
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from sop_tasks.config import CHANNEL_NAMES, OfficeConfig, load_config
from sop_tasks.errors import ConfigError, SopError
from sop_tasks.render import clean_text, plain_line
from sop_tasks.sop import STEPS, VERIFY_STEPS
from sop_tasks.update import ACTION_WORDS

# Characters a terminal may act on even inside a JSON string (json.dumps leaves them raw).
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_line(text: str | None, limit: int = 120) -> str:
    """Untrusted text as one terminal-safe line: escapes and control characters removed."""
    return plain_line(text or "", limit)


def _json_line(obj: Any) -> str:
    """One JSON object per line, readable (UTF-8) but with terminal-active characters escaped."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(obj, ensure_ascii=False))


def _csv_cell(value: Any) -> Any:
    """A CSV cell that cannot run as a spreadsheet formula and carries no control characters."""
    if not isinstance(value, str):
        return value
    value = clean_text(value)
    return "'" + value if value.startswith(_FORMULA_START) else value


def _write_csv(rows: list[dict[str, Any]], out: TextIO) -> None:
    fields: list[str] = []
    for r in rows:
        fields += [k for k in r if k not in fields]
    writer = csv.DictWriter(out, fieldnames=fields or ["id"])
    writer.writeheader()
    writer.writerows({k: _csv_cell(v) for k, v in r.items()} for r in rows)


def _ledger_url(explicit: str | None) -> str:
    if explicit:
        return explicit
    try:
        from sop_tasks.airflow.ledger import ledger_url
    except ImportError:  # Airflow not installed: the default location
        from sop_tasks.records.db import default_url

        return default_url()
    return ledger_url()


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
    from sop_tasks.routing import load_rules  # the sweep reads routing.yaml too: check it here

    try:
        path = Path(args.dir) / "routing.yaml" if args.dir else None
        rules = load_rules(path, [b.code for b in cfg.bidang])
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"  aturan rute: {rules.source} valid")
    return 0


def _fmt_seconds(s: float | None) -> str:
    if s is None:
        return "-"
    m, sec = divmod(round(s), 60)
    h, m = divmod(m, 60)
    d, h = divmod(h, 24)
    if d:
        return f"{d} hari {h:02d}j{m:02d}m"
    return f"{h}j{m:02d}m" if h else f"{m}m{sec:02d}d"


def _rows(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
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
    summaries = Ledger(_ledger_url(args.db)).summaries()
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
                if info["reason"] and info["outcome"] in ("returned", "invalid")
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
    ledger = Ledger(_ledger_url(args.db))
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
    ledger = Ledger(_ledger_url(args.db))
    if record == "3":
        rows = _follow_up_csv_rows(_follow_up_summaries(ledger, load_config()))
    elif record == "2":
        rows = [_incoming_row(i, f) for i, f in _incoming(ledger)]
        for r in rows:
            r["reasons"] = "; ".join(r["reasons"] or [])
    else:
        rows = _rows(ledger.summaries())
    _write_csv(rows, out)
    return 0


def cmd_records_sweeps(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Proof of monitoring: each day's successful SOP sweeps; a working day with fewer than 3 is flagged."""
    from datetime import datetime

    from sop_tasks.records.inbox import Inbox
    from sop_tasks.records.ledger import Ledger

    out = out or sys.stdout
    cfg = load_config()
    days = Inbox(Ledger(_ledger_url(args.db))).days(
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
    from sop_tasks.records.ledger import to_wib

    return {
        "id": i.id,
        "channel": i.channel,
        "platform_id": i.platform_id,
        "kind": i.kind,
        "author": i.author,
        "text": i.text,
        "created_at": (to_wib(i.created_at) or i.created_at).isoformat(),
        "url": i.url,
        "bidang": i.bidang,
        "spam": i.spam,
        "reasons": i.reasons,
        "submission_id": i.submission_id,
        "sweep_id": i.sweep_id,
        "forwarded_at": (to_wib(f.forwarded_at) or f.forwarded_at).isoformat() if f else None,
    }


def cmd_records_incoming(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Record 2: every incoming item, its route and whether it was forwarded."""
    from sop_tasks.records.ledger import Ledger

    out = out or sys.stdout
    for i, f in _incoming(Ledger(_ledger_url(args.db))):
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
    rows = _follow_up_summaries(Ledger(_ledger_url(args.db)), cfg)
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


def _follow_up_csv_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
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


# ---- PPID (UU 14/2008) -----------------------------------------------------------------------
def cmd_ppid_extend(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Extend a public-information request's deadline once, with a written reason."""
    from sop_tasks.followup import FollowUpError, FollowUps, fmt_date
    from sop_tasks.records.ledger import Ledger, to_wib

    out, err = out or sys.stdout, err or sys.stderr
    cfg = load_config()
    actor = args.oleh if args.oleh is not None else getpass.getuser()
    try:
        clock = FollowUps(Ledger(_ledger_url(args.db))).extend_ppid(
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
    from sop_tasks.routing import main_route

    return main_route(args.text, args.json, sys.stdin, sys.stdout)


def cmd_records_backup(args: argparse.Namespace) -> int:
    from sop_tasks.records.db import BackupError, backup

    try:
        path = backup(_ledger_url(args.db), Path(args.berkas))
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
        restore(_ledger_url(args.db), Path(args.berkas))
    except BackupError as exc:
        print(f"Galat: {exc}", file=sys.stderr)
        return 1
    print(f"Catatan dipulihkan dari {args.berkas}")
    return 0


def cmd_records_copy(args: argparse.Namespace) -> int:
    from sop_tasks.records.db import BackupError, copy_records

    try:
        counts = copy_records(_ledger_url(args.db), args.ke)
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
    rt = sub.add_parser("route", help="ke bidang mana sebuah pesan diteruskan, dan mengapa")
    rt.add_argument(
        "text", nargs="?", help="pesan; tanpa teks dengan --json: satu pesan per baris dari stdin"
    )
    rt.add_argument("--json", action="store_true", help="keluaran JSON (satu objek per baris)")
    rt.set_defaults(func=cmd_route)
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
