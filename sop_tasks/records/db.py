"""Engine creation, schema migration (Alembic), backup and restore of the records database.

The same migrations and queries run on SQLite (the embedded default) and PostgreSQL (the
production stack). Differences are absorbed here, at the storage boundary:

- PostgreSQL refuses NUL (``\\x00``) in text; a public comment may carry one. Every string bound
  to a statement has NUL replaced by U+FFFD on *both* backends, so what is stored (and later read,
  hashed or compared) is the same whichever database holds it. JSON columns are unaffected
  (``json.dumps`` writes ``\\u0000``, which PostgreSQL's ``json`` type keeps).
- Migrations are serialised across processes by a file lock (SQLite) or an advisory lock
  (PostgreSQL, which may be shared by machines).
- Backup and restore: SQLite's online backup API; ``pg_dump``/``pg_restore`` (custom format).
  :func:`copy_records` moves every row from one database to another (SQLite → PostgreSQL).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url, select, text
from sqlalchemy.engine import URL

from sop_tasks.records import chain

MIGRATIONS = Path(__file__).parent / "migrations"
_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def local_home() -> Path | None:
    """The project's own ``.airflow/`` that ``make run`` uses, when it exists and AIRFLOW_HOME is unset."""
    from sop_tasks.config import PROJECT_ROOT

    if os.environ.get("AIRFLOW_HOME"):
        return None
    home = PROJECT_ROOT / ".airflow"
    return home if home.is_dir() else None


def default_url() -> str:
    """SQLite under AIRFLOW_HOME; without it the project's ``.airflow/`` (``make run``), else ~/airflow."""
    home = Path(os.environ.get("AIRFLOW_HOME") or local_home() or Path.home() / "airflow")
    return f"sqlite:///{home / 'sop_ledger.db'}"


NUL_REPLACEMENT = "\ufffd"
_MIGRATION_LOCK_KEY = 0x50F_1ED6E4  # pg_advisory_xact_lock key of the records' migrations


def normalise_url(url: str) -> str:
    """``postgres://`` (Heroku/Airflow style) → ``postgresql+psycopg2://``; others unchanged."""
    if url.startswith("postgres://"):
        return "postgresql+psycopg2://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        return "postgresql+psycopg2://" + url.removeprefix("postgresql://")
    return url


def strip_nul(value: Any) -> Any:
    """A bound value with NUL replaced (strings, and strings inside tuples, lists and dicts)."""
    if isinstance(value, str):
        return value.replace("\x00", NUL_REPLACEMENT) if "\x00" in value else value
    if isinstance(value, Mapping):
        return {k: strip_nul(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(strip_nul(v) for v in value)
    return value


def _no_nul(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
    return statement, strip_nul(parameters)


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _head() -> str | None:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (safe to call from many processes at once)."""
    if _current(engine) == _head():
        return
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(select(text(f"pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")))
            if MigrationContext.configure(conn).get_current_revision() != _head():
                cfg = _alembic_config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        return
    digest = hashlib.sha256(str(engine.url).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"sop-ledger-{digest}.lock"
    with lock_path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            if _current(engine) != _head():
                cfg = _alembic_config()
                with engine.begin() as conn:
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _after_fork_in_child() -> None:
    """A forked process (Celery, Airflow's task runner) must not share its parent's connections."""
    for engine in _engines.values():
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_after_fork_in_child)


def get_engine(url: str | None = None) -> Engine:
    """One migrated engine per URL per process."""
    url = normalise_url(url or default_url())
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite:///"):
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
                engine = create_engine(url, connect_args={"timeout": 30})
                event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = create_engine(url, pool_pre_ping=True)
            chain.install(engine)  # every record row written through this engine is sealed
            event.listen(engine, "before_cursor_execute", _no_nul, retval=True)
            migrate(engine)
            _engines[url] = engine
        return engine


# ---- backup, restore, copy -----------------------------------------------------------------------
class BackupError(RuntimeError):
    """A backup or restore could not be made (message in Indonesian, says what to fix)."""


def _pg_tool(name: str) -> str:
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[4]))
    found = str(candidates[-1]) if candidates else shutil.which(name) or ""
    if not found:
        raise BackupError(f"{name} tidak ditemukan; pasang paket Debian 'postgresql-client'")
    return found


def _pg_args(url: URL) -> tuple[list[str], dict[str, str]]:
    args = ["-h", url.host or "localhost", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _existing_sqlite(u: URL) -> None:
    """A mistyped SQLite path must not become a new, empty records database."""
    if u.get_backend_name() == "sqlite" and not Path(str(u.database or "")).is_file():
        raise BackupError(f"basis data catatan {u.database} tidak ada; periksa alamat --db")


def backup(url: str, dest: Path) -> Path:
    """A complete copy of the records in ``dest``: an SQLite file, or a ``pg_dump -Fc`` archive."""
    u = make_url(normalise_url(url))
    if u.get_backend_name() not in ("sqlite", "postgresql"):
        raise BackupError(f"cadangan untuk basis data '{u.get_backend_name()}' belum didukung")
    _existing_sqlite(u)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    # the records hold residents' names and messages: the file is private from its first byte
    os.close(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    dest.chmod(0o600)
    try:
        if u.get_backend_name() == "sqlite":
            src = sqlite3.connect(f"file:{u.database}?mode=ro", uri=True)
            try:
                out = sqlite3.connect(dest)
                with out:
                    src.backup(out)
                out.close()
            except sqlite3.Error as exc:
                raise BackupError(f"{u.database} tidak dapat dicadangkan ({exc})") from None
            finally:
                src.close()
        else:
            args, env = _pg_args(u)
            r = subprocess.run(
                [_pg_tool("pg_dump"), *args, "-d", str(u.database), "-Fc", "--no-owner", "-f", str(dest)],
                env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            if r.returncode != 0:
                raise BackupError(f"pg_dump gagal: {r.stderr.strip()}")
    except BackupError:
        dest.unlink(missing_ok=True)  # no half-written file that looks like a backup
        raise
    return dest


def restore(url: str, src: Path) -> None:
    """Replace the records at ``url`` by the backup ``src`` (made by :func:`backup` for that kind)."""
    u = make_url(normalise_url(url))
    src = Path(src)
    if not src.exists():
        raise BackupError(f"berkas cadangan {src} tidak ada")
    _engines.pop(normalise_url(url), None)
    if u.get_backend_name() == "sqlite":
        try:
            back = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
            back.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{src} bukan cadangan SQLite ({exc})") from None
        if not back.execute("SELECT 1 FROM sqlite_master WHERE name = 'submissions'").fetchone():
            back.close()
            raise BackupError(f"{src} bukan cadangan catatan SOP (tidak ada tabel pengajuan)")
        target = sqlite3.connect(str(u.database), timeout=30)
        try:
            with target:
                back.backup(target)
        finally:
            target.close()
            back.close()
    elif u.get_backend_name() == "postgresql":
        args, env = _pg_args(u)
        r = subprocess.run(
            [_pg_tool("pg_restore"), *args, "-d", str(u.database), "--clean", "--if-exists", "--no-owner",
             "--single-transaction", "--exit-on-error", str(src)],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if r.returncode != 0:
            raise BackupError(f"pg_restore gagal: {r.stderr.strip()}")
    else:
        raise BackupError(f"pemulihan untuk basis data '{u.get_backend_name()}' belum didukung")


def copy_records(src_url: str, dst_url: str) -> dict[str, int]:
    """Copy every record row from ``src_url`` into the empty, migrated ``dst_url``, ids kept."""
    from sqlalchemy.exc import SQLAlchemyError

    from sop_tasks.records.models import Base

    _existing_sqlite(make_url(normalise_url(src_url)))
    engines = []
    for url in (src_url, dst_url):
        try:
            engines.append(get_engine(url))
        except SQLAlchemyError as exc:
            where = make_url(normalise_url(url)).render_as_string(hide_password=True)
            raise BackupError(f"basis data {where} tidak dapat dibuka: {getattr(exc, 'orig', exc)}") from None
    src, dst = engines
    tables: Sequence[Any] = Base.metadata.sorted_tables
    counts: dict[str, int] = {}
    with dst.begin() as out:
        for table in tables:
            if out.scalar(select(text("count(*)")).select_from(table)):
                raise BackupError(
                    f"tabel {table.name} di tujuan sudah berisi; salin hanya ke basis data baru"
                )
        with src.connect() as inp:
            for table in tables:
                rows = [dict(r._mapping) for r in inp.execute(select(table))]
                if rows:
                    out.execute(table.insert(), rows)
                counts[table.name] = len(rows)
        if dst.dialect.name == "postgresql":
            for table in tables:
                if "id" in table.c:
                    out.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"COALESCE((SELECT max(id) FROM {table.name}), 0) + 1, false)"
                        )
                    )
    return counts
