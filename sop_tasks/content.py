"""Content of a submission and its per-channel validation (SOP step 1).

``prepare(form, cfg)`` turns the raw trigger form into :class:`PreparedContent` — the exact texts
and media each channel will publish — or raises :class:`~sop_tasks.errors.ContentError` listing
every problem at once, in Bahasa Indonesia, so the officer can fix them in one go.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
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
from sop_tasks.media_fetch import FetchPolicy, FetchRefused, download

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
# Media sources one content may list (Instagram takes 10; the website a few more), checked before
# anything is downloaded so a long list cannot keep a worker busy or fill its disk.
MAX_MEDIA_SOURCES = 20
MAX_TITLE = 200
MAX_IMAGE_PIXELS = 50_000_000  # 50 megapixels: every real photo; a decompression bomb is far larger
VIDEO_PROBE_TIMEOUT_SECONDS = 120  # ffmpeg reading a video's header and first frame
PUBLISH_YEARS = (2000, 2099)

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


_STRICT_DECODE = threading.Lock()  # Pillow's truncated-image switch is process-wide


def _image_problem(path: Path) -> tuple[str, int, int] | str:
    """(format, width, height) of an image decoded in full, or why it cannot be accepted.

    The size in the header is checked before any pixel is decoded (a 30000×30000 PNG of 109 KB
    would need gigabytes), then every pixel is decoded (a truncated or corrupt file is refused
    here, not at upload).
    """
    from PIL import Image, ImageFile, UnidentifiedImageError

    unknown = (
        "bukan gambar atau video yang dikenali (isi berkas diperiksa, bukan namanya); "
        "pakai JPEG, PNG, MP4 atau MOV"
    )
    fmt = ""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                fmt = im.format or ""
                width, height = im.size
                if width * height > MAX_IMAGE_PIXELS:
                    return _too_many_pixels(width, height)
                im.verify()
            if fmt not in IMAGE_FORMATS:
                return f"format gambar {fmt} tidak diterima; simpan ulang sebagai JPEG atau PNG"
            with _STRICT_DECODE, Image.open(path) as im:
                # WeasyPrint (the monthly report) sets Pillow's process-wide LOAD_TRUNCATED_IMAGES
                # when imported, and a truncated JPEG then loads as grey: decode strictly here.
                saved, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
                try:
                    im.load()  # decode every pixel
                finally:
                    ImageFile.LOAD_TRUNCATED_IMAGES = saved
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))  # Pillow names the size, not the sides
        return _too_many_pixels(None, None, int(found.group(1)) if found else None)
    except UnidentifiedImageError:
        return unknown
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        if fmt in IMAGE_FORMATS:
            return (
                f"gambar {fmt} rusak atau terpotong dan tidak dapat dibuka seluruhnya "
                f"({type(exc).__name__}); simpan ulang atau ekspor ulang gambarnya"
            )
        return unknown
    return fmt, width, height


def _too_many_pixels(width: int | None, height: int | None, pixels: int | None = None) -> str:
    if width and height:
        size = f"{width}×{height} piksel"
    else:
        size = f"{pixels / 1_000_000:.0f} megapiksel" if pixels else "dengan ukuran piksel terlalu besar"
    return (
        f"gambar {size}, maksimal {MAX_IMAGE_PIXELS // 1_000_000} megapiksel; "
        "perkecil resolusinya (mis. 4096 piksel sisi terpanjang) lalu simpan ulang"
    )


def _video_problem(path: Path) -> str | None:
    """Why ffmpeg (from imageio-ffmpeg) cannot read the video and decode its first frame."""
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as exc:  # not installed / no binary: the server's problem, not the file's
        return (
            f"tidak dapat diperiksa: program ffmpeg tidak tersedia di server ({type(exc).__name__}); "
            "Pengelola TI: pasang ulang paket dari requirements.lock (imageio-ffmpeg)"
        )
    command = [exe, "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path)]
    command += ["-map", "0:v:0", "-frames:v", "1", "-f", "null", "-"]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=VIDEO_PROBE_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        return (
            f"pemeriksaan video melebihi {VIDEO_PROBE_TIMEOUT_SECONDS} detik; "
            "ekspor ulang sebagai MP4 (H.264)"
        )
    except OSError as exc:
        return f"tidak dapat diperiksa: program ffmpeg gagal dijalankan ({type(exc).__name__})"
    if done.returncode == 0:
        return None
    said = done.stderr.strip().splitlines()[-1][:160] if done.stderr.strip() else "tanpa keterangan"
    return (
        f"video tidak dapat dibaca ({said}); pakai video MP4 standar (H.264) yang dapat diputar, "
        "ekspor ulang bila perlu"
    )


def _too_big(label: str, kind: str, size: int) -> str | None:
    limit = MAX_VIDEO_BYTES if kind == "video" else MAX_IMAGE_BYTES
    if size <= limit:
        return None
    return f"{label}: {kind_name(kind)} {size / 2**20:.1f} MB, maksimal {limit // 2**20} MB"


def kind_name(kind: str) -> str:
    return "video" if kind == "video" else "gambar"


def _kind_of(head: bytes) -> str:
    return "video" if _sniff_video(head) else "image"


def inspect_media(path: Path, source: str) -> tuple[MediaFile | None, list[str]]:
    """Check a file by its content (not its extension). Returns the file or its problems.

    Images are decoded in full and videos probed with ffmpeg, so what the verifiers approve can
    be sent.
    """
    label = f"Media '{source}'"
    size = path.stat().st_size
    if size == 0:
        return None, [f"{label}: berkas kosong (0 byte)"]
    with path.open("rb") as fh:
        head = fh.read(16)
    video = _sniff_video(head)
    big = _too_big(label, _kind_of(head), size)
    if big:
        return None, [big]
    if video:
        problem = _video_problem(path)
        if problem:
            return None, [f"{label}: {problem}"]
        return MediaFile(source, str(path), "video", video, size, _sha256(path)), []
    image = _image_problem(path)
    if isinstance(image, str):
        return None, [f"{label}: {image}"]
    fmt, width, height = image
    return MediaFile(source, str(path), "image", IMAGE_FORMATS[fmt], size, _sha256(path), width, height), []


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


def stage_media(
    sources: Sequence[str], media_dir: Path, staging: Path, fetch: FetchPolicy | None = None
) -> tuple[list[MediaFile], list[str]]:
    """Copy (or download) each media source into ``staging`` and inspect it.

    A file refused on the way is removed from ``staging`` at once; local files are measured
    before they are copied (a huge file is refused without reading it).
    """
    files: list[MediaFile] = []
    problems: list[str] = []
    if len(sources) > MAX_MEDIA_SOURCES:  # before any download: each may take a minute and 100 MB
        return [], [
            f"Media: {len(sources)} berkas/alamat, maksimal {MAX_MEDIA_SOURCES} per konten; "
            "kurangi daftar 'media'"
        ]
    staging.mkdir(parents=True, exist_ok=True)
    root = media_dir.resolve()
    for i, src in enumerate(sources, 1):
        try:
            url = urlparse(src)
        except ValueError:  # "http://[::1/": an unclosed IPv6 bracket
            problems.append(f"Media '{src}': alamat tidak sah; periksa penulisannya")
            continue
        scheme = url.scheme.lower()
        if scheme in ("http", "https"):
            dest = staging / f"{i:02d}-{_safe_file_name(Path(url.path).name) or 'unduhan'}"
            try:
                download(src, dest, MAX_VIDEO_BYTES, fetch)
            except FetchRefused as exc:
                problems.append(str(exc))
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
            try:
                with candidate.open("rb") as fh:
                    big = _too_big(f"Media '{src}'", _kind_of(fh.read(16)), os.fstat(fh.fileno()).st_size)
                    if big:  # measured before copying: a 3 GB file is refused without reading it
                        problems.append(big)
                        continue
                    fh.seek(0)
                    with dest.open("wb") as out:
                        shutil.copyfileobj(fh, out, 1 << 20)
            except OSError as exc:
                dest.unlink(missing_ok=True)
                problems.append(
                    f"Media '{src}': berkas tidak dapat dibaca ({exc.strerror or type(exc).__name__}); "
                    "periksa izin berkas di folder media"
                )
                continue
        mf, errs = inspect_media(dest, src)
        problems.extend(errs)
        if mf:
            files.append(mf)
        else:
            dest.unlink(missing_ok=True)
    return files, problems


def _safe_file_name(name: str) -> str:
    return re.sub(r"[^\w.-]", "_", name)[:80].lstrip(".")


def discard_staged(media: Sequence[MediaFile], staging: Path) -> None:
    """Remove the files staged in ``staging`` for content that was refused (files elsewhere —
    the live version's media an update keeps — are left alone), and the folder when empty."""
    for m in media:
        path = Path(m.path)
        if path.parent == staging:
            path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        staging.rmdir()


def prepare(
    form: Mapping[str, Any],
    cfg: OfficeConfig,
    staging: Path,
    *,
    media: Sequence[MediaFile] | None = None,
    fetch: FetchPolicy | None = None,
) -> PreparedContent:
    """Validate the trigger form for every chosen channel; raise ContentError with all problems.

    ``media`` passes files already checked and staged (an update keeping the live media); the
    form's ``media`` field is then ignored. ``fetch``: the rules for media URLs (tests only; the
    default refuses every non-public address). When content is refused, the files staged for it
    are removed again.
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
            at = parse_publish_at(raw_at, cfg.tz)
        except (ValueError, OverflowError):  # OverflowError: 0001-01-01T00:00+14:00 in WIB
            problems.append(
                f"Waktu tayang (publish_at) '{raw_at}' tidak dapat dibaca; "
                "pakai format 2026-12-01T09:00 (WIB)"
            )
        else:
            if PUBLISH_YEARS[0] <= at.year <= PUBLISH_YEARS[1]:
                publish_at = at.isoformat()
            else:
                problems.append(
                    f"Waktu tayang (publish_at) '{raw_at}' di luar rentang tahun {PUBLISH_YEARS[0]}–"
                    f"{PUBLISH_YEARS[1]}; periksa tahunnya, mis. 2026-12-01T09:00 (WIB)"
                )

    if media is None:
        media, media_problems = stage_media(_list(form, "media"), cfg.path("media"), staging, fetch)
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
        discard_staged(media, staging)  # nothing of refused content stays behind
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
