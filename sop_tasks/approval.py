"""What a verifier is shown and may answer (SOP steps 2–4), independent of Airflow."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sop_tasks.config import CHANNEL_NAMES
from sop_tasks.content import (
    IG_MAX_CAPTION,
    IG_MAX_HASHTAGS,
    X_MAX_WEIGHTED,
    PreparedContent,
    hashtags,
    x_weighted_length,
)
from sop_tasks.render import inert_text, plain_line
from sop_tasks.sop import Step
from sop_tasks.update import as_lines

if TYPE_CHECKING:
    from sop_tasks.records.ledger import Ledger

OPTION_YES = "Ya — setujui"
OPTION_NO = "Tidak — kembalikan ke pengelola untuk direvisi"
OPTIONS = [OPTION_YES, OPTION_NO]
REASON_PARAM = "alasan"
IG_FEED_CHARS = 125  # what Instagram shows of a caption before "… lainnya"


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


@dataclass(frozen=True)
class RevisionInfo:
    """A revision (``revision_of``) of a returned submission: what changed since that version."""

    of_submission: int
    returned_by: str | None
    reason: str | None
    diff: str


def revision_info(
    ledger: Ledger, content: PreparedContent, *, dag_id: str = "sop_publish"
) -> RevisionInfo | None:
    """For a submission that revises a returned one, the returned version and the diff to it.

    ``revision_of`` is the run id of the returned run (the publish form says so); a run id that
    matches no recorded submission (mistyped) gives None, and the body says it was not found.
    """
    if not content.revision_of:
        return None
    old_id = ledger.submission_id(dag_id, content.revision_of)
    old = ledger.submission(old_id) if old_id is not None else None
    if old is None or not (old.content or {}).get("title"):
        return None
    try:
        before = PreparedContent.from_json(old.content)
    except (TypeError, KeyError):
        return None
    returned = [e for e in ledger.events(old.id) if e.event == "returned"]
    last = returned[-1] if returned else None
    text = "\n".join(
        difflib.unified_diff(
            as_lines(before),
            as_lines(content),
            fromfile=f"pengajuan {old.id} (dikembalikan)",
            tofile="revisi ini",
            lineterm="",
        )
    )
    return RevisionInfo(old.id, last.actor if last else None, last.reason if last else None, text)


def _diff_lines(diff: str) -> list[str]:
    """A unified diff as a Markdown list: each changed line marked in words, its text inert."""
    out = []
    for line in diff.splitlines():
        if line.startswith(("---", "+++", "@@")):
            continue
        if line.startswith("-"):
            out.append(f"- ➖ **dihapus:** {_inline(line[1:])}")
        elif line.startswith("+"):
            out.append(f"- ➕ **ditambah:** {_inline(line[1:])}")
    return out or ["- (tidak ada perubahan isi)"]


def _inline(text: str) -> str:
    return inert_text(text, quote=False).replace("\\\n", " ").replace("\n", " ") or "(baris kosong)"


def _x_preview(content: PreparedContent) -> list[str]:
    n = x_weighted_length(content.text_twitter)
    images = [m for m in content.media if m.kind == "image"][:4]
    videos = [m for m in content.media if m.kind == "video"][:1]
    attached = f"{len(images)} gambar" if images else (f"{len(videos)} video" if videos else "tanpa media")
    return [
        f"**X (Twitter) — pratinjau unggahan** ({n}/{X_MAX_WEIGHTED} karakter berbobot menurut X: "
        f"emoji dan huruf CJK dihitung 2, setiap tautan 23; {attached})",
        "",
        inert_text(content.text_twitter),
        "",
    ]


def _instagram_preview(content: PreparedContent) -> list[str]:
    cap = content.caption_instagram
    lines = [
        f"**Instagram — pratinjau keterangan** ({len(cap)}/{IG_MAX_CAPTION} karakter, "
        f"{len(hashtags(cap))}/{IG_MAX_HASHTAGS} tagar, {len(content.media)} media)",
        "",
    ]
    first = cap.split("\n", 1)[0]
    if len(cap) > IG_FEED_CHARS or "\n" in cap:
        lines += [
            f'*Terlihat di beranda sebelum "lainnya":* {_inline(first[:IG_FEED_CHARS])}…',
            "",
        ]
    return [*lines, inert_text(cap), ""]


def _website_preview(content: PreparedContent) -> list[str]:
    return [
        "**Website — pratinjau tulisan**",
        "",
        "> ### " + inert_text(content.title, quote=False).replace("\\\n", " ").replace("\n", " "),
        ">",
        inert_text(content.body),
        "",
    ]


def thumbnail_url(base: str, submission_id: int, index: int) -> str:
    """Our own app's thumbnail of media ``index`` of a submission (never a path from user text)."""
    return f"{base.rstrip('/')}/{int(submission_id)}/{int(index)}"


def _media(content: PreparedContent, submission_id: int, thumbnail_base: str | None) -> list[str]:
    if not content.media:
        return ["**Media:** tidak ada", ""]
    lines = ["**Media**", ""]
    for i, m in enumerate(content.media):
        dims = f", {m.width}×{m.height}" if m.width and m.height else ""
        lines.append(
            f"{i + 1}\\. {_inline(m.name)} ({m.kind} {m.format.upper()}{dims}, {m.size / 1024:.0f} KB)"
        )
        lines.append("")
        if m.kind == "image" and thumbnail_base:
            # Our URL (submission id + index), our alt text: nothing from the user goes in here.
            lines += [f"![Gambar {i + 1}]({thumbnail_url(thumbnail_base, submission_id, i)})", ""]
    return lines


def body(
    step: Step,
    role_title: str,
    content: PreparedContent,
    *,
    submission_id: int,
    earlier: Sequence[tuple[str, str, datetime | None]] = (),
    update: UpdateInfo | None = None,
    revision: RevisionInfo | None = None,
    thumbnail_base: str | None = None,
) -> str:
    """Markdown body of the approval: the full content as it will appear on each channel.

    Every piece of user text is escaped (:func:`~sop_tasks.render.inert_text`) so it wraps like
    prose yet nothing in it — link, image, HTML, heading — becomes live. The only image is our
    own thumbnail URL (``thumbnail_base`` + submission id + index).
    """
    lines = [
        f"**Langkah {step.number} SOP — verifikasi oleh {role_title}.** "
        f"Waktu baku: {step.standard_minutes} menit.",
        "",
        f"Nomor pengajuan: **{submission_id}**"
        + (f" · revisi dari {_inline(content.revision_of)}" if content.revision_of else ""),
        "",
    ]
    if content.revision_of:
        if revision is None:
            lines += [
                "**Revisi:** pengajuan yang dikembalikan dengan run ID itu tidak ditemukan di catatan; "
                "periksa isinya secara utuh.",
                "",
            ]
        else:
            who = f" oleh {_inline(revision.returned_by)}" if revision.returned_by else ""
            lines += [f"**Revisi dari pengajuan {revision.of_submission}**, yang dikembalikan{who}.", ""]
            if revision.reason:
                lines += ["*Alasan pengembalian:*", "", inert_text(revision.reason), ""]
            lines += ["**Yang berubah sejak versi yang dikembalikan**", "", *_diff_lines(revision.diff), ""]
    if update is not None:
        lines += [
            f"**PEMUTAKHIRAN** pengajuan **{update.update_of}** yang sudah tayang — versi {update.version}.",
            "",
            "**Alasan pemutakhiran**",
            "",
            inert_text(update.reason),
            "",
            "**Yang terjadi di setiap kanal bila disetujui**",
            "",
            *(f"- {n}" for n in update.notes),  # our own words, no user text
            *(f"- {CHANNEL_NAMES[c]}: tidak berubah, tidak disentuh." for c in update.unchanged),
            "",
            "**Perubahan**",
            "",
            *_diff_lines(update.diff),
            "",
        ]
    lines += [
        "**Judul**",
        "",
        inert_text(content.title),
        "",
        "**Kanal:** " + ", ".join(CHANNEL_NAMES[c] for c in content.channels),
        "",
    ]
    if update is None:
        lines += [f"**Waktu tayang:** {_when(content)}", ""]
    if "website" in content.channels:
        lines += _website_preview(content)
    if "instagram" in content.channels:
        lines += _instagram_preview(content)
    if "twitter" in content.channels:
        lines += _x_preview(content)
    lines += _media(content, submission_id, thumbnail_base)
    if earlier:
        lines += ["**Verifikasi sebelumnya**", ""]
        for who, title, at in earlier:
            when = at.strftime("%d-%m-%Y %H:%M WIB") if at else ""
            lines.append(f"- Ya — {_inline(who)} ({title}) {when}")
        lines.append("")
    lines += [
        f"Pilih **{OPTION_YES}** bila konten layak diunggah, atau **{OPTION_NO}** "
        f"dan isi kolom *{REASON_PARAM}* dengan apa yang perlu diperbaiki.",
    ]
    return "\n".join(lines)
