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


def make_png_bomb(path: Path, side: int = 30000) -> Path:
    """A valid 1-bit PNG of ``side``×``side`` pixels, all black: ~109 KB on disk for 30000, but
    900 megapixels (gigabytes) once decoded. Written row by row, never held in memory."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\0" * (1 + (side + 7) // 8)  # filter byte + packed bits
    z = zlib.compressobj(9)
    data = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    path.parent.mkdir(parents=True, exist_ok=True)
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    return path
