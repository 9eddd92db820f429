"""The records behave the same on SQLite (embedded default) and PostgreSQL (production stack):
the same migrations, the exactly-once keys under concurrent writers (threads and processes),
NUL bytes and long texts, and a backup and restore that loses nothing."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, inspect, select

from sop_tasks.incoming import IncomingItem
from sop_tasks.records.db import BackupError, backup, copy_records, get_engine, restore
from sop_tasks.records.inbox import Inbox
from sop_tasks.records.ledger import Ledger, VersionTaken
from sop_tasks.records.models import Base, ContentVersion, IncomingItemRow, Submission
from tests.support.follow_up import Routed

NUL_TEXT = "Halo\x00min, berkas\x00 rusak?"
LONG_TEXT = "Permohonan arsip " * 70_000  # ~1.2 MB, longer than any comment a platform allows


def _content() -> dict:
    return {"title": "Judul", "body": "Isi", "channels": ["website"]}


def _items(ids, text="Mohon info jadwal"):
    now = datetime.now(UTC)
    return [
        IncomingItem("website", str(i), "comment", "Warga", text, now, url=f"https://s/?c={i}") for i in ids
    ]


def test_same_schema_from_the_same_migrations(records_url):
    engine = get_engine(records_url)
    insp = inspect(engine)
    assert set(Base.metadata.tables) <= set(insp.get_table_names())
    for table in Base.metadata.sorted_tables:
        uniques = {u["name"] for u in insp.get_unique_constraints(table.name)}
        declared = {c.name for c in table.constraints if c.__class__.__name__ == "UniqueConstraint"}
        assert declared <= uniques, (table.name, declared, uniques)


def test_submission_opened_once_by_many_threads(records_url):
    ledger = Ledger(records_url)
    with ThreadPoolExecutor(16) as pool:
        ids = list(
            pool.map(
                lambda _: ledger.open_submission(
                    dag_id="sop_publish", run_id="r-race", kind="publish", title="t", content=_content()
                ),
                range(32),
            )
        )
    assert len(set(ids)) == 1
    with ledger.session() as s:
        assert s.scalar(select(func.count()).select_from(Submission)) == 1


def _open_in_process(url: str, run_id: str, barrier, out) -> None:  # type: ignore[no-untyped-def]
    ledger = Ledger(url)
    barrier.wait(60)
    out.put(
        ledger.open_submission(dag_id="sop_publish", run_id=run_id, kind="publish", title="t", content={})
    )


def test_submission_opened_once_by_many_processes(records_url):
    Ledger(records_url)  # migrated before the race, as the init step does in production
    ctx = multiprocessing.get_context("fork")  # as Celery and Airflow make their task processes
    barrier, out = ctx.Barrier(6), ctx.Queue()
    procs = [
        ctx.Process(target=_open_in_process, args=(records_url, "r-proc", barrier, out)) for _ in range(6)
    ]
    for p in procs:
        p.start()
    ids = {out.get(timeout=120) for _ in procs}
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert len(ids) == 1


def test_incoming_items_recorded_once_by_overlapping_sweeps(records_url):
    ledger = Ledger(records_url)
    inbox = Inbox(ledger)
    sweep = inbox.start_sweep(run_id="r", slot="pagi", sop_sweep=True, channels=["website"])
    assert inbox.record_items(_items(range(10)), [Routed("perpustakaan")] * 10, sweep) == 10
    # the same ten and five new ones, from eight sweeps at once: each item stored once
    batch = _items(range(15))
    with ThreadPoolExecutor(8) as pool:
        new = list(
            pool.map(lambda _: inbox.record_items(batch, [Routed("perpustakaan")] * 15, sweep), range(8))
        )
    assert sum(new) == 5
    assert len(inbox.items()) == 15


def test_content_version_number_taken_once(records_url):
    ledger = Ledger(records_url)
    sid = ledger.open_submission(
        dag_id="sop_publish", run_id="r", kind="publish", title="t", content=_content()
    )
    updates = [
        ledger.open_submission(
            dag_id="sop_update", run_id=f"u{i}", kind="update", title="t", content=_content()
        )
        for i in range(8)
    ]
    outcomes: list[object] = []
    lock = threading.Lock()

    def propose(uid: int) -> None:
        try:
            row = ledger.add_content_version(
                sid, uid, version=2, content=_content(), diff="-a\n+b", reason="r"
            )
            result: object = row.update_submission_id
        except VersionTaken:
            result = "taken"
        with lock:
            outcomes.append(result)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(propose, updates))
    winners = [o for o in outcomes if o != "taken"]
    assert len(winners) == 1 and outcomes.count("taken") == 7
    with ledger.session() as s:
        assert s.scalar(select(func.count()).select_from(ContentVersion)) == 1


def test_nul_bytes_and_long_texts_are_stored(records_url):
    ledger = Ledger(records_url)
    inbox = Inbox(ledger)
    sweep = inbox.start_sweep(run_id="r", slot="pagi", sop_sweep=True, channels=["website"])
    item = IncomingItem(
        "website", "nul-1", "comment", "War\x00ga", NUL_TEXT, datetime.now(UTC), raw={"content": NUL_TEXT}
    )
    assert inbox.record_items([item, *_items(["long-1"], LONG_TEXT)], [Routed("kearsipan")] * 2, sweep) == 2
    rows = {r.platform_id: r for r in inbox.items()}
    assert rows["nul-1"].text == NUL_TEXT.replace("\x00", "\ufffd")
    assert rows["nul-1"].author == "War\ufffdga"
    assert rows["nul-1"].raw == {"content": NUL_TEXT}  # JSON keeps it, escaped
    assert rows["long-1"].text == LONG_TEXT
    sid = ledger.open_submission(
        dag_id="sop_publish", run_id="nul\x00run", kind="publish", title="a\x00b", content={"body": "x\x00y"}
    )
    ledger.add_event(sid, 2, "returned", actor="kasubag", reason="alasan\x00" + LONG_TEXT)
    assert ledger.submission_id("sop_publish", "nul\ufffdrun") == sid
    assert ledger.submission_id("sop_publish", "nul\x00run") == sid  # the query is bound the same way
    assert ledger.events(sid)[-1].reason == "alasan\ufffd" + LONG_TEXT


def _fill(ledger: Ledger) -> None:
    inbox = Inbox(ledger)
    sweep = inbox.start_sweep(run_id="r", slot="pagi", sop_sweep=True, channels=["website"])
    inbox.record_items(_items(range(50)), [Routed("perpustakaan")] * 50, sweep)
    inbox.set_watermark("website", "situs", "50", sweep)
    inbox.record_forwards([r.id for r in inbox.items()], "perpustakaan", sweep, "log")
    for i in range(5):
        sid = ledger.open_submission(
            dag_id="sop_publish", run_id=f"r{i}", kind="publish", title=f"t{i}", content=_content()
        )
        ledger.add_event(sid, 2, "approved", actor="kasubag")
        ledger.add_channel_result(sid, "website", mode="live", status="intent", idempotency_key=f"k{i}")
        ledger.add_channel_result(
            sid, "website", mode="live", status="published", idempotency_key=f"k{i}", post_id=str(i), url="u"
        )


def _dump(ledger: Ledger) -> dict[str, list[tuple]]:
    with ledger.engine.connect() as conn:
        return {
            t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
            for t in Base.metadata.sorted_tables
        }


def test_backup_and_restore_lose_nothing(records_url, tmp_path):
    ledger = Ledger(records_url)
    _fill(ledger)
    before = _dump(ledger)
    archive = backup(records_url, tmp_path / "cadangan.bak")
    assert archive.stat().st_mode & 0o777 == 0o600
    # records keep arriving after the backup, then the database is restored to the backup
    ledger.open_submission(
        dag_id="sop_publish", run_id="after", kind="publish", title="t", content=_content()
    )
    restore(records_url, archive)
    restored = Ledger(records_url)
    assert _dump(restored) == before
    # and it keeps working: new rows get fresh ids, unique keys still hold
    sid = restored.open_submission(
        dag_id="sop_publish", run_id="later", kind="publish", title="t", content={}
    )
    assert sid > max(r[0] for r in before["submissions"])
    assert (
        restored.open_submission(dag_id="sop_publish", run_id="r0", kind="publish", title="t", content={})
        == 1
    )


def test_restore_refuses_a_missing_or_foreign_file(records_url, tmp_path):
    Ledger(records_url)
    with pytest.raises(BackupError, match="tidak ada"):
        restore(records_url, tmp_path / "tidak-ada.bak")
    junk = tmp_path / "bukan.bak"
    junk.write_bytes(b"bukan cadangan")
    with pytest.raises(BackupError):
        restore(records_url, junk)


def test_copy_embedded_sqlite_records_to_postgresql(postgres, tmp_path):
    src = f"sqlite:///{tmp_path / 'sop_ledger.db'}"
    _fill(Ledger(src))
    dst = postgres.new_database()
    counts = copy_records(src, dst)
    assert counts["incoming_items"] == 50 and counts["submissions"] == 5
    target = Ledger(dst)
    assert _dump(target) == _dump(Ledger(src))
    sid = target.open_submission(dag_id="sop_publish", run_id="new", kind="publish", title="t", content={})
    assert sid == 6  # sequences continue after the copied ids
    with pytest.raises(BackupError, match="sudah berisi"):
        copy_records(src, dst)
    with target.session() as s:
        assert s.scalar(select(func.count()).select_from(IncomingItemRow)) == 50


def test_records_url_forms(postgres):
    """``postgres://`` (as Airflow renders a Postgres connection) names the same database."""
    url = postgres.new_database()
    Ledger(url.replace("postgresql://", "postgres://", 1))
    assert inspect(get_engine(url)).has_table("submissions")


def _fill_with_nul(ledger: Ledger) -> None:
    """A public comment, a run id, a title and a reason each carrying NUL; an update sealed too."""
    inbox = Inbox(ledger)
    sweep = inbox.start_sweep(run_id="r", slot="pagi", sop_sweep=True, channels=["website"])
    item = IncomingItem(
        "website", "nul-1", "comment", "War\x00ga", NUL_TEXT, datetime.now(UTC), raw={"content": NUL_TEXT}
    )
    inbox.record_items([item], [Routed("kearsipan")], sweep)
    inbox.finish_sweep(sweep, counts={"website": 1}, errors={"x": "gagal\x00"}, status="selesai\x00")
    sid = ledger.open_submission(
        dag_id="sop_publish", run_id="nul\x00run", kind="publish", title="a\x00b", content={"body": "x\x00y"}
    )
    ledger.add_event(sid, 2, "returned", actor="kasubag", reason="alasan\x00rusak")


def test_rows_with_nul_bytes_verify_clean_in_the_hash_chain(records_url):
    """NUL is replaced before a row is stored and the chain hashes the row as stored, so a row
    that carried NUL verifies clean on both backends — and a later change to it is still caught."""
    from sop_tasks.records import chain

    ledger = Ledger(records_url)
    _fill_with_nul(ledger)
    checked = chain.verify(ledger.engine)
    assert checked.ok, [p.text() for p in checked.problems]
    assert checked.rows >= 4
    with ledger.engine.begin() as conn:  # outside the system, as someone with the database could
        conn.execute(IncomingItemRow.__table__.update().values(text="Halo min"))
    problems = chain.verify(ledger.engine).problems
    assert [(p.kind, p.table) for p in problems] == [("changed", "incoming_items")]


def test_rows_with_nul_bytes_copied_to_postgresql_verify_clean(postgres, tmp_path):
    from sop_tasks.records import chain

    src = f"sqlite:///{tmp_path / 'sop_ledger.db'}"
    _fill_with_nul(Ledger(src))
    dst = postgres.new_database()
    copy_records(src, dst)
    checked = chain.verify(get_engine(dst))
    assert checked.ok, [p.text() for p in checked.problems]
    assert checked.rows == chain.verify(get_engine(src)).rows


def test_backup_and_copy_refuse_a_mistyped_or_unreachable_database(tmp_path):
    """A typo in --db must not create (and back up or copy) a new empty records database, and an
    unreachable destination is named without its password."""
    missing = f"sqlite:///{tmp_path / 'salah-ketik.db'}"
    with pytest.raises(BackupError, match="tidak ada; periksa alamat --db"):
        backup(missing, tmp_path / "cadangan.bak")
    assert not (tmp_path / "cadangan.bak").exists() and not (tmp_path / "salah-ketik.db").exists()
    with pytest.raises(BackupError, match="tidak ada"):
        copy_records(missing, f"sqlite:///{tmp_path / 'baru.db'}")
    assert not (tmp_path / "salah-ketik.db").exists()
    src = f"sqlite:///{tmp_path / 'sop_ledger.db'}"
    Ledger(src)
    with pytest.raises(BackupError, match="tidak dapat dibuka") as caught:
        copy_records(src, "postgresql://sop:rahasia-sekali@127.0.0.1:1/sop_ledger")
    assert "rahasia-sekali" not in str(caught.value)


def test_restore_refuses_a_database_that_is_not_the_records(tmp_path):
    import sqlite3

    url = f"sqlite:///{tmp_path / 'sop_ledger.db'}"
    ledger = Ledger(url)
    _fill(ledger)
    before = _dump(ledger)
    other = tmp_path / "airflow.db"  # e.g. Airflow's own database, picked by mistake
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE dag (dag_id TEXT)")
    with pytest.raises(BackupError, match="bukan cadangan catatan SOP"):
        restore(url, other)
    assert _dump(Ledger(url)) == before
