"""Loading and validating the office config (``config/office.yaml``).

All defaults live here. Problems are reported as :class:`~sop_tasks.errors.ConfigError` whose
lines name the file, the key and what to fix, in Bahasa Indonesia.
"""

from __future__ import annotations

import os
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sop_tasks.errors import ConfigError
from sop_tasks.sop import VERIFY_STEPS
from sop_tasks.workdays import WorkCalendar

CHANNELS: tuple[str, ...] = ("website", "instagram", "twitter")
ChannelName = Literal["website", "instagram", "twitter"]
CHANNEL_NAMES: dict[str, str] = {"website": "Website", "instagram": "Instagram", "twitter": "X (Twitter)"}

CONFIG_FILE = "office.yaml"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def config_dir() -> Path:
    """``$SOP_CONFIG_DIR`` or the project's own ``config/``."""
    return Path(os.environ.get("SOP_CONFIG_DIR") or PROJECT_ROOT / "config").resolve()


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_USERNAME = r"^[a-z0-9_.-]+$"


class Verifier(_Model):
    """One verification role of SOP steps 2–4 and who may act in it (Plt/Plh: add a name)."""

    role: str
    title: str
    users: list[str] = Field(min_length=1)
    emails: list[str] = []

    @field_validator("users")
    @classmethod
    def _usernames(cls, v: list[str]) -> list[str]:
        for name in v:
            if not name or not all(c.isalnum() or c in "_.-" for c in name) or name != name.lower():
                raise ValueError(
                    f"nama pengguna '{name}' tidak sah: pakai huruf kecil, angka, '_', '.' atau '-'"
                )
        return v


class Officers(_Model):
    users: list[str] = Field(min_length=1)
    emails: list[str] = []


class Bidang(_Model):
    code: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    users: list[str] = Field(min_length=1)
    emails: list[str] = []


class WebsiteSettings(_Model):
    categories: list[str] = []
    tags: list[str] = []


class Monitoring(_Model):
    """SOP warning 2: at least three sweeps a day — morning, noon, afternoon (WIB)."""

    times: list[str] = Field(default_factory=lambda: ["08:00", "12:00", "15:30"], min_length=3)
    slots: list[str] = Field(default_factory=lambda: ["pagi", "siang", "sore"])
    extra_cron: str | None = None  # e.g. "0 9-16 * * 1-5": hourly in office hours, not reported as SOP

    @field_validator("times")
    @classmethod
    def _hhmm(cls, v: list[str]) -> list[str]:
        for t in v:
            parts = t.split(":")
            if (
                len(parts) != 2
                or not all(p.isdigit() for p in parts)
                or int(parts[0]) > 23
                or int(parts[1]) > 59
            ):
                raise ValueError(f"jam '{t}' tidak sah; tulis HH:MM, mis. 08:00")
        return v

    @field_validator("extra_cron")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        from croniter import croniter

        if v is not None and not croniter.is_valid(v):
            raise ValueError(
                f"'{v}' bukan jadwal cron; tulis 5 kolom menit jam tanggal bulan hari, "
                'mis. "0 9-16 * * 1-5" (tiap jam 09–16, Senin–Jumat)'
            )
        return v

    def crons(self) -> list[str]:
        return [f"{int(t.split(':')[1])} {int(t.split(':')[0])} * * *" for t in self.times]

    def slot_of(self, hhmm: str) -> str | None:
        if hhmm not in self.times:
            return None
        i = self.times.index(hhmm)
        return self.slots[i] if i < len(self.slots) else f"sapuan-{i + 1}"


class FollowUp(_Model):
    """SOP steps 8–9 and the KIP clock (UU 14/2008)."""

    remind_after_working_days: int = Field(default=1, ge=1)
    ppid_days: int = Field(default=10, ge=1)
    ppid_extension_days: int = Field(default=7, ge=0)
    ppid_remind_before_working_days: int = Field(default=2, ge=0)
    replies_need_approval: bool = False  # SOP warning 1 for replies: an official approves first
    x_update: Literal["reply", "repost"] = "reply"  # X cannot edit freely: correction reply or repost


PAPER_SIZES: dict[str, tuple[int, int]] = {"F4": (215, 330), "A4": (210, 297)}  # width, height in mm


class ReportSettings(_Model):
    """The monthly report (``sop laporan``): paper, letterhead (kop surat) and the Kadis's signature."""

    paper: Literal["F4", "A4"] = "F4"
    letterhead: list[str] = Field(
        default_factory=lambda: [
            "PEMERINTAH KABUPATEN KENDAL",
            "DINAS KEARSIPAN DAN PERPUSTAKAAN",
            "Kendal, Jawa Tengah",
        ],
        min_length=1,
        max_length=6,
    )
    place: str = Field(default="Kendal", min_length=1)  # where the report is signed
    kadis_title: str = Field(default="Kepala Dinas Kearsipan dan Perpustakaan Kabupaten Kendal", min_length=1)
    kadis_name: str = ""  # empty: a line to write the name on by hand
    kadis_nip: str = ""
    # A folder (relative to the project root) whose laporan.html / laporan.css replace the built-in
    # templates in sop_tasks/reports/templates/ — copy those there and adjust.
    templates: str | None = None

    @field_validator("kadis_nip")
    @classmethod
    def _nip(cls, v: str) -> str:
        digits = v.replace(" ", "")
        if v and (not digits.isdigit() or len(digits) != 18):
            raise ValueError(f"NIP '{v}' tidak sah; tulis 18 angka (spasi boleh), mis. 19700101 199503 1 001")
        return v

    @field_validator("letterhead")
    @classmethod
    def _lines(cls, v: list[str]) -> list[str]:
        if any(not line.strip() for line in v):
            raise ValueError("baris kop surat tidak boleh kosong")
        return v

    @property
    def paper_mm(self) -> tuple[int, int]:
        return PAPER_SIZES[self.paper]


class Paths(_Model):
    media: str = "data/media"
    outbox: str = "data/outbox"
    staging: str = "data/staging"


def _all_channels() -> list[ChannelName]:
    return cast(list[ChannelName], list(CHANNELS))


class OfficeConfig(_Model):
    office_name: str = "Dinas Kearsipan dan Perpustakaan Kabupaten Kendal"
    timezone: str = "Asia/Jakarta"
    verifiers: list[Verifier]
    officers: Officers
    bidang: list[Bidang] = Field(min_length=1)
    channels: list[ChannelName] = Field(default_factory=_all_channels, min_length=1)
    paths: Paths = Paths()
    website: WebsiteSettings = WebsiteSettings()
    monitoring: Monitoring = Monitoring()
    follow_up: FollowUp = FollowUp()
    report: ReportSettings = ReportSettings()
    holidays: list[date] = []
    reminder_every_minutes: int = Field(default=15, ge=1)
    retry_delay_seconds: int = Field(default=30, ge=1)

    # Where relative paths are resolved from; set by the loader, not by the YAML.
    root: Path = Field(default=PROJECT_ROOT, exclude=True)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"zona waktu '{v}' tidak dikenal; pakai misalnya 'Asia/Jakarta'") from None
        return v

    @model_validator(mode="after")
    def _chain_matches_sop(self) -> OfficeConfig:
        wanted = [s.actor.value for s in VERIFY_STEPS]
        got = [v.role for v in self.verifiers]
        if got != wanted:
            raise ValueError(
                "urutan 'verifiers' harus sama dengan SOP langkah 2–4: "
                f"{', '.join(wanted)} (sekarang: {', '.join(got) or 'kosong'})"
            )
        codes = [b.code for b in self.bidang]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValueError(f"kode bidang ganda: {', '.join(dupes)}; setiap bidang perlu kode unik")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def verifier(self, role: str) -> Verifier:
        for v in self.verifiers:
            if v.role == role:
                return v
        raise KeyError(role)

    def path(self, name: Literal["media", "outbox", "staging"]) -> Path:
        p = Path(getattr(self.paths, name))
        return (p if p.is_absolute() else self.root / p).resolve()

    def calendar(self) -> WorkCalendar:
        return WorkCalendar(self.holidays)

    def bidang_by_code(self, code: str) -> Bidang:
        for b in self.bidang:
            if b.code == code:
                return b
        raise KeyError(code)

    def all_users(self) -> dict[str, str]:
        """Every staff user named in the config with the Airflow role they need (admin aside)."""
        users: dict[str, str] = {u: "op" for u in self.officers.users}
        for v in self.verifiers:
            for u in v.users:
                users.setdefault(u, "user")
        for b in self.bidang:
            for u in b.users:
                users.setdefault(u, "user")
        return users


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(akar berkas)"


_PYDANTIC_MESSAGES: dict[str, str] = {
    "missing": "wajib diisi",
    "extra_forbidden": "kunci tidak dikenal; hapus atau periksa ejaannya",
    "too_short": "terlalu sedikit isi; isi minimal {min_length}",
    "too_long": "terlalu banyak isi; maksimal {max_length}",
    "literal_error": "nilai tidak dikenal; pilihan: {expected}",
    "string_type": "harus berupa teks",
    "list_type": "harus berupa daftar (list)",
    "dict_type": "harus berupa pemetaan (kunci: nilai)",
    "int_parsing": "harus berupa bilangan bulat",
    "float_parsing": "harus berupa angka, misalnya 2.0",
    "float_type": "harus berupa angka, misalnya 2.0",
    "greater_than": "harus lebih besar dari {gt}",
    "greater_than_equal": "terlalu kecil; minimal {ge}",
    "string_too_short": "tidak boleh kosong",
    "string_pattern_mismatch": "hanya huruf kecil, angka dan '_'",
    "date_parsing": "tanggal tidak sah; tulis YYYY-MM-DD, mis. 2027-01-01",
    "date_from_datetime_parsing": "tanggal tidak sah; tulis YYYY-MM-DD, mis. 2027-01-01",
    "date_type": "tanggal tidak sah; tulis YYYY-MM-DD, mis. 2027-01-01",
}


def explain(file: Path, exc: ValidationError, messages: dict[str, str] | None = None) -> list[str]:
    """One Indonesian line per validation problem: file, key and what to fix.

    Messages may name the limits pydantic reports (``{min_length}``, ``{ge}``, ``{expected}``…).
    """
    table = {**_PYDANTIC_MESSAGES, **(messages or {})}
    problems = []
    for err in exc.errors():
        template = table.get(err["type"])
        ctx = dict(err.get("ctx") or {})
        if "expected" in ctx:  # "'reply' or 'repost'" -> "reply, repost"
            ctx["expected"] = str(ctx["expected"]).replace("'", "").replace(" or ", ", ")
        try:
            msg = template.format(**ctx) if template else None
        except (KeyError, IndexError):
            msg = None
        msg = msg or str(err["msg"]).removeprefix("Value error, ")
        problems.append(f"{file}: kunci '{_loc(err['loc'])}': {msg}")
    return problems


def read_yaml_mapping(file: Path) -> dict[str, Any]:
    """A config file's top-level mapping, or a ConfigError naming the file (and line) to fix."""
    if not file.exists():
        raise ConfigError(
            [f"{file}: berkas tidak ada; salin config/{file.name} dari repositori atau atur SOP_CONFIG_DIR"]
        )
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" baris {mark.line + 1} kolom {mark.column + 1}" if mark else ""
        raise ConfigError([f"{file}{where}: YAML tidak valid ({getattr(exc, 'problem', exc)})"]) from None
    except ValueError as exc:  # YAML read a value it could not build, e.g. a date 2027-13-01
        raise ConfigError(
            [f"{file}: nilai tidak dapat dibaca ({exc}); periksa tanggal (YYYY-MM-DD) dan angka"]
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError([f"{file}: isi berkas harus berupa pemetaan kunci: nilai"])
    return raw


def load_config(directory: Path | str | None = None) -> OfficeConfig:
    """Load and validate ``office.yaml`` from ``directory`` (default: :func:`config_dir`)."""
    d = Path(directory).resolve() if directory else config_dir()
    file = d / CONFIG_FILE
    stamp = file.stat().st_mtime_ns if file.exists() else 0
    return _load_cached(file, stamp)


@lru_cache(maxsize=8)
def _load_cached(file: Path, _stamp: int) -> OfficeConfig:
    raw = read_yaml_mapping(file)
    try:
        return OfficeConfig(**raw, root=file.parent.parent)
    except ValidationError as exc:
        raise ConfigError(explain(file, exc)) from None
