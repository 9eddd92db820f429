"""Real media files for tests, made with Pillow (and a minimal MP4 header)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image


def make_jpeg(path: Path, size: tuple[int, int] = (640, 480), color: str = "navy") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, "JPEG", quality=85)
    return path


def make_png(path: Path, size: tuple[int, int] = (320, 320)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGBA", size, (200, 30, 30, 255)).save(path, "PNG")
    return path


def make_mp4(path: Path, payload: int = 2048) -> Path:
    """An ISO-BMFF file with an ftyp box (enough for type sniffing, like a real MP4 head)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ftyp = (24).to_bytes(4, "big") + b"ftypisom" + (512).to_bytes(4, "big") + b"isomiso2"
    path.write_bytes(ftyp + (8 + payload).to_bytes(4, "big") + b"mdat" + b"\0" * payload)
    return path
