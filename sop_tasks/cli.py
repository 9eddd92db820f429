"""The ``sop`` command: ``sop check-config``, ``sop records list|export``."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from sop_tasks.config import load_config
from sop_tasks.errors import ConfigError, SopError
from sop_tasks.sop import STEPS, VERIFY_STEPS


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
    return 0


def _fmt_seconds(s: float | None) -> str:
    if s is None:
        return "-"
    m, sec = divmod(round(s), 60)
    h, m = divmod(m, 60)
    return f"{h}j{m:02d}m" if h else f"{m}m{sec:02d}d"


def _rows(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for s in summaries:
        row: dict[str, Any] = {
            "id": s["id"],
            "dibuat (WIB)": (s["created_at"] or "")[:19].replace("T", " "),
            "judul": s["title"],
            "status": s["status"],
        }
        for st in STEPS[:5]:
            info = s["steps"].get(str(st.number))
            row[f"langkah {st.number} (detik)"] = (
                "" if not info or info["seconds"] is None else info["seconds"]
            )
            row[f"langkah {st.number} baku (detik)"] = st.standard_seconds or ""
        for ch, info in s["channels"].items():
            row[f"{ch}"] = f"{info['status']} {info.get('url') or ''}".strip()
        rows.append(row)
    return rows


def cmd_records_list(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    from sop_tasks.records.ledger import Ledger

    summaries = Ledger(_ledger_url(args.db)).summaries()
    if args.json:
        for s in summaries:
            out.write(json.dumps(s, ensure_ascii=False) + "\n")
        return 0
    if not summaries:
        out.write("Belum ada catatan unggahan.\n")
        return 0
    out.write("Catatan 1 — data/informasi yang diunggah (waktu nyata / waktu baku)\n")
    for s in summaries:
        out.write(f"#{s['id']} [{s['status']}] {s['title']}  ({(s['created_at'] or '')[:16]} WIB)\n")
        for no, info in s["steps"].items():
            std = info["standard_seconds"]
            flag = "  ⚠ melebihi waktu baku" if info["over_standard"] else ""
            who = f" oleh {info['actor']}" if info["actor"] else ""
            why = (
                f" — {info['reason']}"
                if info["reason"] and info["outcome"] in ("returned", "invalid")
                else ""
            )
            out.write(
                f"   {no:>2}. {info['label']}: {info['outcome']}{who}, "
                f"{_fmt_seconds(info['seconds'])} / {_fmt_seconds(std)}{flag}{why}\n"
            )
        for ch, info in s["channels"].items():
            out.write(f"       {ch}: {info['status']} {info.get('url') or ''}\n")
    return 0


def cmd_records_export(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    from sop_tasks.records.ledger import Ledger

    rows = _rows(Ledger(_ledger_url(args.db)).summaries())
    fields: list[str] = []
    for r in rows:
        fields += [k for k in r if k not in fields]
    writer = csv.DictWriter(out, fieldnames=fields or ["id"])
    writer.writeheader()
    writer.writerows(rows)
    return 0


def cmd_records_sweeps(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Proof of monitoring: each day's successful SOP sweeps; a working day with fewer than 3 is flagged."""
    from datetime import datetime

    from sop_tasks.records.inbox import Inbox
    from sop_tasks.records.ledger import Ledger

    cfg = load_config()
    days = Inbox(Ledger(_ledger_url(args.db))).days(cfg.tz, until=datetime.now(cfg.tz).date())
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


def cmd_records_incoming(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Record 2: every incoming item, its route and whether it was forwarded."""
    from sop_tasks.records.inbox import Inbox
    from sop_tasks.records.ledger import Ledger, to_wib
    from sop_tasks.render import plain_line

    inbox = Inbox(Ledger(_ledger_url(args.db)))
    forwarded = {f.item_id: f for f in inbox.forwards()}
    for i in inbox.items():
        f = forwarded.get(i.id)
        created = (to_wib(i.created_at) or i.created_at).isoformat()
        row: dict[str, Any] = {
            "id": i.id,
            "channel": i.channel,
            "platform_id": i.platform_id,
            "kind": i.kind,
            "author": i.author,
            "text": i.text,
            "created_at": created,
            "url": i.url,
            "bidang": i.bidang,
            "spam": i.spam,
            "reasons": i.reasons,
            "submission_id": i.submission_id,
            "sweep_id": i.sweep_id,
            "forwarded_at": (to_wib(f.forwarded_at) or f.forwarded_at).isoformat() if f else None,
        }
        if args.json:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            route = "SPAM" if i.spam else (i.bidang or "-")
            sent = "diteruskan" if f else ("tidak diteruskan" if i.spam else "belum diteruskan")
            out.write(
                f"#{i.id} [{i.channel}/{i.kind}] {created[:16]} {plain_line(i.author or '-', 30)}: "
                f"{plain_line(i.text, 70)} → {route} ({sent}); alasan: {'; '.join(i.reasons or [])}\n"
            )
    return 0


def cmd_route(args: argparse.Namespace) -> int:
    from sop_tasks.routing import main_route

    return main_route(args.text, args.json, sys.stdin, sys.stdout)


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
    exp = rsub.add_parser("export", help="ekspor catatan")
    exp.add_argument("--format", choices=["csv"], default="csv")
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
