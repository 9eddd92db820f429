"""The monthly report as HTML (Jinja2 templates staff can adjust) and as PDF (WeasyPrint).

Every number comes from :class:`~sop_tasks.reports.summary.MonthSummary`; the footer prints the
records' chain head so a printed report can be checked later (``sop records verify --kepala``).
Text from the public never reaches the report (it holds figures, official names and bidang names);
Jinja2 escapes everything anyway.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from sop_tasks.config import OfficeConfig
from sop_tasks.records.chain import ChainHead
from sop_tasks.reports.charts import Bar, bar_chart
from sop_tasks.reports.summary import MONTHS, MonthSummary, fmt_seconds

TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE, STYLESHEET = "laporan.html", "laporan.css"
# every Sweep.status (sop_tasks.monitor) and the calendar's own "missing"/"future"; an unknown
# status is printed as it is (the template's default), never a failed report
SLOT_MARKS = {
    "ok": "✓",
    "partial": "½",
    "failed": "✗",
    "running": "…",
    "no_channels": "○",
    "missing": "–",
    "future": "",
}


def template_dirs(cfg: OfficeConfig) -> list[Path]:
    """The office's own template folder first (``report.templates``), then the built-in one."""
    dirs = []
    if cfg.report.templates:
        own = Path(cfg.report.templates)
        dirs.append(own if own.is_absolute() else cfg.root / own)
    return [*dirs, TEMPLATES]


def _env(cfg: OfficeConfig) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in template_dirs(cfg)]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["durasi"] = fmt_seconds
    return env


def long_date(d: datetime) -> str:
    """``1 Desember 2026``."""
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def _weeks(ms: MonthSummary) -> list[list[Any]]:
    """The monitoring days as calendar weeks (Monday first), padded with None."""
    days = list(ms.monitoring.days)
    if not days:
        return []
    first = datetime.fromisoformat(days[0].date).weekday()
    cells: list[Any] = [None] * first + days
    cells += [None] * (-len(cells) % 7)
    return [cells[i : i + 7] for i in range(0, len(cells), 7)]


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _charts(ms: MonthSummary) -> dict[str, Markup]:
    steps = [
        Bar(
            _short(f"{s.step}. {s.label}", 34),
            100 * (s.durations.median_seconds or 0) / s.durations.standard_seconds,
            marker=100.0,
            late=(s.durations.median_seconds or 0) > s.durations.standard_seconds,
            text=f"{fmt_seconds(s.durations.median_seconds)} / {fmt_seconds(s.durations.standard_seconds)}",
        )
        for s in ms.steps
        if s.durations.count and s.durations.standard_seconds
    ]
    incoming = [Bar(c.label, c.count) for c in ms.incoming.by_channel] + [
        Bar(f"→ {c.label}", c.count) for c in ms.incoming.by_bidang
    ]
    return {
        # Markup: the SVG is built here with every label escaped
        "steps": Markup(  # noqa: S704
            bar_chart(
                steps,
                title="Median durasi tiap langkah, dalam persen waktu bakunya (median / waktu baku)",
                marker_label="garis: 100% = waktu baku (mutu baku); merah: median melebihi waktu baku",
            )
        ),
        "incoming": Markup(bar_chart(incoming, title="Informasi masuk per kanal dan per bidang")),  # noqa: S704
    }


def render_html(ms: MonthSummary, cfg: OfficeConfig, head: ChainHead) -> str:
    generated = datetime.fromisoformat(ms.generated_at)
    width, height = cfg.report.paper_mm
    bidang_name = None
    if ms.bidang:
        bidang_name = next((b.name for b in cfg.bidang if b.code == ms.bidang), ms.bidang)
    env = _env(cfg)
    css = env.get_template(STYLESHEET).render()
    return env.get_template(TEMPLATE).render(
        ms=ms,
        cfg=cfg,
        report=cfg.report,
        css=Markup(css),  # noqa: S704 — the office's own stylesheet file
        paper={"name": cfg.report.paper, "width": width, "height": height},
        chain=head,
        figures=ms.figures(),
        weeks=_weeks(ms),
        slot_marks=SLOT_MARKS,
        charts=_charts(ms),
        signed_on=long_date(generated),
        generated=f"{generated:%d-%m-%Y %H:%M} WIB",
        bidang_name=bidang_name,
        bidang_names={b.code: b.name for b in cfg.bidang},
    )


def _local_fetcher(cfg: OfficeConfig) -> Any:
    """A WeasyPrint URL fetcher that fetches nothing from the network.

    Only ``data:`` URLs and files inside the report's template folders (the office's own, then the
    built-in one) are read; anything else (``http:``, ``file:///etc/…``, a path out of the folders)
    is refused, so no text in a report, whatever its origin, can make the server fetch a URL.
    """
    from urllib.parse import unquote, urlparse

    from weasyprint.urls import URLFetcher

    roots = [d.resolve() for d in template_dirs(cfg)]

    class LocalOnly(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            scheme = urlparse(url).scheme.lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                path = Path(unquote(urlparse(url).path)).resolve()
                if any(path.is_relative_to(r) for r in roots):
                    return super().fetch(url, headers)
            raise ValueError(f"laporan tidak mengambil alamat dari luar folder templatnya: {url[:80]}")

    return LocalOnly(timeout=5, allow_redirects=False)


def render_pdf(ms: MonthSummary, cfg: OfficeConfig, head: ChainHead) -> bytes:
    from weasyprint import HTML

    pdf = HTML(
        string=render_html(ms, cfg, head),
        base_url=str(template_dirs(cfg)[0]),  # the office's own folder first: its images resolve there
        url_fetcher=_local_fetcher(cfg),
    ).write_pdf()
    assert pdf is not None
    return bytes(pdf)
