"""What a verifier is shown and may answer (SOP steps 2–4), independent of Airflow."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sop_tasks.config import CHANNEL_NAMES
from sop_tasks.content import X_MAX_WEIGHTED, PreparedContent, x_weighted_length
from sop_tasks.render import inert_block, inert_inline, plain_line
from sop_tasks.sop import Step

OPTION_YES = "Ya — setujui"
OPTION_NO = "Tidak — kembalikan ke pengelola untuk direvisi"
OPTIONS = [OPTION_YES, OPTION_NO]
REASON_PARAM = "alasan"


@dataclass(frozen=True)
class UpdateInfo:
    """What a verifier of an update (SOP step 10) sees besides the new content."""

    update_of: int
    version: int
    reason: str
    diff: str
    notes: Sequence[str] = ()
    unchanged: Sequence[str] = ()


def is_yes(chosen: Sequence[str]) -> bool:
    return bool(chosen) and chosen[0].startswith("Ya")


def is_no(chosen: Sequence[str]) -> bool:
    return bool(chosen) and chosen[0].startswith("Tidak")


def subject(step: Step, content: PreparedContent, *, update: bool = False) -> str:
    what = "Pemutakhiran — " if update else ""
    return plain_line(f"Verifikasi langkah {step.number}: {what}{content.title}")


def _when(content: PreparedContent) -> str:
    at = content.publish_time()
    return "segera setelah disetujui Kepala Dinas" if at is None else at.strftime("%d-%m-%Y %H:%M WIB")


def body(
    step: Step,
    role_title: str,
    content: PreparedContent,
    *,
    submission_id: int,
    earlier: Sequence[tuple[str, str, datetime | None]] = (),
    update: UpdateInfo | None = None,
) -> str:
    """Markdown body of the approval: the full content, every piece of it rendered inert."""
    lines = [
        f"**Langkah {step.number} SOP — verifikasi oleh {role_title}.** "
        f"Waktu baku: {step.standard_minutes} menit.",
        "",
        f"Nomor pengajuan: **{submission_id}**"
        + (f" · revisi dari {inert_inline(content.revision_of)}" if content.revision_of else ""),
        "",
    ]
    if update is not None:
        lines += [
            f"**PEMUTAKHIRAN** pengajuan **{update.update_of}** yang sudah tayang — versi {update.version}.",
            "",
            "**Alasan pemutakhiran**",
            "",
            inert_block(update.reason),
            "",
            "**Yang terjadi di setiap kanal bila disetujui**",
            "",
            *(f"- {n}" for n in update.notes),  # our own words, no user text
            *(f"- {CHANNEL_NAMES[c]}: tidak berubah, tidak disentuh." for c in update.unchanged),
            "",
            "**Perubahan** (baris `-` dihapus, `+` ditambah)",
            "",
            inert_block(update.diff),
            "",
        ]
    lines += [
        "**Judul**",
        "",
        inert_block(content.title),
        "",
        "**Kanal:** " + ", ".join(CHANNEL_NAMES[c] for c in content.channels),
        "",
    ]
    if update is None:
        lines += [f"**Waktu tayang:** {_when(content)}", ""]
    if "website" in content.channels:
        lines += ["**Website — isi tulisan**", "", inert_block(content.body), ""]
    if "instagram" in content.channels:
        lines += [
            f"**Instagram — keterangan** ({len(content.caption_instagram)}/2200 karakter)",
            "",
            inert_block(content.caption_instagram),
            "",
        ]
    if "twitter" in content.channels:
        n = x_weighted_length(content.text_twitter)
        lines += [
            f"**X (Twitter) — teks** ({n}/{X_MAX_WEIGHTED} karakter berbobot)",
            "",
            inert_block(content.text_twitter),
            "",
        ]
    if content.media:
        lines += ["**Media**", ""]
        for m in content.media:
            dims = f", {m.width}×{m.height}" if m.width and m.height else ""
            lines.append(
                f"- {inert_inline(m.name)} ({m.kind} {m.format.upper()}{dims}, {m.size / 1024:.0f} KB)"
            )
        lines.append("")
    else:
        lines += ["**Media:** tidak ada", ""]
    if earlier:
        lines += ["**Verifikasi sebelumnya**", ""]
        for who, title, at in earlier:
            when = at.strftime("%d-%m-%Y %H:%M WIB") if at else ""
            lines.append(f"- Ya — {inert_inline(who)} ({title}) {when}")
        lines.append("")
    lines += [
        f"Pilih **{OPTION_YES}** bila konten layak diunggah, atau **{OPTION_NO}** "
        f"dan isi kolom *{REASON_PARAM}* dengan apa yang perlu diperbaiki.",
    ]
    return "\n".join(lines)
