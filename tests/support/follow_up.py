"""Record-3 (tindak lanjut) test setup shared by the follow-up, PPID, CLI and DAG tests:
an incoming item routed and forwarded to a bidang, the PPID mark step 8 puts on it, and the
bidang's decision. Setup only — the assertions stay in the tests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sop_tasks.config import OfficeConfig
from sop_tasks.followup import FollowUps, ppid_deadline
from sop_tasks.incoming import IncomingItem
from sop_tasks.records.inbox import Inbox
from sop_tasks.records.ledger import Ledger

WIB = ZoneInfo("Asia/Jakarta")
PPID_TEXT = "Permohonan informasi publik: daftar arsip statis 2020"


class Routed:
    """What the router decides for one item (only the fields ``Inbox.record_items`` reads)."""

    def __init__(self, bidang: str) -> None:
        self.bidang, self.spam, self.reasons = bidang, False, ("uji",)


def record_item(
    ledger: Ledger,
    n: int,
    text: str = "Mohon info jadwal",
    received: datetime | None = None,
    *,
    bidang: str = "perpustakaan",
    author: str = "Warga",
) -> Any:
    """A website comment (platform id ``n``) swept, routed and forwarded to ``bidang`` (step 7)."""
    inbox = Inbox(ledger)
    item = IncomingItem(
        "website", str(n), "comment", author, text, received or datetime.now(WIB), url=f"https://s/?c={n}"
    )
    sweep = inbox.start_sweep(run_id="r", slot="pagi", sop_sweep=True, channels=["website"])
    inbox.record_items([item], [Routed(bidang)], sweep)
    row = next(i for i in inbox.items() if i.platform_id == str(n))
    inbox.record_forwards([row.id], bidang, sweep, "log")
    return row


def mark_ppid(
    ledger: Ledger, cfg: OfficeConfig, row: Any, received: datetime, *, bidang: str = "perpustakaan"
) -> None:
    """Mark ``row`` as a PPID request the way step 8 marks it (deadline from its arrival)."""
    FollowUps(ledger).add(
        row.id, bidang, "ppid", ppid=True, deadline=ppid_deadline(cfg, received), run_id="r"
    )


def ppid_item(
    ledger: Ledger,
    cfg: OfficeConfig,
    n: int,
    received: datetime,
    text: str = PPID_TEXT,
    *,
    bidang: str = "perpustakaan",
) -> Any:
    """An item recorded and marked as a PPID request."""
    row = record_item(ledger, n, text, received, bidang=bidang)
    mark_ppid(ledger, cfg, row, received, bidang=bidang)
    return row


def decide(
    store: FollowUps,
    item_id: int,
    text: str | None = "Jam 8",
    run_id: str = "r",
    *,
    decision: str = "reply",
    bidang: str = "perpustakaan",
    actor: str | None = None,
    target_bidang: str | None = None,
    ppid: bool = False,
    deadline: date | None = None,
) -> None:
    """The bidang's step-8 decision; by default a reply by ``bidang_<bidang>``, not a PPID request."""
    store.decide(
        item_id,
        bidang,
        decision=decision,
        actor=f"bidang_{bidang}" if actor is None else actor,
        text=text,
        target_bidang=target_bidang,
        ppid=ppid,
        deadline=deadline,
        run_id=run_id,
    )


def published(store: FollowUps, item_id: int, post_id: str) -> None:
    """Step 9's outcome: the reply went up live as website comment ``post_id``."""
    store.add_reply_result(
        item_id,
        "website",
        mode="live",
        status="published",
        idempotency_key="k",
        post_id=post_id,
        url=f"https://s/?p=1#comment-{post_id}",
    )
