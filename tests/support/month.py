"""A month of SOP records written through the real ledger code at chosen times (November 2026, plus
one record of each kind in October that a November report must leave out). Setup only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import sop_tasks.followup.store
import sop_tasks.records.inbox
import sop_tasks.records.ledger
from sop_tasks.config import OfficeConfig
from sop_tasks.followup import FollowUps, ppid_deadline
from sop_tasks.incoming import IncomingItem
from sop_tasks.records.inbox import Inbox
from sop_tasks.records.ledger import Ledger
from tests.support.follow_up import WIB, Routed, decide, published

YEAR, MONTH = 2026, 11
# "Now" for the report: the month is over (the clocks are read on its last day).
NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


class Clock:
    """The ledger's ``utcnow`` under a test's control (naive UTC, like the ledger stores)."""

    def __init__(self) -> None:
        self.at = datetime(2026, 11, 2, 1, 0)

    def set(self, wib: datetime) -> None:
        self.at = wib.replace(tzinfo=WIB).astimezone(UTC).replace(tzinfo=None)

    def __call__(self) -> datetime:
        return self.at


@contextmanager
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    c = Clock()
    for mod in (sop_tasks.records.ledger, sop_tasks.records.inbox, sop_tasks.followup.store):
        monkeypatch.setattr(mod, "utcnow", c)
    yield c


def wib(day: int, hour: int, minute: int = 0, month: int = MONTH) -> datetime:
    return datetime(YEAR, month, day, hour, minute)


def _submission(ledger: Ledger, c: Clock, n: int, at: datetime, channels: tuple[str, ...]) -> int:
    c.set(at)
    return ledger.open_submission(
        dag_id="sop_publish",
        run_id=f"manual__{n}",
        kind="publish",
        title=f"Unggahan {n}",
        content={"title": f"Unggahan {n}", "channels": list(channels)},
        submitted_by="pengelola_ti",
    )


def _verify(ledger: Ledger, c: Clock, sid: int, at: datetime, minutes: dict[int, int], last: str) -> None:
    t = at
    for no, who in ((2, "kasubag"), (3, "kabid"), (4, "kadis")):
        if no not in minutes:
            break
        start = t.replace(tzinfo=WIB)
        end = start + timedelta(minutes=minutes[no])
        c.set(t)
        ledger.add_event(sid, no, "requested", started_at=start)
        outcome = "returned" if (last == "returned" and no == max(minutes)) else "approved"
        ledger.add_event(
            sid,
            no,
            outcome,
            actor=who,
            started_at=start,
            ended_at=end,
            reason="Perbaiki" * (outcome != "approved"),
        )
        t = t + timedelta(minutes=minutes[no] + 1)


def seed_month(ledger: Ledger, cfg: OfficeConfig, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Write the month; returns the ids a test may need."""
    ids: dict[str, Any] = {}
    inbox, fu = Inbox(ledger), FollowUps(ledger)
    with clock(monkeypatch) as c:
        # Record 1: A published (website live, twitter outbox; step 2 late), B returned by the
        # kabid, C waiting; D in October.
        a = _submission(ledger, c, 1, wib(3, 8), ("website", "twitter"))
        _verify(ledger, c, a, wib(3, 8, 5), {2: 20, 3: 10, 4: 5}, "approved")
        c.set(wib(3, 9))
        ledger.add_channel_result(a, "website", mode="live", status="intent", idempotency_key="a-w")
        ledger.add_channel_result(
            a,
            "website",
            mode="live",
            status="published",
            idempotency_key="a-w",
            post_id="77",
            url="https://dinarpus.test/?p=77",
        )
        ledger.add_channel_result(a, "twitter", mode="outbox", status="outbox", idempotency_key="a-t")
        b = _submission(ledger, c, 2, wib(10, 10), ("instagram",))
        _verify(ledger, c, b, wib(10, 10, 5), {2: 5, 3: 30}, "returned")
        cc = _submission(ledger, c, 3, wib(27, 14), ("website",))
        _verify(ledger, c, cc, wib(27, 14, 5), {}, "approved")
        d = _submission(ledger, c, 4, wib(30, 9, month=10), ("website",))
        ids["submissions"] = {"published": a, "returned": b, "waiting": cc, "october": d}

        # Monitoring: Mon 2 Nov all three slots, Tue 3 Nov only pagi and a failed siang,
        # Sat 7 Nov one extra sweep (holiday-free weekend: not flagged); 31 Oct one sweep.
        def sweep(at: datetime, slot: str | None, status: str = "ok", sop: bool = True) -> int:
            c.set(at)
            sid = inbox.start_sweep(
                run_id=f"scheduled__{at:%Y%m%d%H%M}", slot=slot, sop_sweep=sop, channels=["website"]
            )
            c.set(at + timedelta(minutes=2))
            inbox.finish_sweep(
                sid, counts={}, errors={} if status == "ok" else {"website": "x"}, status=status
            )
            return sid

        sweep(wib(31, 8, month=10), "pagi")
        first = sweep(wib(2, 8), "pagi")
        sweep(wib(2, 12), "siang")
        sweep(wib(2, 15, 30), "sore")
        sweep(wib(3, 8), "pagi")
        sweep(wib(3, 12), "siang", "failed")
        sweep(wib(7, 10), None, sop=False)
        ids["sweep"] = first

        # Record 2: three routed items and one spam in November, one item in October.
        def item(n: int, at: datetime, channel: str, bidang: str | None, spam: bool = False) -> int:
            c.set(at)
            r = Routed(bidang or "")
            r.bidang, r.spam = bidang, spam
            inc = IncomingItem(
                channel,
                f"p{n}",
                "comment",
                f"Warga {n}",
                f"Pesan {n}",
                at.replace(tzinfo=WIB),
                url=f"https://s/{n}",
            )
            inbox.record_items([inc], [r], first)
            return next(i.id for i in inbox.items() if i.platform_id == f"p{n}")

        i1 = item(1, wib(2, 8, 1), "website", "perpustakaan")
        i2 = item(2, wib(2, 8, 2), "website", "perpustakaan")
        i3 = item(3, wib(3, 8, 1), "twitter", "kearsipan")
        i4 = item(4, wib(3, 8, 2), "instagram", None, spam=True)
        i5 = item(5, wib(30, 8, month=10), "website", "perpustakaan")
        ids["items"] = {"reply": i1, "no_reply": i2, "reroute": i3, "spam": i4, "october": i5}

        # Record 3: forwards (step 7) then the bidang's decisions; i1 is a PPID request, answered.
        c.set(wib(2, 8, 3))
        inbox.record_forwards([i1, i2], "perpustakaan", first, "log")
        c.set(wib(3, 8, 3))
        inbox.record_forwards([i3], "kearsipan", first, "log")
        c.set(wib(30, 8, 5, month=10))
        inbox.record_forwards([i5], "perpustakaan", first, "log")
        c.set(wib(2, 9))
        fu.add(i1, "perpustakaan", "opened", run_id="manual__fu1")
        fu.add(
            i1,
            "perpustakaan",
            "ppid",
            ppid=True,
            deadline=ppid_deadline(cfg, wib(2, 8, 1).replace(tzinfo=WIB)),
            run_id="manual__fu1",
        )
        c.set(wib(2, 10))
        decide(fu, i1, "Jadwal buka jam 8", run_id="manual__fu1")
        c.set(wib(2, 10, 3))
        published(fu, i1, "c1")
        fu.add(i1, "perpustakaan", "posted", run_id="manual__fu1")
        c.set(wib(4, 11))
        decide(fu, i2, "Sudah dijawab lewat surat", decision="no_reply", run_id="manual__fu2")
        c.set(wib(3, 9))
        fu.add(
            i3,
            "kearsipan",
            "ppid",
            ppid=True,
            deadline=ppid_deadline(cfg, wib(3, 8, 1).replace(tzinfo=WIB)),
            run_id="manual__fu3",
        )
        c.set(wib(5, 11))
        decide(
            fu,
            i3,
            None,
            decision="reroute",
            bidang="kearsipan",
            target_bidang="sekretariat",
            run_id="manual__fu3",
        )
    return ids
