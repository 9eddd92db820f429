"""The one exactly-once helper: settled → nothing again; gate refuses → no connection, no write,
refusal recorded; intent before the write; a retry looks first; a platform error is recorded."""

from __future__ import annotations

from datetime import datetime

import pytest

from sop_tasks.channels.base import PublishResult
from sop_tasks.errors import ApprovalMissingError, TransientChannelError
from sop_tasks.exactly_once import Settled, write_once


class MemoryLog:
    """A result log in memory: the rows a ledger-backed log would append, in order."""

    key = "k1"

    def __init__(self) -> None:
        self.rows: list[tuple[str, str]] = []

    def settled(self) -> Settled | None:
        done = [r for r in self.rows if r[0] in ("published", "outbox")]
        return Settled("live", done[-1][0], "1", done[-1][1]) if done else None

    def attempted(self) -> bool:
        return any(r[0] == "intent" for r in self.rows)

    def intent(self, mode: str) -> None:
        self.rows.append(("intent", mode))

    def failed(self, mode: str, message: str) -> None:
        self.rows.append(("error", message))

    def done(self, result: PublishResult, started: datetime) -> None:
        self.rows.append((result.status, result.url or ""))

    def refused(self, message: str) -> None:
        self.rows.append(("refused", message))


class Writer:
    mode = "live"


def _result() -> PublishResult:
    return PublishResult("website", "live", "published", "1", "https://s/?p=1", "h")


def test_a_refused_write_never_looks_up_the_connection_nor_writes():
    log, calls = MemoryLog(), []

    def gate() -> None:
        raise ApprovalMissingError(["langkah 3 (Kepala Bidang) belum disetujui"])

    with pytest.raises(ApprovalMissingError):
        write_once(
            log, gate=gate, writer=lambda: calls.append("writer"), attempt=lambda *a: calls.append("w")
        )
    assert calls == []
    assert log.rows == [
        ("refused", "Ditolak: persetujuan tidak lengkap — langkah 3 (Kepala Bidang) belum disetujui")
    ]


def test_intent_first_then_settled_once_and_never_again():
    log, seen = MemoryLog(), []

    def attempt(w: Writer, key: str, retrying: bool) -> PublishResult:
        seen.append((log.rows[-1][0], key, retrying))  # the intent is recorded before the write
        return _result()

    settled, fresh = write_once(log, gate=lambda: None, writer=Writer, attempt=attempt)
    assert fresh is not None and settled.url == "https://s/?p=1"
    assert seen == [("intent", "k1", False)]

    def no_gate() -> None:
        raise AssertionError("a settled write is not checked or repeated")

    again, fresh = write_once(log, gate=no_gate, writer=Writer, attempt=attempt)
    assert fresh is None and again.url == settled.url and len(seen) == 1


def test_a_platform_error_is_recorded_and_the_retry_looks_first():
    log, retries = MemoryLog(), []

    def fail(w: Writer, key: str, retrying: bool) -> PublishResult:
        raise TransientChannelError("website", "502")

    with pytest.raises(TransientChannelError):
        write_once(log, gate=lambda: None, writer=Writer, attempt=fail)
    assert [r[0] for r in log.rows] == ["intent", "error"]

    def attempt(w: Writer, key: str, retrying: bool) -> PublishResult:
        retries.append(retrying)
        return _result()

    write_once(log, gate=lambda: None, writer=Writer, attempt=attempt)
    assert retries == [True]
