"""Faults a stateful platform fake can inject around one operation (exactly-once tests).

The question every fault asks is *did the platform act?* — a lost answer or a process killed
after sending leave a post behind that the caller never heard about; a 5xx or a kill before
sending leave nothing.
"""

from __future__ import annotations

FAULTS = {
    "lost": "the operation happens, then the answer is lost (a read timeout)",
    "5xx": "a 5xx answer; the operation did NOT happen",
    "5xx_after": "the operation happens, then a 5xx answer",
    "killed": "the process dies while sending; the operation did NOT happen",
    "killed_after": "the operation happens, then the process dies before reading the answer",
}
ACTED = frozenset({"lost", "5xx_after", "killed_after"})  # the platform did act


class Killed(BaseException):
    """The worker process died here: nothing after this point of the task runs, not even
    ``except Exception`` handlers (the ledger gets no error row). Raised by a fake mid-request."""


class FaultQueue:
    """Faults queued per operation name, each used by the next request of that operation."""

    def __init__(self, ops: tuple[str, ...]) -> None:
        self.ops = ops
        self._queued: dict[str, list[str]] = {}

    def add(self, op: str, kind: str) -> None:
        if op not in self.ops or kind not in FAULTS:
            raise ValueError(f"unknown operation {op!r} or fault {kind!r}")
        self._queued.setdefault(op, []).append(kind)

    def take(self, op: str) -> str | None:
        queue = self._queued.get(op) or []
        return queue.pop(0) if queue else None
