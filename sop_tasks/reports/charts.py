"""Inline SVG charts for the monthly report (no JavaScript, no images: they print sharp on paper)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    marker: float | None = None  # e.g. the standard time, drawn as a tick across the bar
    late: bool = False  # drawn in the warning colour
    text: str | None = None  # what is written after the bar (default: the value)


def bar_chart(bars: Sequence[Bar], *, title: str, marker_label: str | None = None, width: int = 640) -> str:
    """A horizontal bar chart as an ``<svg>`` string (labels escaped)."""
    label_w, row_h, top = 210, 22, 28
    plot_w = width - label_w - 120  # room after the longest bar for its text
    height = top + row_h * max(len(bars), 1) + (24 if marker_label else 8)
    top_value = max([b.value for b in bars] + [b.marker or 0 for b in bars] + [1e-9])
    scale = plot_w / top_value
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{escape(title)}" font-family="Liberation Sans, Arial, sans-serif" '
        'font-size="11">',
        f'<text x="0" y="14" font-weight="bold" font-size="12">{escape(title)}</text>',
    ]
    if not bars:
        parts.append(f'<text x="0" y="{top + 12}" fill="#555">Tidak ada data bulan ini.</text>')
    for i, b in enumerate(bars):
        y = top + i * row_h
        w = max(b.value * scale, 0.5 if b.value else 0)
        colour = "#b3261e" if b.late else "#2f5d8a"
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(b.label)}</text>')
        parts.append(
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" fill="{colour}"/>'
        )
        if b.marker is not None:
            mx = label_w + b.marker * scale
            parts.append(
                f'<line x1="{mx:.1f}" y1="{y + 1}" x2="{mx:.1f}" y2="{y + row_h - 1}" '
                'stroke="#000" stroke-width="2"/>'
            )
        shown = b.text if b.text is not None else f"{b.value:g}"
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 14}">{escape(shown)}</text>')
    if marker_label:
        y = height - 8
        parts.append(
            f'<line x1="{label_w}" y1="{y - 4}" x2="{label_w}" y2="{y + 4}" stroke="#000" stroke-width="2"/>'
        )
        parts.append(f'<text x="{label_w + 6}" y="{y + 4}">{escape(marker_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
