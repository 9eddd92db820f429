"""The embedded default's metadata DB connections (sop_tasks.airflow.sqlite): a transaction that
Airflow opens with a SAVEPOINT (an answer to a Required Action, a task starting) waits for the
write lock like any writer instead of failing at once with "database is locked"."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import create_async_engine

from sop_tasks.airflow.sqlite import CONNECT_ARGS, CONNECT_ARGS_ASYNC


def _read_then_write_while_another_writes(path, connect_args) -> list[int]:  # type: ignore[no-untyped-def]
    """A: SAVEPOINT, read; B writes and commits meanwhile; A then writes. Returns the rows."""
    a = sqlite3.connect(path, **connect_args)
    # Airflow's configure_orm adds check_same_thread=False to the shared CONNECT_ARGS in place
    # once an earlier test has set it up: set it here without passing it twice
    b = sqlite3.connect(path, **{**connect_args, "check_same_thread": False})
    a.execute("CREATE TABLE t (x INTEGER)")
    a.commit()
    cur = a.cursor()
    cur.execute("SAVEPOINT sa_savepoint_1")
    cur.execute("SELECT count(*) FROM t").fetchall()
    other = threading.Thread(target=lambda: (b.cursor().execute("INSERT INTO t VALUES (1)"), b.commit()))
    other.start()
    time.sleep(0.5)  # B has written (unpatched) or is waiting for A's lock (patched)
    cur.execute("INSERT INTO t VALUES (2)")
    cur.execute("RELEASE sa_savepoint_1")
    a.commit()
    other.join(30)
    rows = sorted(r[0] for r in a.execute("SELECT x FROM t"))
    a.close()
    b.close()
    return rows


def test_plain_sqlite_fails_at_once_there(tmp_path):
    """Why the tuning exists: the busy timeout alone does not help this case."""
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        _read_then_write_while_another_writes(
            str(tmp_path / "plain.db"), {"timeout": 60, "isolation_level": ""}
        )


def test_savepoint_transaction_waits_for_the_lock(tmp_path):
    assert _read_then_write_while_another_writes(str(tmp_path / "airflow.db"), dict(CONNECT_ARGS)) == [1, 2]


def test_async_engine_gets_the_same_connections(tmp_path):
    path = tmp_path / "airflow.db"
    with create_engine(f"sqlite:///{path}", connect_args=dict(CONNECT_ARGS)).begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))

    def other_writer_can_start() -> bool:
        probe = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            probe.close()

    async def nested() -> bool:
        engine = create_async_engine(f"sqlite+aiosqlite:///{path}", connect_args=dict(CONNECT_ARGS_ASYNC))
        try:
            async with engine.connect() as conn:
                async with conn.begin_nested():
                    await conn.execute(text("SELECT count(*) FROM t"))
                    # the write lock is already held: no one can write between this read and a write
                    free = await asyncio.to_thread(other_writer_can_start)
                    await conn.execute(text("INSERT INTO t VALUES (1)"))
                await conn.commit()
            return free
        finally:
            await engine.dispose()

    assert not asyncio.run(nested())
    probe = sqlite3.connect(path)
    assert probe.execute("SELECT count(*) FROM t").fetchone() == (1,)
    probe.close()


def test_long_transactions_are_logged_with_who_opened_them(tmp_path, monkeypatch):
    """SOP_SQLITE_LOCK_LOG: how the api-server's 60 s freeze was found (sop_tasks.airflow.action_log)."""
    from sop_tasks.airflow import sqlite as tuned

    log = tmp_path / "locks.log"
    monkeypatch.setattr(tuned, "LOCK_LOG", str(log))
    monkeypatch.setattr(tuned, "LOCK_LOG_S", 0.2)
    conn = sqlite3.connect(tmp_path / "airflow.db", **{**CONNECT_ARGS, "check_same_thread": False})
    conn.execute("CREATE TABLE t (x INTEGER)")
    conn.commit()

    def short_writer() -> None:
        conn.execute("INSERT INTO t VALUES (1)")
        conn.commit()

    def slow_writer() -> None:
        conn.cursor().execute("INSERT INTO t VALUES (2)")
        time.sleep(0.4)
        conn.rollback()

    short_writer()
    assert not log.exists()  # quick transactions are not logged
    slow_writer()
    text_ = log.read_text()
    assert "ended by rollback, opened by: INSERT INTO t VALUES (2)" in text_
    assert "in slow_writer" in text_  # the stack where it was opened
    conn.close()
