"""Real, playable MP4 videos for tests, encoded with the ffmpeg of ``imageio-ffmpeg`` (H.264).

The video is split into coloured thirds, so a test can tell which moment a cover frame was cut
from: the middle frame of :func:`make_video_mp4`'s default video is ``MIDDLE`` (green).
"""

from __future__ import annotations

from pathlib import Path

import imageio_ffmpeg
from PIL import Image, ImageStat

THIRDS: tuple[tuple[int, int, int], ...] = ((200, 30, 30), (30, 200, 30), (30, 30, 200))
MIDDLE = THIRDS[1]


def make_video_mp4(
    path: Path,
    size: tuple[int, int] = (144, 256),
    seconds: float = 3.0,
    fps: int = 10,
    colors: tuple[tuple[int, int, int], ...] = THIRDS,
) -> Path:
    """An H.264 MP4 of ``size`` (width, height; multiples of 16) and ``seconds``, one flat colour
    per equal part of its duration."""
    width, height = size
    frames = round(seconds * fps)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = imageio_ffmpeg.write_frames(
        str(path), (width, height), fps=fps, macro_block_size=16, ffmpeg_log_level="error"
    )
    writer.send(None)  # start ffmpeg
    try:
        for i in range(frames):
            color = colors[min(i * len(colors) // frames, len(colors) - 1)]
            writer.send(bytes(color) * (width * height))
    finally:
        writer.close()
    return path


def mean_color_of(image: Image.Image) -> tuple[int, int, int]:
    """The average RGB of an image (JPEG colours are approximate: compare with :func:`close_to`)."""
    r, g, b = (round(v) for v in ImageStat.Stat(image.convert("RGB")).mean)
    return r, g, b


def close_to(color: tuple[int, int, int], wanted: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(color, wanted, strict=True))
