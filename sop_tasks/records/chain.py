"""Tamper-evident records: every record row is sealed into one hash chain as it is written.

``record_chain`` holds one entry per row written (and one more each time a row is legitimately
updated, e.g. a sweep that finishes): the table, the row id, a hash of the row's stored values,
and ``hash = sha256(prev_hash | table | row id | op | row hash)`` chained to the entry before.
``verify`` recomputes every link and every row's hash and names what was changed, removed or
added outside the system; the newest entry (the *chain head*) is printed on the monthly report,
so a printed report can be checked against the database later (``sop records verify --kepala``).

How rows get sealed, without the writers knowing: a Core ``after_execute`` hook on the ledger's
engine seals the rows an INSERT on a record table added (the ORM's inserts and the bulk
``INSERT … ON CONFLICT DO NOTHING`` of record 2 alike), in the same transaction; an ORM
``after_update`` hook seals the new state of an updated row.

Concurrent writers: the chain must be appended by one transaction at a time, and rows must be
sealed in the order their ids were given. SQLite serialises writers itself (a transaction that
inserts holds the database's write lock until it commits, and the sealing reads inside it). On
PostgreSQL a transaction takes ``pg_advisory_xact_lock`` *before* its first write to a record
table (``before_execute``), so inserts into record tables, their id allocation and the sealing
are serialised until commit. A row inserted around the hooks (raw SQL) is sealed by the next
insert into its table, or reported by ``verify`` as not in the chain.

Row hashes are over the stored values as the database renders them as text (``CAST(… AS TEXT)``),
non-null columns only (so adding a nullable column later keeps old rows valid).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    cast,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.sql.dml import Delete, Insert, Update

from sop_tasks.records.models import Base

GENESIS = "0" * 64
CHAIN_TABLE = "record_chain"
PG_LOCK_KEY = 0x5050_4348  # "SOP" chain lock (any constant unique to this app)
OP_INSERT, OP_UPDATE = "insert", "update"

chain_metadata = MetaData()
record_chain = Table(
    CHAIN_TABLE,
    chain_metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("tbl", String(64), nullable=False),
    Column("row_id", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("op", String(10), nullable=False),
    Column("row_hash", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("at", DateTime, nullable=False),
    Index("ix_record_chain_tbl_row", "tbl", "row_id"),
)

# The record tables at migration 0005; a table added later is chained as soon as its model is in
# ``Base.metadata`` (see chained_tables).
TABLES_AT_0005 = (
    "submissions",
    "step_events",
    "channel_results",
    "content_versions",
    "sweeps",
    "watermarks",
    "incoming_items",
    "forwards",
    "follow_up_events",
    "reply_results",
)


_tables: dict[str, Table] = {}


def chained_tables() -> dict[str, Table]:
    """Every record table (each model of the ledger with an integer ``id`` primary key)."""
    if len(_tables) != len(Base.metadata.tables) - (CHAIN_TABLE in Base.metadata.tables):
        _tables.clear()
        _tables.update(
            (name, t)
            for name, t in Base.metadata.tables.items()
            if [c.name for c in t.primary_key.columns] == ["id"] and name != CHAIN_TABLE
        )
    return _tables


_names: dict[int, tuple[str, ...]] = {}


def _columns(table: Table) -> list[Column[Any]]:
    return sorted(table.columns, key=lambda c: c.name)


def _column_names(table: Table) -> tuple[str, ...]:
    names = _names.get(id(table))
    if names is None:
        names = _names[id(table)] = tuple(c.name for c in _columns(table))
    return names


def _row_hash(names: Sequence[str], values: Sequence[Any]) -> str:
    """sha256 over ``name:length:value;`` of every non-null column (length-prefixed: unambiguous)."""
    text = "".join(f"{n}:{len(v)}:{v};" for n, v in zip(names, values, strict=True) if v is not None)
    return hashlib.sha256(text.encode()).hexdigest()


def _text_select(table: Table) -> Any:
    """SELECT id, CAST(col AS TEXT)… — the stored values as the database renders them."""
    return select(table.c.id, *(cast(c, Text) for c in _columns(table)))


def _text_rows(conn: Connection, table: Table, batch: int = 20000) -> Any:
    """Every row of ``table`` as (id, text values…) tuples, straight from the driver (fast)."""
    sql = str(_text_select(table).order_by(table.c.id).compile(dialect=conn.dialect))
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(sql)
        while rows := cur.fetchmany(batch):
            yield from rows
    finally:
        cur.close()


def link(prev_hash: str, tbl: str, row_id: int, op: str, row_hash: str) -> str:
    return hashlib.sha256(f"{prev_hash}|{tbl}|{row_id}|{op}|{row_hash}".encode()).hexdigest()


# ---- writing -------------------------------------------------------------------------------------
def _head(conn: Connection) -> tuple[int, str]:
    row = conn.execute(
        select(record_chain.c.seq, record_chain.c.hash).order_by(record_chain.c.seq.desc()).limit(1)
    ).first()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)


def _lock(conn: Connection) -> None:
    """Serialise chain writers (PostgreSQL; SQLite's write lock does it already), once per transaction."""
    if conn.dialect.name != "postgresql":
        return
    txn = conn.get_transaction()
    if txn is not None and conn.info.get("sop_chain_locked") is txn:
        return
    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_LOCK_KEY})")
    conn.info["sop_chain_locked"] = txn


def _append(conn: Connection, entries: Iterable[tuple[str, int, str, str]]) -> int:
    """Append (table, row id, op, row hash) entries to the chain; returns how many."""
    seq, prev = _head(conn)
    rows = []
    at = datetime.now(UTC).replace(tzinfo=None)
    for tbl, row_id, op, row_hash in entries:
        seq += 1
        h = link(prev, tbl, row_id, op, row_hash)
        rows.append(
            {
                "seq": seq,
                "tbl": tbl,
                "row_id": row_id,
                "op": op,
                "row_hash": row_hash,
                "prev_hash": prev,
                "hash": h,
                "at": at,
            }
        )
        prev = h
    if rows:
        conn.execute(insert(record_chain), rows)
    return len(rows)


def seal_new(conn: Connection, table: Table) -> int:
    """Seal every row of ``table`` above the highest id already in the chain (in id order)."""
    _lock(conn)
    top = conn.scalar(select(func.max(record_chain.c.row_id)).where(record_chain.c.tbl == table.name))
    q = _text_select(table).order_by(table.c.id)
    if top is not None:
        q = q.where(table.c.id > top)
    rows = conn.execute(q).all()
    names = _column_names(table)
    return _append(conn, ((table.name, int(r[0]), OP_INSERT, _row_hash(names, r[1:])) for r in rows))


def seal_updated(conn: Connection, table: Table, row_ids: Iterable[int]) -> int:
    _lock(conn)
    ids = sorted(set(row_ids))
    if not ids:
        return 0
    rows = conn.execute(_text_select(table).where(table.c.id.in_(ids)).order_by(table.c.id)).all()
    names = _column_names(table)
    return _append(conn, ((table.name, int(r[0]), OP_UPDATE, _row_hash(names, r[1:])) for r in rows))


def seal_all(conn: Connection, tables: Iterable[str] = TABLES_AT_0005) -> int:
    """Seal every row not yet in the chain, table by table (the migration's backfill).

    The tables are read from the database as they are (a later migration's column is not there yet).
    """
    return sum(seal_new(conn, Table(name, MetaData(), autoload_with=conn)) for name in tables)


# ---- hooks -----------------------------------------------------------------------------------------
def _dml_table(clauseelement: Any) -> Table | None:
    if isinstance(clauseelement, Insert | Update | Delete):
        table = clauseelement.table
        if isinstance(table, Table) and table.name in chained_tables():
            return chained_tables()[table.name]
    return None


def _before_execute(
    conn: Connection, clauseelement: Any, multiparams: Any, params: Any, options: Any
) -> None:
    if _dml_table(clauseelement) is not None:
        _lock(conn)


def _after_execute(
    conn: Connection, clauseelement: Any, multiparams: Any, params: Any, options: Any, result: Any
) -> None:
    if isinstance(clauseelement, Insert):
        table = _dml_table(clauseelement)
        if table is not None:
            seal_new(conn, table)


def _after_update(mapper: Any, conn: Connection, target: Any) -> None:
    table = mapper.local_table
    if isinstance(table, Table) and table.name in chained_tables():
        seal_updated(conn, table, [target.id])


_installed_mappers = False


def install(engine: Engine) -> None:
    """Seal every record row this engine writes (called once per engine by ``get_engine``)."""
    global _installed_mappers
    if not event.contains(engine, "after_execute", _after_execute):
        event.listen(engine, "before_execute", _before_execute)
        event.listen(engine, "after_execute", _after_execute)
    if not _installed_mappers:
        event.listen(Base, "after_update", _after_update, propagate=True)
        _installed_mappers = True


# ---- verifying -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    kind: str  # changed | removed | unsealed | broken
    table: str
    row_id: int | None
    detail: str

    def text(self) -> str:
        where = f"{self.table} id {self.row_id}" if self.row_id is not None else self.table
        return f"{where}: {self.detail}"


@dataclass(frozen=True)
class ChainHead:
    seq: int
    hash: str

    def label(self) -> str:
        """How the head is printed: ``#1234:9f2c…`` (the first 16 hex digits)."""
        return f"#{self.seq}:{self.hash[:16]}"


@dataclass
class Verification:
    head: ChainHead
    entries: int
    rows: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def head(engine: Engine) -> ChainHead:
    with engine.connect() as conn:
        seq, h = _head(conn)
    return ChainHead(seq, h)


def parse_head(text: str) -> tuple[int, str]:
    """``#1234:9f2c…`` (as printed) → (1234, "9f2c…"); ValueError when it is not one."""
    raw = text.strip().lstrip("#")
    seq, _, prefix = raw.partition(":")
    if not seq.isdigit() or len(prefix) < 8 or any(c not in "0123456789abcdef" for c in prefix.lower()):
        raise ValueError(
            f"kepala rantai '{text}' tidak sah; salin dari kaki laporan, mis. #1234:9f2c0a1b3c4d5e6f"
        )
    return int(seq), prefix.lower()


def verify(engine: Engine, *, printed_head: str | None = None) -> Verification:
    """Recompute the chain and every record row's hash; name each row changed, removed or unsealed."""
    problems: list[Problem] = []
    latest: dict[str, dict[int, str]] = {}
    n_entries = 0
    prev, last_seq = GENESIS, 0
    printed = parse_head(printed_head) if printed_head else None
    printed_found = False
    with engine.connect() as conn:
        entries = select(
            record_chain.c.seq,
            record_chain.c.tbl,
            record_chain.c.row_id,
            record_chain.c.op,
            record_chain.c.row_hash,
            record_chain.c.prev_hash,
            record_chain.c.hash,
        ).order_by(record_chain.c.seq)
        cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cur.execute(str(entries.compile(dialect=conn.dialect)))
        result = cur.fetchall()
        cur.close()
        for seq, tbl, row_id, op, row_hash, prev_hash, h in result:
            n_entries += 1
            if seq != last_seq + 1:
                problems.append(
                    Problem("broken", CHAIN_TABLE, None, f"entri rantai #{last_seq + 1}–#{seq - 1} hilang")
                )
            if prev_hash != prev or link(prev_hash, tbl, row_id, op, row_hash) != h:
                problems.append(
                    Problem("broken", CHAIN_TABLE, seq, f"entri rantai #{seq} ({tbl} id {row_id}) diubah")
                )
            if printed and seq == printed[0]:
                printed_found = True
                if not h.startswith(printed[1]):
                    problems.append(
                        Problem(
                            "broken",
                            CHAIN_TABLE,
                            seq,
                            f"kepala rantai di laporan tercetak (#{printed[0]}:{printed[1]}) tidak cocok "
                            "dengan rantai sekarang: catatan sebelum laporan itu ditulis ulang",
                        )
                    )
            latest.setdefault(tbl, {})[row_id] = row_hash
            prev, last_seq = h, seq
        rows = 0
        tables = chained_tables()
        for name, table in tables.items():
            expected = latest.pop(name, {})
            names = _column_names(table)
            try:
                result = list(_text_rows(conn, table))
            except Exception:
                conn.rollback()
                if expected:
                    problems.append(Problem("removed", name, None, "tabel hilang dari basis data"))
                continue
            for r in result:
                rows += 1
                row_id = int(r[0])
                want = expected.pop(row_id, None)
                if want is None:
                    problems.append(
                        Problem(
                            "unsealed", name, row_id, "baris tidak ada di rantai (ditambahkan di luar sistem)"
                        )
                    )
                elif want != _row_hash(names, r[1:]):
                    problems.append(Problem("changed", name, row_id, "isi baris diubah setelah dicatat"))
            for row_id in sorted(expected):
                problems.append(Problem("removed", name, row_id, "baris dihapus"))
        for name, gone in latest.items():
            for row_id in sorted(gone):
                problems.append(Problem("removed", name, row_id, "baris dihapus (tabelnya tidak dikenal)"))
    if printed and not printed_found:
        problems.append(
            Problem(
                "broken",
                CHAIN_TABLE,
                printed[0],
                f"kepala rantai di laporan tercetak (#{printed[0]}) tidak ada di rantai: entri dihapus",
            )
        )
    problems.sort(key=lambda p: (p.table, p.row_id or 0, p.kind))
    return Verification(ChainHead(last_seq, prev), n_entries, rows, problems)


__all__ = [
    "ChainHead",
    "Problem",
    "Verification",
    "head",
    "install",
    "seal_all",
    "verify",
]
