"""SQLite tuning for the embedded default's Airflow metadata DB (``make run``).

Airflow 3.3 lets a deployment pass connect args to its engines by import path
(``[database] sql_alchemy_connect_args`` and ``sql_alchemy_connect_args_async``). Ours open every
connection with a 60 s busy timeout (Python's default is 5 s: under a start-up burst of scheduled
sweeps, reminders and staff clicks a writer waits longer than that and the API answered 500
"database is locked") and in WAL mode, so readers (the UI, the API) never block the scheduler's
writes and a writer never blocks readers. ``synchronous=NORMAL`` is WAL's recommended setting.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
import traceback
from typing import Any

BUSY_TIMEOUT_S = 60.0
# Diagnostics: with SOP_SQLITE_LOCK_LOG=<file>, every transaction that stays open longer than
# SOP_SQLITE_LOCK_LOG_S seconds (default 5) is appended to <file> with the process, the statement
# that opened it and the stack there: who keeps other writers waiting.
LOCK_LOG = os.environ.get("SOP_SQLITE_LOCK_LOG", "")
LOCK_LOG_S = float(os.environ.get("SOP_SQLITE_LOCK_LOG_S", "5"))


def _opened(conn: Any, sql: str) -> None:
    conn._sop_tx = (time.monotonic(), sql[:300], "".join(traceback.format_stack(limit=25)[:-2]))


def _closed(conn: Any, how: str) -> None:
    started = getattr(conn, "_sop_tx", None)
    conn._sop_tx = None
    if not started or time.monotonic() - started[0] < LOCK_LOG_S:
        return
    held = time.monotonic() - started[0]
    with open(LOCK_LOG, "a", encoding="utf-8") as f:
        f.write(
            f"=== {time.strftime('%H:%M:%S')} pid {os.getpid()} {' '.join(sys.argv)[:160]}\n"
            f"held {held:.1f} s, ended by {how}, opened by: {started[1]}\n{started[2]}\n"
        )


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
        conn = self.connection
        was = conn.in_transaction
        if not was and sql.lstrip()[:9].upper() == "SAVEPOINT":
            super().execute("BEGIN IMMEDIATE")
        result = super().execute(sql, parameters)
        if LOCK_LOG:
            self._track(was, sql)
        return result

    def executemany(self, sql: str, seq: Any, /) -> ImmediateSavepointCursor:
        was = self.connection.in_transaction
        result = super().executemany(sql, seq)
        if LOCK_LOG:
            self._track(was, sql)
        return result

    def _track(self, was: bool, sql: str) -> None:
        now = self.connection.in_transaction
        if now and not was:
            _opened(self.connection, sql)
        elif was and not now:
            _closed(self.connection, sql[:60])


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

    def commit(self) -> None:
        was = self.in_transaction
        super().commit()
        if LOCK_LOG and was:
            _closed(self, "commit")

    def rollback(self) -> None:
        was = self.in_transaction
        super().rollback()
        if LOCK_LOG and was:
            _closed(self, "rollback")


def enable_wal(path: str) -> str:
    """Put the database file in WAL mode before anything else opens it; returns the mode."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
    try:
        return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
    finally:
        conn.close()


CONNECT_ARGS: dict[str, Any] = {"timeout": BUSY_TIMEOUT_S, "factory": TunedConnection}
CONNECT_ARGS_ASYNC: dict[str, Any] = {"timeout": BUSY_TIMEOUT_S, "factory": TunedConnection}
