"""SOP step 10 — pemutakhiran: what changes in a published submission, per channel, and its diff.

The officer fills in only what changed; an empty field keeps the live version's value (texts the
channels derived from title and body are derived again from the new ones). The result is checked
by the same rules as a new upload, and only channels whose published content actually changes
are updated.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sop_tasks.config import CHANNEL_NAMES, CHANNELS, OfficeConfig
from sop_tasks.content import MediaFile, PreparedContent, discard_staged, fit_for_x, prepare
from sop_tasks.errors import ContentError

REASON_MIN = 5
# What a channel write did, as staff read it (records, run notes, logs).
ACTION_WORDS = {
    "publish": "diunggah",
    "update": "diperbarui di tempat",
    "reply": "balasan koreksi diunggah",
    "repost": "dihapus lalu diunggah ulang",
    "publish_live": "diunggah dari outbox",
}
XMode = Literal["reply", "repost"]


@dataclass(frozen=True)
class UpdatePlan:
    """An update ready for verification: the new content and what each channel will do."""

    content: PreparedContent  # ``channels`` = the channels that change
    diff: str
    reason: str
    unchanged: tuple[str, ...]  # chosen channels whose published content stays as it is
    notes: tuple[str, ...]  # per channel, what the update does there (shown to verifiers)


def _text(form: Mapping[str, Any], key: str) -> str:
    v = form.get(key)
    return "" if v is None else str(v).strip()


def _joined(title: str, body: str) -> str:
    return "\n\n".join(p for p in (title, body) if p)


def _list(form: Mapping[str, Any], key: str) -> list[str]:
    v = form.get(key) or []
    items = v.splitlines() if isinstance(v, str) else v
    return [str(x).strip() for x in items if str(x).strip()]


def merged_form(base: PreparedContent, form: Mapping[str, Any], channels: Sequence[str]) -> dict[str, Any]:
    """The full publish form of the new version: empty fields keep the live version's value."""
    caption = _text(form, "caption_instagram")
    if not caption and base.caption_instagram != _joined(base.title, base.body):
        caption = base.caption_instagram  # a caption written by hand stays until changed
    text_x = _text(form, "text_twitter")
    if not text_x and base.text_twitter != fit_for_x(_joined(base.title, base.body)):
        text_x = base.text_twitter
    return {
        "title": _text(form, "title") or base.title,
        "body": str(form.get("body") or "").strip() or base.body,
        "channels": list(channels),
        "caption_instagram": caption or None,
        "text_twitter": text_x or None,
        "media": _list(form, "media"),
    }


def _media_key(c: PreparedContent) -> list[str]:
    return [m.sha256 for m in c.media]


def changes(channel: str, old: PreparedContent, new: PreparedContent, x_mode: XMode) -> bool:
    """Whether ``channel``'s published content differs between two versions."""
    if channel == "website":
        return (old.title, old.body, _media_key(old)) != (new.title, new.body, _media_key(new))
    if channel == "instagram":  # only the caption can be edited on Instagram
        return old.caption_instagram != new.caption_instagram
    if channel == "twitter":
        if x_mode == "repost":
            return (old.text_twitter, _media_key(old)) != (new.text_twitter, _media_key(new))
        return old.text_twitter != new.text_twitter
    raise ValueError(f"unknown channel {channel!r}")


def as_lines(c: PreparedContent) -> list[str]:
    """A version as text, section by section, for a readable line diff."""
    lines = ["# Judul", c.title, "", "# Isi", *c.body.splitlines(), ""]
    lines += ["# Keterangan Instagram", *c.caption_instagram.splitlines(), ""]
    lines += ["# Teks X", *c.text_twitter.splitlines(), ""]
    lines += ["# Media", *(f"- {m.name} (sha256 {m.sha256[:12]})" for m in c.media)]
    return lines


def diff(old: PreparedContent, new: PreparedContent, *, old_version: int, new_version: int) -> str:
    return "\n".join(
        difflib.unified_diff(
            as_lines(old),
            as_lines(new),
            fromfile=f"versi {old_version}",
            tofile=f"versi {new_version}",
            lineterm="",
        )
    )


def note(channel: str, x_mode: XMode, media_changed: bool) -> str:
    name = CHANNEL_NAMES[channel]
    if channel == "website":
        return f"{name}: tulisan yang sama diubah di tempat (id dan tautan tetap)."
    if channel == "instagram":
        extra = " Media baru tidak dapat dipasang di Instagram; media kiriman tetap." if media_changed else ""
        return f"{name}: keterangan kiriman yang sama diubah.{extra}"
    if x_mode == "repost":
        return f"{name}: unggahan asli DIHAPUS lalu diunggah ulang dengan isi baru (tautan berubah)."
    return f"{name}: balasan koreksi dipasang pada unggahan asli (X tidak mengizinkan penyuntingan bebas)."


def plan(
    form: Mapping[str, Any],
    *,
    original_id: int,
    base: PreparedContent,
    base_version: int,
    next_version: int,
    live: Mapping[str, PreparedContent],
    cfg: OfficeConfig,
    staging: Path,
    stranded: Sequence[str] = (),
) -> UpdatePlan:
    """Check an update form; raise ContentError with every problem.

    ``base`` is the newest version live anywhere (empty fields keep its values, the diff is
    against it); ``live`` is what each channel the upload went to shows now, so a channel left
    out of an earlier update is still compared with its own older version. ``stranded`` are
    channels uploaded only to the outbox that now have a connection: there is no post to change.
    """
    problems: list[str] = []
    reason = _text(form, "reason")
    if len(reason) < REASON_MIN:
        problems.append(
            "Alasan pemutakhiran (reason) wajib diisi: tuliskan data apa yang berubah "
            f"(minimal {REASON_MIN} karakter)"
        )
    published = [c for c in CHANNELS if c in live and c not in stranded]
    names = ", ".join(CHANNEL_NAMES[c] for c in published) or "-"
    asked = _list(form, "channels")
    for c in (c for c in asked if c in stranded):
        problems.append(
            f"{CHANNEL_NAMES[c]}: pengajuan {original_id} dulu hanya ditulis ke outbox (koneksi belum "
            "diatur), jadi tidak ada kiriman yang dapat diperbarui; unggah sebagai konten baru lewat "
            "sop_publish"
        )
    outside = [c for c in asked if c not in live]
    if outside:
        problems.append(
            f"Kanal {', '.join(CHANNEL_NAMES.get(c, c) for c in outside)} tidak ada dalam unggahan "
            f"pengajuan {original_id} (diunggah ke: {names}); pilih dari kanal itu, atau unggah "
            "sebagai konten baru lewat sop_publish"
        )
    chosen = [c for c in CHANNELS if c in (asked or published) and c in published]
    if not asked and not published:
        problems.append(
            f"Pengajuan {original_id} tidak punya kiriman di platform yang dapat diperbarui (hanya outbox); "
            "unggah sebagai konten baru lewat sop_publish"
        )
    keep: list[MediaFile] | None = None
    if not _list(form, "media"):
        keep = list(base.media)
        missing = [m.name for m in keep if not Path(m.path).is_file()]
        if missing:
            problems.append(
                f"Media versi yang tayang tidak ditemukan lagi di folder staging ({', '.join(missing)}); "
                "isi ulang kolom 'media'"
            )
    try:
        new = prepare(merged_form(base, form, chosen or published or list(live)), cfg, staging, media=keep)
    except ContentError as exc:
        problems.extend(exc.problems)
        raise ContentError(problems) from None
    x_mode: XMode = cfg.follow_up.x_update
    changed = [c for c in chosen if changes(c, live[c], new, x_mode)]
    unchanged = tuple(c for c in chosen if c not in changed)
    if chosen and not changed:
        problems.append(
            f"Tidak ada yang berubah pada kanal {', '.join(CHANNEL_NAMES[c] for c in chosen)} dibanding "
            f"yang tayang sekarang (versi {base_version}); isi kolom yang ingin diubah"
        )
    if problems:
        if keep is None:  # media staged for this refused update: removed (the live version's stay)
            discard_staged(new.media, staging)
        raise ContentError(problems)
    content = PreparedContent(
        title=new.title,
        body=new.body,
        channels=tuple(changed),
        caption_instagram=new.caption_instagram,
        text_twitter=new.text_twitter,
        media=new.media,
    )
    notes = [note(c, x_mode, _media_key(live[c]) != _media_key(new)) for c in changed]
    notes += [
        f"{CHANNEL_NAMES[c]}: hanya ada di outbox (tanpa kiriman di platform); tidak disentuh."
        for c in stranded
        if c not in asked
    ]
    return UpdatePlan(
        content=content,
        diff=diff(base, new, old_version=base_version, new_version=next_version),
        reason=reason,
        unchanged=unchanged,
        notes=tuple(notes),
    )
