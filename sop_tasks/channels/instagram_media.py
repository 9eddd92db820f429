"""Instagram media, prepared before any request: staging and video covers (ffmpeg).

instagrapi routes a file by its suffix and, for a video, wants a cover image it would otherwise
cut with MoviePy — which cannot be installed beside instagrapi's pillow (see requirements.txt).
So before anything is sent:

- :func:`stage` links (or copies) each approved file under the suffix of its real format, after
  checking it is still the file that was approved;
- :func:`prepare_videos` reads each video with instagrapi's own MP4 parser and cuts its cover
  frame with the ffmpeg binary of the ``imageio-ffmpeg`` wheel (:func:`cut_cover`), so a video
  that cannot be read is refused naming the file, not half-way through an upload;
- :func:`album_video_covers` hands those covers to ``album_upload`` for the duration of one upload.

Every failure is a :mod:`sop_tasks.errors` channel error with an Indonesian message.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sop_tasks.content import MediaFile, staged_problem
from sop_tasks.errors import ActionRequiredError, RejectedContentError, TransientChannelError
from sop_tasks.render import plain_line

if TYPE_CHECKING:  # instagrapi costs ~0.35 s to import; DAG parsing must not pay for it
    from instagrapi import Client

CHANNEL = "instagram"
COVER_TIMEOUT_SECONDS = 120  # ffmpeg cutting one cover frame (a 100 MB video takes well under 1 s)
_SUFFIX = {"jpg": ".jpg", "png": ".png", "mp4": ".mp4", "mov": ".mp4"}  # instagrapi routes by suffix


def _short(text: object, limit: int = 200) -> str:
    return plain_line(str(text or ""), limit)  # platform/tool text shown to staff: one clean line


def stage(m: MediaFile, tmp: Path, i: int) -> Path:
    """A link (or copy) of a media file, named with the suffix instagrapi routes its real format by."""
    problem = staged_problem(m)  # what was approved is what is sent
    if problem:
        raise RejectedContentError(CHANNEL, problem)
    src = Path(m.path)
    dest = tmp / f"{i:02d}{_SUFFIX.get(m.format, src.suffix.lower() or '.jpg')}"
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)
    return dest


def prepare_videos(items: list[MediaFile], paths: list[Path]) -> dict[Path, Path]:
    """Read each video's size and duration and cut its cover frame now, before any request.

    A video that cannot be read or decoded is refused here, naming the file, instead of failing
    half-way through an upload. Returns each video's cover (a JPEG beside it), which the upload
    passes to instagrapi so it never needs MoviePy (see :func:`cut_cover`).
    """
    from instagrapi.mixins.clip import crop_thumbnail
    from instagrapi.utils.video import read_video_metadata

    covers: dict[Path, Path] = {}
    for m, path in zip(items, paths, strict=True):
        if m.kind != "video":
            continue
        try:
            meta = read_video_metadata(path)  # instagrapi's own MP4 parser: what it will send
        except Exception as exc:
            raise _bad_video(m, f"{type(exc).__name__}: {_short(exc, 160)}") from None
        cover = path.with_name(f"{path.name}.jpg")
        cut_cover(m, path, cover, meta.duration / 2)
        if len(items) == 1:
            crop_thumbnail(cover)  # a reel's cover is 9:16, as instagrapi makes it itself
        covers[path] = cover
    return covers


def _bad_video(m: MediaFile, detail: str) -> RejectedContentError:
    return RejectedContentError(
        CHANNEL,
        f"Video '{m.name}' tidak dapat dibaca untuk Instagram ({detail}). Pakai video MP4 standar "
        "(H.264) yang dapat diputar, ekspor ulang bila perlu, lalu kirim ulang formulir; atau unggah "
        "video ini dari aplikasi Instagram.",
    )


def ffmpeg_exe() -> str:
    """The ffmpeg binary shipped in the ``imageio-ffmpeg`` wheel (or ``IMAGEIO_FFMPEG_EXE``)."""
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception as exc:
        raise _no_ffmpeg(exc) from None


def _no_ffmpeg(exc: BaseException) -> ActionRequiredError:
    return ActionRequiredError(
        CHANNEL,
        f"Program ffmpeg untuk membuat sampul video Instagram tidak tersedia di server "
        f"({type(exc).__name__}). Pengelola TI: pasang ulang paket dari requirements.lock "
        "(imageio-ffmpeg) atau perbaiki IMAGEIO_FFMPEG_EXE, lalu jalankan ulang tugas.",
    )


def cut_cover(m: MediaFile, video: Path, cover: Path, at: float) -> None:
    """Write the frame at ``at`` seconds of ``video`` as the JPEG ``cover`` with ffmpeg.

    instagrapi would do this with MoviePy, which cannot be installed beside instagrapi's pillow
    (see requirements.txt). Decoding a frame also proves the video is readable. Falls back to the
    first frame when the middle one cannot be had (a duration in the header longer than the video).
    """
    exe = ffmpeg_exe()
    said = ""
    for seek in dict.fromkeys((max(at, 0.0), 0.0)):
        cover.unlink(missing_ok=True)
        command = [exe, "-hide_banner", "-loglevel", "error", "-nostdin", "-ss", f"{seek:.3f}"]
        command += ["-i", str(video), "-frames:v", "1", "-q:v", "2", "-y", str(cover)]
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=COVER_TIMEOUT_SECONDS,
                check=False,
            )
        except OSError as exc:  # not there, not executable
            raise _no_ffmpeg(exc) from None
        except subprocess.TimeoutExpired:
            raise TransientChannelError(
                CHANNEL,
                f"Membuat sampul video '{m.name}' melebihi {COVER_TIMEOUT_SECONDS} detik (server sibuk?); "
                "akan dicoba lagi.",
            ) from None
        if done.returncode == 0 and cover.is_file() and cover.stat().st_size:
            return
        said = _short(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "", 160)
    raise _bad_video(m, f"ffmpeg: {said or 'tidak ada bingkai gambar'}")


@contextmanager
def album_video_covers(client: Client, covers: dict[Path, Path]) -> Iterator[None]:
    """Give ``album_upload`` the covers already cut: it asks ``video_rupload`` for each video
    without one (and instagrapi would then need MoviePy). Only this client, only meanwhile."""
    original = client.video_rupload

    def rupload(path: Path, thumbnail: Path | None = None, *args: Any, **kwargs: Any) -> Any:
        return original(path, thumbnail or covers.get(Path(path)), *args, **kwargs)

    setattr(client, "video_rupload", rupload)  # noqa: B010 (mypy: a method is not assignable)
    try:
        yield
    finally:
        delattr(client, "video_rupload")
