"""Content of a submission and its per-channel validation (SOP step 1).

``prepare(form, cfg)`` turns the raw trigger form into :class:`PreparedContent` — the exact texts
and media each channel will publish — or raises :class:`~sop_tasks.errors.ContentError` listing
every problem at once, in Bahasa Indonesia, so the officer can fix them in one go.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from sop_tasks.config import CHANNEL_NAMES, CHANNELS, OfficeConfig
from sop_tasks.errors import ContentError

X_MAX_WEIGHTED = 280
IG_MAX_CAPTION = 2200
IG_MAX_HASHTAGS = 30
IG_MAX_ITEMS = 10
X_MAX_IMAGES = 4
IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png"}
VIDEO_BRANDS = {"mp4": "mp4", "qt": "mov"}
MAX_IMAGE_BYTES = 8 * 1024 * 1024
X_MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_VIDEO_BYTES = 100 * 1024 * 1024
MAX_TITLE = 200
DOWNLOAD_TIMEOUT = 20

_HASHTAG = re.compile(r"(?<![\w&])[#＃](\w+)", re.UNICODE)
_ELLIPSIS = "…"


@dataclass(frozen=True)
class MediaFile:
    """One checked media file, copied to the staging folder (what is approved is what is sent)."""

    source: str
    path: str
    kind: str  # "image" | "video"
    format: str  # jpg | png | mp4 | mov
    size: int
    sha256: str
    width: int | None = None
    height: int | None = None

    @property
    def name(self) -> str:
        return Path(self.source).name if "://" not in self.source else Path(urlparse(self.source).path).name


@dataclass(frozen=True)
class PreparedContent:
    """What the verifiers see and the channels publish, exactly."""

    title: str
    body: str
    channels: tuple[str, ...]
    caption_instagram: str
    text_twitter: str
    media: tuple[MediaFile, ...] = ()
    publish_at: str | None = None  # ISO 8601 with offset, or None for "as soon as approved"
    revision_of: str | None = None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["channels"] = list(self.channels)
        d["media"] = [asdict(m) for m in self.media]
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> PreparedContent:
        data = dict(d)
        data["channels"] = tuple(data["channels"])
        data["media"] = tuple(MediaFile(**m) for m in data.get("media", ()))
        return cls(**data)

    def content_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()

    def publish_time(self) -> datetime | None:
        return datetime.fromisoformat(self.publish_at) if self.publish_at else None


def x_weighted_length(text: str) -> int:
    """X's weighted length: CJK/emoji count 2, every URL counts 23 (twitter-text rules)."""
    # Imported here: twitter_text costs ~0.3 s to import, and DAG files import this module.
    with warnings.catch_warnings():  # twitter_text imports pkg_resources, which warns
        warnings.simplefilter("ignore")
        from twitter_text import parse_tweet

    return int(parse_tweet(text).weightedLength)


def hashtags(text: str) -> list[str]:
    return _HASHTAG.findall(text)


def fit_for_x(text: str) -> str:
    """Shorten ``text`` to X's 280 weighted characters, ending with an ellipsis if cut."""
    if x_weighted_length(text) <= X_MAX_WEIGHTED:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # longest prefix that fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if x_weighted_length(text[:mid].rstrip() + _ELLIPSIS) <= X_MAX_WEIGHTED:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + _ELLIPSIS


def _str(form: Mapping[str, Any], key: str) -> str:
    v = form.get(key)
    return "" if v is None else str(v).strip()


def _list(form: Mapping[str, Any], key: str) -> list[str]:
    v = form.get(key)
    if v is None or v == "":
        return []
    if isinstance(v, str):
        return [p.strip() for p in re.split(r"[\n,]", v) if p.strip()]
    return [str(p).strip() for p in v if str(p).strip()]


# Line breaks, control characters and the bidi controls that reorder what is shown.
_TITLE_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _hidden_characters(text: str) -> str | None:
    """What makes ``text`` unfit for one line (a title, a subject): described for the officer."""
    found = _TITLE_FORBIDDEN.search(text)
    if not found:
        return None
    ch = found.group()
    what = "baris baru" if ch in "\n\r\u2028\u2029" else "karakter kendali/tersembunyi"
    return f"{what} (U+{ord(ch):04X} pada posisi {found.start() + 1})"


def parse_publish_at(raw: str, tz: ZoneInfo) -> datetime:
    """Parse a date-time from the form; a time without offset is WIB (the office's zone)."""
    dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return dt.replace(tzinfo=tz) if dt.tzinfo is None else dt.astimezone(tz)


def _sniff_video(head: bytes) -> str | None:
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12].decode("latin-1").strip().lower()
        if brand == "qt":
            return "mov"
        return "mp4"  # isom, mp41, mp42, avc1, M4V … are all MPEG-4
    return None


def inspect_media(path: Path, source: str) -> tuple[MediaFile | None, list[str]]:
    """Check a file by its content (not its extension). Returns the file or its problems."""
    label = f"Media '{source}'"
    size = path.stat().st_size
    if size == 0:
        return None, [f"{label}: berkas kosong (0 byte)"]
    with path.open("rb") as fh:
        head = fh.read(16)
    digest = _sha256(path)
    from PIL import Image, UnidentifiedImageError

    video = _sniff_video(head)
    if video:
        if size > MAX_VIDEO_BYTES:
            return None, [f"{label}: video {size / 2**20:.1f} MB, maksimal {MAX_VIDEO_BYTES // 2**20} MB"]
        return MediaFile(source, str(path), "video", video, size, digest), []
    try:
        with Image.open(path) as im:
            fmt = im.format or ""
            width, height = im.size
            im.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None, [
            f"{label}: bukan gambar atau video yang dikenali (isi berkas diperiksa, bukan namanya); "
            "pakai JPEG, PNG, MP4 atau MOV"
        ]
    if fmt not in IMAGE_FORMATS:
        return None, [f"{label}: format gambar {fmt} tidak diterima; simpan ulang sebagai JPEG atau PNG"]
    if size > MAX_IMAGE_BYTES:
        return None, [f"{label}: gambar {size / 2**20:.1f} MB, maksimal {MAX_IMAGE_BYTES // 2**20} MB"]
    return MediaFile(source, str(path), "image", IMAGE_FORMATS[fmt], size, digest, width, height), []


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def staged_problem(m: MediaFile) -> str | None:
    """What was approved is what is sent: why the staged file can no longer be sent, if it can't.

    Every channel checks this before uploading a file (missing, unreadable, or changed since the
    verifiers saw it).
    """
    path = Path(m.path)
    if not path.is_file():
        return f"Media '{m.name}' tidak ditemukan di folder staging ({path}); kirim ulang formulir"
    try:
        digest = _sha256(path)
    except OSError as exc:
        return (
            f"Berkas media '{m.name}' tidak dapat dibaca ({exc.strerror}); "
            "pastikan folder staging dapat dibaca worker lalu kirim ulang formulir"
        )
    if digest != m.sha256:
        return (
            f"Berkas media '{m.name}' berubah setelah diverifikasi; kirim ulang formulir agar "
            "diverifikasi lagi"
        )
    return None


def _download(url: str, dest: Path) -> str | None:
    """Fetch ``url`` into ``dest``; return a problem text or None."""
    import requests

    limit = MAX_VIDEO_BYTES
    try:
        with requests.get(url, stream=True, timeout=DOWNLOAD_TIMEOUT) as r:
            if r.status_code != 200:
                return f"Media '{url}': tidak dapat diunduh (HTTP {r.status_code}); periksa alamatnya"
            got = 0
            with dest.open("wb") as fh:
                for chunk in r.iter_content(1 << 16):
                    got += len(chunk)
                    if got > limit:
                        return f"Media '{url}': lebih dari {limit // 2**20} MB"
                    fh.write(chunk)
    except requests.RequestException as exc:
        return f"Media '{url}': tidak dapat diunduh ({type(exc).__name__}); periksa alamat dan jaringan"
    return None


def stage_media(sources: Sequence[str], media_dir: Path, staging: Path) -> tuple[list[MediaFile], list[str]]:
    """Copy (or download) each media source into ``staging`` and inspect it."""
    files: list[MediaFile] = []
    problems: list[str] = []
    staging.mkdir(parents=True, exist_ok=True)
    root = media_dir.resolve()
    for i, src in enumerate(sources, 1):
        scheme = urlparse(src).scheme.lower()
        if scheme in ("http", "https"):
            dest = staging / f"{i:02d}-{Path(urlparse(src).path).name or 'unduhan'}"
            problem = _download(src, dest)
            if problem:
                problems.append(problem)
                continue
        elif scheme:
            problems.append(f"Media '{src}': hanya alamat http(s) atau nama berkas di folder media")
            continue
        else:
            candidate = (root / src).resolve()
            if not candidate.is_relative_to(root):
                problems.append(f"Media '{src}': harus berada di dalam folder media {root}")
                continue
            if not candidate.is_file():
                problems.append(f"Media '{src}': berkas tidak ditemukan di folder media {root}")
                continue
            dest = staging / f"{i:02d}-{candidate.name}"
            shutil.copyfile(candidate, dest)
        mf, errs = inspect_media(dest, src)
        problems.extend(errs)
        if mf:
            files.append(mf)
    return files, problems


def prepare(
    form: Mapping[str, Any],
    cfg: OfficeConfig,
    staging: Path,
    *,
    media: Sequence[MediaFile] | None = None,
) -> PreparedContent:
    """Validate the trigger form for every chosen channel; raise ContentError with all problems.

    ``media`` passes files already checked and staged (an update keeping the live media); the
    form's ``media`` field is then ignored.
    """
    problems: list[str] = []
    title = _str(form, "title")
    body = str(form.get("body") or "").strip()
    channels = _list(form, "channels")
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        problems.append(f"Kanal tidak dikenal: {', '.join(unknown)}; pilih dari {', '.join(CHANNELS)}")
    disabled = [c for c in channels if c in CHANNELS and c not in cfg.channels]
    if disabled:
        problems.append(f"Kanal tidak aktif di konfigurasi kantor: {', '.join(disabled)}")
    channels = [c for c in CHANNELS if c in channels and c in cfg.channels]
    if not channels and not unknown and not disabled:
        problems.append("Pilih minimal satu kanal (website, instagram, twitter)")
    bad = _hidden_characters(title)
    if not title:
        problems.append("Judul (title) wajib diisi")
    elif bad:
        problems.append(
            f"Judul (title) berisi {bad}; tulis judul dalam satu baris tanpa karakter tersembunyi "
            "(judul menjadi subjek email dan nama unggahan)"
        )
    elif len(title) > MAX_TITLE:
        problems.append(f"Judul terlalu panjang ({len(title)} karakter, maksimal {MAX_TITLE})")
    if not body and "website" in channels:
        problems.append("Website: isi (body) wajib diisi")

    publish_at: str | None = None
    raw_at = _str(form, "publish_at")
    if raw_at:
        try:
            publish_at = parse_publish_at(raw_at, cfg.tz).isoformat()
        except ValueError:
            problems.append(
                f"Waktu tayang (publish_at) '{raw_at}' tidak dapat dibaca; "
                "pakai format 2026-12-01T09:00 (WIB)"
            )

    if media is None:
        media, media_problems = stage_media(_list(form, "media"), cfg.path("media"), staging)
    else:
        media, media_problems = list(media), []
    problems.extend(media_problems)
    images = [m for m in media if m.kind == "image"]
    videos = [m for m in media if m.kind == "video"]

    caption = _str(form, "caption_instagram") or "\n\n".join(p for p in (title, body) if p)
    if "instagram" in channels:
        ig = CHANNEL_NAMES["instagram"]
        if not media and not media_problems:
            problems.append(f"{ig}: perlu minimal satu gambar atau video di 'media'")
        if len(media) > IG_MAX_ITEMS:
            problems.append(f"{ig}: maksimal {IG_MAX_ITEMS} media per unggahan (sekarang {len(media)})")
        if len(caption) > IG_MAX_CAPTION:
            problems.append(
                f"{ig}: keterangan {len(caption)} karakter, maksimal {IG_MAX_CAPTION}; "
                "isi 'caption_instagram' yang lebih pendek"
            )
        n_tags = len(hashtags(caption))
        if n_tags > IG_MAX_HASHTAGS:
            problems.append(f"{ig}: {n_tags} tagar, maksimal {IG_MAX_HASHTAGS}")

    given_x = _str(form, "text_twitter")
    text_x = given_x or fit_for_x("\n\n".join(p for p in (title, body) if p))
    if "twitter" in channels:
        xn = CHANNEL_NAMES["twitter"]
        weighted = x_weighted_length(text_x)
        if not text_x:
            problems.append(f"{xn}: teks kosong; isi 'text_twitter' atau judul")
        elif weighted > X_MAX_WEIGHTED:
            problems.append(
                f"{xn}: teks {weighted} karakter berbobot, maksimal {X_MAX_WEIGHTED} "
                "(emoji dihitung 2, setiap tautan 23); persingkat 'text_twitter'"
            )
        if videos and (len(media) > 1):
            problems.append(f"{xn}: video tidak dapat digabung dengan media lain (maksimal 1 video)")
        if len(images) > X_MAX_IMAGES:
            problems.append(f"{xn}: maksimal {X_MAX_IMAGES} gambar (sekarang {len(images)})")
        big = [m.name for m in images if m.size > X_MAX_IMAGE_BYTES]
        if big:
            problems.append(f"{xn}: gambar lebih dari 5 MB tidak diterima: {', '.join(big)}")

    if problems:
        raise ContentError(problems)
    return PreparedContent(
        title=title,
        body=body,
        channels=tuple(channels),
        caption_instagram=caption,
        text_twitter=text_x,
        media=tuple(media),
        publish_at=publish_at,
        revision_of=_str(form, "revision_of") or None,
    )
