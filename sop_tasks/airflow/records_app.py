""" "Catatan SOP": the records and the month's SOP figures inside the Airflow UI (a plugin app).

Mounted by ``plugins/sop_plugin.py`` under :data:`~sop_tasks.airflow.records_paths.PREFIX` and
listed in Browse. Airflow does not protect a plugin app: every route here resolves the user the
way ``airflow.api_fastapi.core_api.security.get_user`` does (``Authorization: Bearer`` header,
else the ``_token`` cookie), through ``get_auth_manager()``; a page asked for without a login
redirects to the login page, the JSON API and thumbnails answer 401.

Who sees what follows the office config: the officer, the verifiers and an admin see everything;
a bidang user sees its own bidang's incoming items and follow-ups (records 2 and 3) and the
bidang part of the summary; anyone else is refused (403). Every figure comes from the one query
layer (:mod:`sop_tasks.reports.summary`) the PDF, the XLSX and the CLI also read.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from jinja2 import Environment, FileSystemLoader, select_autoescape

from sop_tasks.airflow.records_paths import PREFIX, base_path
from sop_tasks.config import CHANNEL_NAMES, OfficeConfig, load_config
from sop_tasks.records.ledger import Ledger

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates" / "catatan"
RESOURCE_NAME = "Catatan SOP"
PAGE_SIZE = 500
THUMB_MAX = 480  # pixels, the longer side
RECORD_TITLES = {
    1: "Catatan 1 — Data/informasi yang diunggah",
    2: "Catatan 2 — Data/informasi yang masuk",
    3: "Catatan 3 — Tindak lanjut",
}
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'self'; base-uri 'none'"
)


class NotLoggedIn(Exception):
    """No valid Airflow login on the request (no token, expired, or not a valid JWT)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Viewer:
    """Who is looking, and what the office config lets them see."""

    name: str
    everything: bool
    bidang: tuple[str, ...] = ()  # the bidang a bidang user belongs to

    def may_see_bidang(self, code: str | None) -> bool:
        return self.everything or (code is not None and code in self.bidang)


def scope_of(cfg: OfficeConfig, name: str, *, admin: bool = False) -> Viewer | None:
    """What ``name`` may see: everything (officer, verifier, admin), its bidang, or nothing."""
    everyone = set(cfg.officers.users) | {u for v in cfg.verifiers for u in v.users}
    if admin or name in everyone:
        return Viewer(name, True)
    own = tuple(b.code for b in cfg.bidang if name in b.users)
    return Viewer(name, False, own) if own else None


def _is_admin(user: Any) -> bool:
    role = getattr(user, "role", None)
    return isinstance(role, str) and role.upper() == "ADMIN"


# ---- authentication and authorisation ---------------------------------------------------------
async def _airflow_user(request: Request) -> Any:
    """The Airflow user of the request, resolved exactly as the core API does."""
    from airflow.api_fastapi.core_api.security import bearer_scheme, get_user

    credentials: HTTPAuthorizationCredentials | None = await bearer_scheme(request)
    try:
        return await get_user(request, None, credentials)
    except HTTPException as exc:
        raise NotLoggedIn(str(exc.detail)) from None


async def current_viewer(request: Request, user: Any = Depends(_airflow_user)) -> Viewer:  # noqa: B008
    from airflow.api_fastapi.app import get_auth_manager

    if not get_auth_manager().is_authorized_custom_view(method="GET", resource_name=RESOURCE_NAME, user=user):
        raise HTTPException(403, "Akun ini tidak berhak membuka Catatan SOP.")
    viewer = scope_of(_config(), user.get_name(), admin=_is_admin(user))
    if viewer is None:
        raise HTTPException(
            403,
            f"Akun '{user.get_name()}' tidak tercantum di konfigurasi kantor (pengelola, verifikator "
            "atau bidang), jadi tidak ada catatan yang boleh ditampilkan. Minta admin menambahkannya "
            "di config/office.yaml.",
        )
    return viewer


# ---- shared state ---------------------------------------------------------------------------------
def _config() -> OfficeConfig:
    return load_config()


@lru_cache(maxsize=4)
def _ledger_for(url: str) -> Ledger:
    return Ledger(url)


def ledger() -> Ledger:
    from sop_tasks.airflow.ledger import ledger_url_in_server

    return _ledger_for(ledger_url_in_server())


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["durasi"] = durasi
    env.filters["waktu"] = waktu
    env.filters["safe_url"] = safe_url
    return env


def durasi(seconds: float | None) -> str:
    """Seconds as people read them: "45 dtk", "12 mnt", "3 j 5 mnt", "2 hr 4 j"."""
    if seconds is None:
        return "—"
    s = round(seconds)
    if s < 60:
        return f"{s} dtk"
    m = s // 60
    if m < 60:
        return f"{m} mnt"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h} j {m} mnt" if m else f"{h} j"
    d, h = divmod(h, 24)
    return f"{d} hr {h} j" if h else f"{d} hr"


def waktu(iso: str | None) -> str:
    """An ISO time (WIB) as ``30-11-2026 09:15``."""
    if not iso:
        return "—"
    try:
        return datetime.fromisoformat(iso).strftime("%d-%m-%Y %H:%M")
    except ValueError:
        return iso


def safe_url(url: str | None) -> str | None:
    """A link target only when it is http(s); anything else (javascript:, file:, data:) is text."""
    if not url:
        return None
    parsed = urlparse(url.strip())
    return url.strip() if parsed.scheme in ("http", "https") and parsed.netloc else None


def _period(bulan: str | None, cfg: OfficeConfig) -> tuple[int, int]:
    from sop_tasks.reports.summary import PeriodError, parse_month

    if not bulan:
        now = datetime.now(UTC).astimezone(cfg.tz)
        return now.year, now.month
    try:
        return parse_month(bulan)
    except PeriodError as exc:
        raise HTTPException(400, f"Bulan tidak sah: {exc}") from None


def _choice(value: str | None, allowed: list[str], what: str) -> str | None:
    if not value:
        return None
    if value not in allowed:
        raise HTTPException(400, f"{what} '{value}' tidak dikenal; pilih salah satu: {', '.join(allowed)}")
    return value


def _bidang_for(viewer: Viewer, asked: str | None, cfg: OfficeConfig) -> str | None:
    """The bidang a request is limited to: a bidang user's own, whatever else was asked."""
    codes = [b.code for b in cfg.bidang]
    asked = _choice(asked, codes, "Bidang")
    if viewer.everything:
        return asked
    if asked is not None and asked not in viewer.bidang:
        raise HTTPException(403, f"Akun '{viewer.name}' hanya boleh melihat catatan bidangnya sendiri.")
    return asked or viewer.bidang[0]


def _ui(path: str | None) -> str | None:
    """An Airflow UI path (``/dags/…``) under the UI's base path."""
    return None if not path else f"{base_path()}{path}"


# ---- the month summary ----------------------------------------------------------------------------
BIDANG_FIGURES = {
    "Informasi masuk",
    "Spam",
    "Tindak lanjut",
    "Dibalas",
    "Tidak perlu dibalas",
    "Diteruskan ke bidang lain",
    "Menunggu tindak lanjut",
    "PPID berjalan",
    "PPID diperpanjang",
    "PPID lewat batas",
}
BIDANG_STEPS = {7, 8, 9}


_SUMMARIES: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_SUMMARIES_LOCK = threading.Lock()
SUMMARY_CACHE_SIZE = 32


def _month_summary(cfg: OfficeConfig, year: int, month: int, bidang: str | None) -> Any:
    """``month_summary`` of the query layer, kept while the records are unchanged.

    The key holds the hash chain's head, which moves with every row written anywhere in the
    records, and today's date (PPID clocks and the sweep calendar are read as of today): a cached
    month is never stale, and looking at the same month again costs one small query.
    """
    from sop_tasks.records import chain
    from sop_tasks.reports.summary import month_summary

    led = ledger()
    head = chain.head(led.engine)
    today = datetime.now(UTC).astimezone(cfg.tz).date()
    key = (str(led.engine.url), year, month, bidang, head.seq, head.hash, today)
    with _SUMMARIES_LOCK:
        if key in _SUMMARIES:
            _SUMMARIES.move_to_end(key)
            return _SUMMARIES[key]
    summary = month_summary(led, year, month, cfg, bidang=bidang)
    with _SUMMARIES_LOCK:
        _SUMMARIES[key] = summary
        while len(_SUMMARIES) > SUMMARY_CACHE_SIZE:
            _SUMMARIES.popitem(last=False)
    return summary


REPORT_TIMEOUT = 900  # seconds: a month's PDF takes ~35 s on this 2-core machine under load 16
_REPORTS: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
REPORT_CACHE_SIZE = 8


def report_bytes(cfg: OfficeConfig, year: int, month: int, fmt: str, bidang: str | None) -> bytes:
    """The month's PDF or XLSX, built in a child process and kept while the records are unchanged.

    Not in the api-server's own process: WeasyPrint is CPU-bound for tens of seconds (minutes on a
    loaded machine) and held the one api-server worker's interpreter meanwhile, so the tasks'
    execution API calls timed out and tasks failed. Keyed like :func:`_month_summary`.
    """
    from sop_tasks.records import chain
    from sop_tasks.reports.monthly import LEDGER_URL_ENV

    led = ledger()
    head = chain.head(led.engine)
    today = datetime.now(UTC).astimezone(cfg.tz).date()
    key = (str(led.engine.url), year, month, fmt, bidang, head.seq, head.hash, today)
    with _SUMMARIES_LOCK:
        if key in _REPORTS:
            _REPORTS.move_to_end(key)
            return _REPORTS[key]
    env = {**os.environ, LEDGER_URL_ENV: led.engine.url.render_as_string(hide_password=False)}
    cmd = [
        sys.executable,
        "-m",
        "sop_tasks.reports.monthly",
        f"{year:04d}-{month:02d}",
        fmt,
        *([bidang] if bidang else []),
    ]
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, timeout=REPORT_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise HTTPException(
            503,
            f"Laporan belum selesai dibuat setelah {REPORT_TIMEOUT // 60} menit (server sedang sibuk). "
            "Coba unduh lagi nanti, atau minta pengelola TI membuatnya di server dengan: "
            f"sop laporan --bulan {year:04d}-{month:02d} --format {fmt}",
        ) from None
    if done.returncode != 0 or not done.stdout:
        log.error(
            "laporan %s-%02d %s gagal dibuat: %s",
            year,
            month,
            fmt,
            done.stderr.decode(errors="replace")[-4000:],
        )
        raise HTTPException(
            500,
            "Laporan gagal dibuat. Minta pengelola TI melihat log api-server (baris 'laporan … gagal "
            "dibuat') atau membuatnya di server dengan: "
            f"sop laporan --bulan {year:04d}-{month:02d} --format {fmt}",
        )
    with _SUMMARIES_LOCK:
        _REPORTS[key] = done.stdout
        while len(_REPORTS) > REPORT_CACHE_SIZE:
            _REPORTS.popitem(last=False)
    return done.stdout


def summary_view(
    viewer: Viewer, cfg: OfficeConfig, year: int, month: int, bidang: str | None
) -> dict[str, Any]:
    """What the summary page and its JSON show this viewer (a bidang user: its bidang's part)."""
    summary = _month_summary(cfg, year, month, bidang)
    data = summary.to_json()
    figures = summary.figures()
    if not viewer.everything:
        figures = [(k, v) for k, v in figures if k in BIDANG_FIGURES]
        data = {
            k: v
            for k, v in data.items()
            if k not in ("submissions", "monitoring") and not k.startswith("extra")
        }
        data["steps"] = [s for s in data["steps"] if s["step"] in BIDANG_STEPS]
    data["figures"] = [{"label": k, "value": v} for k, v in figures]
    return data


def _calendar(monitoring: dict[str, Any]) -> list[list[dict[str, Any] | None]]:
    """The month's days as weeks (Monday first), for the sweep calendar."""
    weeks: list[list[dict[str, Any] | None]] = []
    week: list[dict[str, Any] | None] = []
    for day in monitoring["days"]:
        wd = datetime.fromisoformat(day["date"]).weekday()
        if not week:
            week = [None] * wd
        week.append(day)
        if wd == 6:
            weeks.append(week)
            week = []
    if week:
        weeks.append(week + [None] * (7 - len(week)))
    return weeks


# ---- records ---------------------------------------------------------------------------------------
STATUS_CHOICES = {
    1: [
        "tidak valid",
        "dikembalikan",
        "menunggu verifikasi",
        "disetujui",
        "diunggah",
        "diperbarui",
        "outbox",
        "gagal unggah",
    ],
    2: ["spam", "diteruskan", "belum diteruskan", "belum dirute"],
    3: ["reply", "no_reply", "reroute", "reply_returned", "menunggu tindak lanjut"],
}
# Event and channel words of the records, as staff read them.
WORDS = {
    "approved": "disetujui",
    "returned": "dikembalikan",
    "requested": "menunggu",
    "answered": "dijawab",
    "reminded": "diingatkan",
    "valid": "valid",
    "invalid": "tidak valid",
    "published": "tayang",
    "outbox": "outbox",
    "intent": "sedang diunggah",
    "failed": "gagal",
    "update": "diubah di tempat",
    "reply": "balasan koreksi",
    "repost": "diunggah ulang",
}
STATUS_LABELS = {
    "reply": "dibalas",
    "no_reply": "tidak perlu dibalas",
    "reroute": "diteruskan ke bidang lain",
    "reply_returned": "balasan dikembalikan",
}


def _versions(rows: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """Per record-1 submission, its versions (step 10) with diff and reason, oldest first."""
    from sqlalchemy import select

    from sop_tasks.records.models import ContentVersion

    ids = [r["id"] for r in rows]
    out: dict[int, list[dict[str, Any]]] = {}
    if not ids:
        return out
    with ledger().session() as s:
        for v in s.scalars(
            select(ContentVersion)
            .where(ContentVersion.submission_id.in_(ids))
            .order_by(ContentVersion.version, ContentVersion.id)
        ):
            out.setdefault(v.submission_id, []).append(
                {
                    "version": v.version,
                    "update_submission_id": v.update_submission_id,
                    "reason": v.reason,
                    "diff": diff_lines(v.diff),
                    "created_at": v.created_at.replace(tzinfo=UTC).astimezone(_config().tz).isoformat(),
                }
            )
    return out


def diff_lines(diff: str) -> list[tuple[str, str]]:
    """A unified diff as (kind, text) lines: ``add``, ``del``, ``hunk`` or ``same``."""
    out = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            continue
        kind = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "same")
        out.append((kind, line))
    return out


def records_view(
    viewer: Viewer,
    cfg: OfficeConfig,
    record: int,
    *,
    year: int,
    month: int,
    channel: str | None,
    bidang: str | None,
    status: str | None,
) -> list[dict[str, Any]]:
    from sop_tasks.reports.summary import record_rows

    if record not in RECORD_TITLES:
        raise HTTPException(404, "Catatan itu tidak ada; pilih 1, 2 atau 3.")
    if record == 1 and not viewer.everything:
        raise HTTPException(
            403,
            "Catatan 1 (unggahan kantor) hanya untuk pengelola dan verifikator; "
            "bidang melihat catatan 2 dan 3.",
        )
    channel = _choice(channel, list(cfg.channels), "Kanal")
    status = _choice(status, STATUS_CHOICES[record], "Status")
    rows = record_rows(
        ledger(), record, year=year, month=month, cfg=cfg, channel=channel, bidang=bidang, status=status
    )
    if not viewer.everything:  # the query layer limits by bidang; never show another's row anyway
        rows = [r for r in rows if viewer.may_see_bidang(r.get("bidang"))]
    return rows


# ---- thumbnails ------------------------------------------------------------------------------------
@lru_cache(maxsize=256)
def _thumbnail(path: str, sha256: str) -> tuple[bytes, str]:
    from PIL import Image

    with Image.open(path) as im:
        im.thumbnail((THUMB_MAX, THUMB_MAX))
        out = io.BytesIO()
        if im.mode in ("RGBA", "LA", "P"):
            im.convert("RGBA").save(out, "PNG", optimize=True)
            return out.getvalue(), "image/png"
        im.convert("RGB").save(out, "JPEG", quality=82)
        return out.getvalue(), "image/jpeg"


def thumbnail(submission_id: int, index: int, cfg: OfficeConfig) -> tuple[bytes, str]:
    """The thumbnail of image ``index`` of a submission, from the staged (approved) file.

    Addressed by submission id and index only; the file is the one the record names, and it must
    lie under the staging folder and still have the checksum the verifiers approved.
    """
    from sop_tasks.content import MediaFile, staged_problem

    sub = ledger().submission(submission_id)
    media = list(((sub.content or {}) if sub else {}).get("media") or [])
    if sub is None or not 0 <= index < len(media):
        raise HTTPException(404, "Gambar itu tidak ada di catatan.")
    try:
        m = MediaFile(**media[index])
    except TypeError:
        raise HTTPException(404, "Gambar itu tidak ada di catatan.") from None
    if m.kind != "image":
        raise HTTPException(404, "Media itu bukan gambar (video tidak punya gambar kecil).")
    staging = cfg.path("staging")
    path = Path(m.path).resolve()
    if not path.is_relative_to(staging):
        raise HTTPException(404, "Gambar itu tidak berada di folder staging.")
    problem = staged_problem(m)
    if problem:
        raise HTTPException(410, problem)
    return _thumbnail(str(path), m.sha256)


# ---- the app ---------------------------------------------------------------------------------------
def _wants_html(request: Request) -> bool:
    path = request.url.path
    rel = path.split(PREFIX, 1)[1] if PREFIX in path else path
    return not rel.startswith(("/api/", "/thumb/"))


def _render(name: str, http_status: int = 200, **ctx: Any) -> HTMLResponse:
    html = _env().get_template(name).render(prefix=f"{base_path()}{PREFIX}", **ctx)
    return HTMLResponse(html, status_code=http_status, headers=_headers())


def _headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def _qs(**params: Any) -> str:
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def create_app() -> FastAPI:
    app = FastAPI(title="Catatan SOP", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(NotLoggedIn)
    async def _not_logged_in(request: Request, exc: NotLoggedIn) -> Response:
        if _wants_html(request):
            from airflow.api_fastapi.app import get_auth_manager

            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(get_auth_manager().get_url_login(next_url=target), status_code=303)
        return JSONResponse(
            {"detail": f"Belum masuk atau sesi berakhir ({exc.detail}); masuk lewat /auth/login."},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if _wants_html(request):
            return _render(
                "galat.html", http_status=exc.status_code, message=exc.detail, code=exc.status_code
            )
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=_headers())

    @app.get("/", include_in_schema=False)
    async def index(request: Request, viewer: Viewer = Depends(current_viewer)) -> Response:  # noqa: B008
        return RedirectResponse(f"{base_path()}{PREFIX}/ringkasan", status_code=303)

    @app.get("/catatan.css", include_in_schema=False)
    async def css() -> Response:
        return Response(
            (TEMPLATES / "catatan.css").read_text(),
            media_type="text/css",
            headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
        )

    @app.get("/ringkasan", response_class=HTMLResponse)
    def ringkasan_page(
        bulan: str | None = None,
        bidang: str | None = None,
        viewer: Viewer = Depends(current_viewer),  # noqa: B008
    ) -> Response:
        cfg = _config()
        year, month = _period(bulan, cfg)
        scope = _bidang_for(viewer, bidang, cfg)
        data = summary_view(viewer, cfg, year, month, scope)
        return _render(
            "ringkasan.html",
            viewer=viewer,
            cfg=cfg,
            s=data,
            bulan=f"{year:04d}-{month:02d}",
            bidang=scope,
            bidang_name={b.code: b.name for b in cfg.bidang},
            channel_names=CHANNEL_NAMES,
            calendar=_calendar(data["monitoring"]) if "monitoring" in data else [],
            report_links=_report_links(viewer, f"{year:04d}-{month:02d}", scope),
            status_labels=STATUS_LABELS,
            page="ringkasan",
        )

    @app.get("/api/ringkasan")
    def ringkasan_json(
        bulan: str | None = None,
        bidang: str | None = None,
        viewer: Viewer = Depends(current_viewer),  # noqa: B008
    ) -> Response:
        cfg = _config()
        year, month = _period(bulan, cfg)
        data = summary_view(viewer, cfg, year, month, _bidang_for(viewer, bidang, cfg))
        return JSONResponse(data, headers=_headers())

    @app.get("/catatan/{record}", response_class=HTMLResponse)
    def record_page(
        record: int,
        bulan: str | None = None,
        kanal: str | None = None,
        bidang: str | None = None,
        status: str | None = None,
        halaman: int = 1,
        viewer: Viewer = Depends(current_viewer),  # noqa: B008
    ) -> Response:
        cfg = _config()
        year, month = _period(bulan, cfg)
        scope = _bidang_for(viewer, bidang, cfg) if record != 1 else None
        rows = records_view(
            viewer, cfg, record, year=year, month=month, channel=kanal, bidang=scope, status=status
        )
        pages = max(1, -(-len(rows) // PAGE_SIZE))
        halaman = min(max(1, halaman), pages)
        shown = rows[(halaman - 1) * PAGE_SIZE : halaman * PAGE_SIZE]
        bulan_s = f"{year:04d}-{month:02d}"
        return _render(
            "catatan.html",
            viewer=viewer,
            cfg=cfg,
            record=record,
            title=RECORD_TITLES[record],
            rows=shown,
            total=len(rows),
            halaman=halaman,
            pages=pages,
            versions=_versions(shown) if record == 1 else {},
            bulan=bulan_s,
            kanal=kanal,
            bidang=scope,
            status=status,
            statuses=STATUS_CHOICES[record],
            status_labels=STATUS_LABELS,
            words=WORDS,
            bidang_name={b.code: b.name for b in cfg.bidang},
            channel_names=CHANNEL_NAMES,
            ui=_ui,
            diff=diff_lines,
            page_qs=lambda n: _qs(bulan=bulan_s, kanal=kanal, bidang=bidang, status=status, halaman=n),
            page=f"catatan{record}",
        )

    @app.get("/api/catatan/{record}")
    def record_json(
        record: int,
        bulan: str | None = None,
        kanal: str | None = None,
        bidang: str | None = None,
        status: str | None = None,
        viewer: Viewer = Depends(current_viewer),  # noqa: B008
    ) -> Response:
        cfg = _config()
        year, month = _period(bulan, cfg)
        scope = _bidang_for(viewer, bidang, cfg) if record != 1 else None
        rows = records_view(
            viewer, cfg, record, year=year, month=month, channel=kanal, bidang=scope, status=status
        )
        return JSONResponse(rows, headers=_headers())

    @app.get("/keutuhan", response_class=HTMLResponse)
    def keutuhan_page(viewer: Viewer = Depends(current_viewer)) -> Response:  # noqa: B008
        """Whether any record row was changed, removed or added outside the system (hash chain)."""
        from sop_tasks.records import chain

        if not viewer.everything:
            raise HTTPException(403, "Pemeriksaan keutuhan catatan hanya untuk pengelola dan verifikator.")
        cfg = _config()
        now = datetime.now(UTC).astimezone(cfg.tz)
        result = chain.verify(ledger().engine)
        return _render(
            "keutuhan.html",
            viewer=viewer,
            cfg=cfg,
            result=result,
            checked_at=now.strftime("%d-%m-%Y %H:%M"),
            bulan=f"{now.year:04d}-{now.month:02d}",
            bidang_name={b.code: b.name for b in cfg.bidang},
            page="keutuhan",
        )

    @app.get("/laporan.{fmt}")
    def laporan(
        fmt: str,
        bulan: str | None = None,
        bidang: str | None = None,
        viewer: Viewer = Depends(current_viewer),  # noqa: B008
    ) -> Response:
        from sop_tasks.reports.monthly import FORMATS, MIME, file_name

        if fmt not in FORMATS:
            raise HTTPException(404, f"Format laporan '{fmt}' tidak ada; pilih pdf atau xlsx.")
        if not viewer.everything:
            raise HTTPException(403, "Laporan bulanan kantor hanya untuk pengelola dan verifikator.")
        cfg = _config()
        year, month = _period(bulan, cfg)
        scope = _bidang_for(viewer, bidang, cfg)
        return Response(
            report_bytes(cfg, year, month, fmt, scope),
            media_type=MIME[fmt],
            headers={
                "Content-Disposition": f'attachment; filename="{file_name(year, month, fmt, scope)}"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    @app.get("/thumb/{submission_id}/{index}")
    def thumb(
        submission_id: int,
        index: int,
        viewer: Viewer = Depends(current_viewer),  # noqa: B008
    ) -> Response:
        if not viewer.everything:
            raise HTTPException(403, "Gambar pengajuan hanya untuk pengelola dan verifikator.")
        data, media_type = thumbnail(submission_id, index, _config())
        return Response(
            data,
            media_type=media_type,
            headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    return app


def _report_links(viewer: Viewer, bulan: str, bidang: str | None) -> list[tuple[str, str]]:
    """The "Unduh laporan" links (PDF, XLSX) of the month, for those who may see the whole office."""
    if not viewer.everything:
        return []
    qs = _qs(bulan=bulan, bidang=bidang)
    base = f"{base_path()}{PREFIX}/laporan"
    return [("Unduh laporan (PDF)", f"{base}.pdf?{qs}"), ("Unduh laporan (XLSX)", f"{base}.xlsx?{qs}")]
