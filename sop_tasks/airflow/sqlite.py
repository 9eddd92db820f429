"""SQLite tuning for the embedded default's Airflow metadata DB (``make run``).

Airflow 3.3 lets a deployment pass connect args to its engines by import path
(``[database] sql_alchemy_connect_args`` and ``sql_alchemy_connect_args_async``). Ours open every
connection with a 60 s busy timeout (Python's default is 5 s: under a start-up burst of scheduled
sweeps, reminders and staff clicks a writer waits longer than that and the API answered 500
"database is locked") and in WAL mode, so readers (the UI, the API) never block the scheduler's
writes and a writer never blocks readers. ``synchronous=NORMAL`` is WAL's recommended setting.
"""

from __future__ import annotations

import sqlite3
from typing import Any

BUSY_TIMEOUT_S = 60.0


class ImmediateSavepointCursor(sqlite3.Cursor):
    """A ``SAVEPOINT`` that opens the transaction opens it as ``BEGIN IMMEDIATE``.

    The busy timeout does not cover every lock: a transaction that has read and then writes
    while another connection wrote meanwhile gets "database is locked" AT ONCE (SQLite cannot
    move its snapshot, so it does not wait). Python's sqlite3 starts a transaction only right
    before the first INSERT/UPDATE/DELETE, so plain sessions never read first; but SQLAlchemy's
    ``begin_nested()`` sends ``SAVEPOINT``, which opens a read-first transaction. Airflow 3.3 uses
    it where staff and tasks write: the answer to a Required Action (``hitlDetails``), a task
    starting (the execution API) and the scheduler. Taking the write lock at the SAVEPOINT makes
    these wait for it (up to the busy timeout) like every other writer, instead of failing.
    """

    def execute(self, sql: str, parameters: Any = (), /) -> ImmediateSavepointCursor:
        if not self.connection.in_transaction and sql.lstrip()[:9].upper() == "SAVEPOINT":
            super().execute("BEGIN IMMEDIATE")
        return super().execute(sql, parameters)


class TunedConnection(sqlite3.Connection):
    """A sqlite3 connection that waits for locks and uses the write-ahead log."""

    def cursor(self, factory: Any = ImmediateSavepointCursor) -> Any:
        return super().cursor(factory)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        try:
            self.execute("PRAGMA journal_mode = WAL")  # persistent: a no-op once the file is in WAL
        except sqlite3.OperationalError:  # another process holds the lock while converting
            pass
        self.execute("PRAGMA synchronous = NORMAL")


def enable_wal(path: str) -> str:
    """Put the database file in WAL mode before anything else opens it; returns the mode."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
    try:
        return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
    finally:
        conn.close()


CONNECT_ARGS: dict[str, Any] = {"timeout": BUSY_TIMEOUT_S, "factory": TunedConnection}
CONNECT_ARGS_ASYNC: dict[str, Any] = {"timeout": BUSY_TIMEOUT_S, "factory": TunedConnection}
