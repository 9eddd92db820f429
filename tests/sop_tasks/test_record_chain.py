"""Tamper-evident records: rows written by the real ledger code are sealed in one hash chain, and
`sop records verify` names every row changed, removed or added behind the system's back."""

from __future__ import annotations

import io
import sqlite3
import threading
from argparse import Namespace

import pytest
from sqlalchemy import create_engine, text

from sop_tasks.cli import cmd_records_verify
from sop_tasks.records import chain
from sop_tasks.records.db import _alembic_config, get_engine
from sop_tasks.records.ledger import Ledger
from tests.support.month import seed_month


@pytest.fixture
def seeded(tmp_path, office_cfg, monkeypatch):
    url = f"sqlite:///{tmp_path / 'l.db'}"
    ledger = Ledger(url)
    ids = seed_month(ledger, office_cfg, monkeypatch)
    return ledger, ids, tmp_path / "l.db"


def _verify(url: str, printed: str | None = None) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = cmd_records_verify(Namespace(db=url, kepala=printed), out=out, err=err)
    return rc, out.getvalue() + err.getvalue()


def _raw(path, sql: str, *args) -> None:
    with sqlite3.connect(path) as db:
        db.execute(sql, args)


def test_everything_written_is_sealed_and_verifies(seeded):
    ledger, _, _ = seeded
    result = chain.verify(ledger.engine)
    assert result.ok, [p.text() for p in result.problems]
    with ledger.engine.connect() as conn:
        rows = sum(conn.scalar(text(f"SELECT count(*) FROM {t}")) for t in chain.TABLES_AT_0005)
        sweeps = conn.scalar(text("SELECT count(*) FROM sweeps"))
    assert result.rows == rows
    assert result.entries == rows + sweeps  # each sweep once when started, once more when finished
    rc, out = _verify(str(ledger.engine.url))
    assert rc == 0 and "utuh" in out and result.head.label() in out


def test_an_edited_row_is_named(seeded):
    ledger, ids, path = seeded
    sid = ids["submissions"]["returned"]
    _raw(
        path, "UPDATE step_events SET event = 'approved' WHERE submission_id = ? AND event = 'returned'", sid
    )
    with sqlite3.connect(path) as db:
        (eid,) = db.execute(
            "SELECT id FROM step_events WHERE submission_id = ? AND step = 3 AND event = 'approved'", (sid,)
        ).fetchone()
    rc, out = _verify(str(ledger.engine.url))
    assert rc == 1
    assert f"step_events id {eid}: isi baris diubah" in out
    assert out.count("diubah") == 1  # nothing else is blamed


def test_a_deleted_row_is_named(seeded):
    ledger, ids, path = seeded
    item = ids["items"]["spam"]
    _raw(path, "PRAGMA foreign_keys=OFF")
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA foreign_keys=OFF")
        db.execute("DELETE FROM incoming_items WHERE id = ?", (item,))
    rc, out = _verify(str(ledger.engine.url))
    assert rc == 1 and f"incoming_items id {item}: baris dihapus" in out


def test_a_row_added_outside_the_system_and_a_rewritten_chain_are_named(seeded):
    ledger, _, path = seeded
    _raw(
        path,
        "INSERT INTO watermarks (channel, account, value, recorded_at) VALUES ('x', 'a', 'v', '2026-11-05')",
    )
    with sqlite3.connect(path) as db:
        (wid,) = db.execute("SELECT max(id) FROM watermarks").fetchone()
    rc, out = _verify(str(ledger.engine.url))
    assert rc == 1 and f"watermarks id {wid}: baris tidak ada di rantai" in out
    _raw(path, "DELETE FROM watermarks WHERE id = ?", wid)
    assert _verify(str(ledger.engine.url))[0] == 0
    _raw(path, "UPDATE record_chain SET row_hash = ? WHERE seq = 3", "0" * 64)
    rc, out = _verify(str(ledger.engine.url))
    assert rc == 1 and "entri rantai #3" in out
    _raw(path, "DELETE FROM record_chain WHERE seq = 5")
    assert "entri rantai #5–#5 hilang" in _verify(str(ledger.engine.url))[1]


def test_a_printed_head_is_checked_against_the_chain(seeded, office_cfg, monkeypatch):
    ledger, _, path = seeded
    printed = chain.head(ledger.engine).label()
    ledger.open_submission(dag_id="d", run_id="later", kind="publish", title="Sesudah laporan", content={})
    assert _verify(str(ledger.engine.url), printed)[0] == 0
    # Someone rewrites history before the report and re-seals the whole chain to hide it.
    _raw(path, "UPDATE submissions SET title = 'ditulis ulang' WHERE id = 1")
    with ledger.engine.begin() as conn:
        conn.execute(chain.record_chain.delete())
        chain.seal_all(conn)
    assert chain.verify(ledger.engine).ok  # consistent in itself…
    rc, out = _verify(str(ledger.engine.url), printed)
    assert rc == 1 and "laporan tercetak" in out  # …but not with what was printed
    rc, out = _verify(str(ledger.engine.url), "bukan-kepala")
    assert rc == 2 and "tidak sah" in out


def test_the_migration_seals_rows_recorded_before_it(tmp_path):
    from alembic import command

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = create_engine(url)
    cfg = _alembic_config()
    with old.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
        conn.execute(
            text(
                "INSERT INTO submissions (dag_id, run_id, kind, title, content, created_at) "
                "VALUES ('d', 'r1', 'publish', 'Lama', '{}', '2026-10-01 01:00:00'),"
                " ('d', 'r2', 'publish', 'Lama 2', '{}', '2026-10-02 01:00:00')"
            )
        )
    old.dispose()
    engine = get_engine(url)
    result = chain.verify(engine)
    assert result.ok and result.entries == 2 and result.rows == 2


def test_concurrent_writers_keep_one_unbroken_chain(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    Ledger(url)  # migrate once
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            engine = create_engine(url, connect_args={"timeout": 30})  # its own pool, like another process
            from sqlalchemy import event

            from sop_tasks.records.db import _sqlite_pragmas

            event.listen(engine, "connect", _sqlite_pragmas)
            chain.install(engine)
            ledger = Ledger(engine)
            for i in range(15):
                sid = ledger.open_submission(
                    dag_id="d", run_id=f"w{n}-{i}", kind="publish", title="t", content={}
                )
                ledger.add_event(sid, 1, "reminded", actor=f"w{n}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    result = chain.verify(get_engine(url))
    assert result.ok, [p.text() for p in result.problems]
    assert result.entries == result.rows == 4 * 15 * 2
