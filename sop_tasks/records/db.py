"""Engine creation and schema migration (Alembic) for the records database."""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event

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


def get_engine(url: str | None = None) -> Engine:
    """One migrated engine per URL per process."""
    url = url or default_url()
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
            migrate(engine)
            _engines[url] = engine
        return engine
