"""The DAG run note: a short Markdown account of a submission, built from the records."""

from __future__ import annotations

from typing import Any

from sop_tasks.config import CHANNEL_NAMES
from sop_tasks.render import inert_block, inert_inline
from sop_tasks.update import ACTION_WORDS


def run_note(summary: dict[str, Any]) -> str:
    """Who decided what and when, and where each channel's result is. User text stays inert."""
    lines = [f"**Pengajuan #{summary['id']} — {summary['status']}**", ""]
    update = summary.get("update")
    if update:
        lines += [
            f"Pemutakhiran pengajuan #{update['of']}, versi {update['version']}. Alasan:",
            "",
            inert_block(update["reason"]),
            "",
        ]
    for no, info in summary["steps"].items():
        who = f" oleh {inert_inline(info['actor'])}" if info.get("actor") else ""
        outcome = {
            "valid": "valid",
            "invalid": "TIDAK VALID",
            "approved": "Ya",
            "returned": "Tidak (dikembalikan)",
            "published": "diunggah",
            "outbox": "outbox",
            "refused": "DITOLAK (persetujuan tidak lengkap)",
        }.get(info["outcome"], info["outcome"])
        lines.append(f"- Langkah {no} ({info['label']}): {outcome}{who}")
        if info.get("reason") and info["outcome"] in ("returned", "invalid", "refused"):
            lines += [
                "",
                "  Alasan:",
                "",
                *("  " + ln for ln in inert_block(info["reason"]).splitlines()),
                "",
            ]
    for ch, info in summary["channels"].items():
        name = CHANNEL_NAMES.get(ch, ch)
        if info["status"] == "outbox":
            where = inert_inline(info.get("url") or "")
            lines.append(f"- {name}: OUTBOX (koneksi belum diatur; tidak dipublikasikan) — {where}")
        elif info["status"] == "published":
            done = ACTION_WORDS[info.get("action") or "publish"]
            lines.append(f"- {name}: {done} — {info['url']}")
        else:
            lines.append(f"- {name}: {info['status']}")
    return "\n".join(lines)
