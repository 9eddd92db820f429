"""Issue 11's targets on a year of synthetic records (10,000 submissions, 100,000 incoming items,
20,000 follow-ups), written through the ledger's engine so every row is sealed in the hash chain:

- the month's summary (what the Catatan SOP page computes) <= 1 s,
- a month's PDF <= 10 s,
- ``sop records verify`` over everything <= 5 s.

``python bench/bench_report.py [--keep DIR]``; prints the figures.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import func, insert, select  # noqa: E402

from sop_tasks.config import load_config  # noqa: E402
from sop_tasks.records import chain  # noqa: E402
from sop_tasks.records.ledger import Ledger  # noqa: E402
from sop_tasks.records.models import (  # noqa: E402
    ChannelResult,
    FollowUpEvent,
    Forward,
    IncomingItemRow,
    ReplyResult,
    StepEvent,
    Submission,
    Sweep,
)

START = datetime(2025, 12, 1, 1, 0)  # a year, December 2025 – November 2026 (naive UTC)
DAYS = 365
SUBMISSIONS, ITEMS, FOLLOW_UPS = 10_000, 100_000, 20_000
BIDANG = ("perpustakaan", "kearsipan", "sekretariat")
CHANNELS = ("website", "instagram", "twitter")


def _at(rng: random.Random) -> datetime:
    return START + timedelta(seconds=rng.randrange(DAYS * 86400))


def populate(ledger: Ledger) -> dict[str, int]:
    rng = random.Random(11)
    eng = ledger.engine
    with eng.begin() as conn:  # record 1
        subs = sorted(_at(rng) for _ in range(SUBMISSIONS))
        conn.execute(
            insert(Submission),
            [
                {
                    "dag_id": "sop_publish",
                    "run_id": f"manual__{i}",
                    "kind": "publish",
                    "title": f"Unggahan {i}",
                    "content": {
                        "title": f"Unggahan {i}",
                        "body": "Isi " * 40,
                        "channels": list(CHANNELS[:2]),
                    },
                    "submitted_by": "pengelola_ti",
                    "created_at": at,
                }
                for i, at in enumerate(subs)
            ],
        )
        events, results = [], []
        for sid, at in enumerate(subs, 1):
            t = at
            for no, who in ((2, "kasubag"), (3, "kabid"), (4, "kadis")):
                took = timedelta(minutes=rng.randrange(2, 30))
                events.append(
                    {
                        "submission_id": sid,
                        "step": no,
                        "event": "requested",
                        "started_at": t,
                        "recorded_at": t,
                    }
                )
                outcome = "returned" if rng.random() < 0.03 else "approved"
                events.append(
                    {
                        "submission_id": sid,
                        "step": no,
                        "event": outcome,
                        "actor": who,
                        "started_at": t,
                        "ended_at": t + took,
                        "recorded_at": t + took,
                    }
                )
                t += took
                if outcome == "returned":
                    break
            else:
                for ch in CHANNELS[:2]:
                    results.append(
                        {
                            "submission_id": sid,
                            "channel": ch,
                            "mode": "live",
                            "status": "published",
                            "idempotency_key": f"k{sid}{ch}",
                            "post_id": str(sid),
                            "url": f"https://s/{ch}/{sid}",
                            "recorded_at": t + timedelta(minutes=3),
                        }
                    )
        conn.execute(insert(StepEvent), events)
        conn.execute(insert(ChannelResult), results)
    with eng.begin() as conn:  # sweeps: three a day, a few missed
        sweeps = []
        for d in range(DAYS):
            for slot, hour in (("pagi", 1), ("siang", 5), ("sore", 8)):
                if rng.random() < 0.02:
                    continue
                at = START + timedelta(days=d, hours=hour)
                sweeps.append(
                    {
                        "run_id": f"scheduled__{d}{slot}",
                        "slot": slot,
                        "sop_sweep": True,
                        "started_at": at,
                        "ended_at": at + timedelta(seconds=40),
                        "channels": list(CHANNELS),
                        "counts": {},
                        "errors": {},
                        "status": "ok",
                    }
                )
        conn.execute(insert(Sweep), sweeps)
        n_sweeps = len(sweeps)
    with eng.begin() as conn:  # record 2
        items = sorted(_at(rng) for _ in range(ITEMS))
        conn.execute(
            insert(IncomingItemRow),
            [
                {
                    "channel": CHANNELS[i % 3],
                    "platform_id": str(i),
                    "kind": "comment",
                    "author": f"warga{i % 5000}",
                    "text": f"Pesan nomor {i} tentang jam layanan perpustakaan",
                    "created_at": at,
                    "url": f"https://s/c/{i}",
                    "raw": {"id": i, "text": "x" * 60},
                    "seen_at": at + timedelta(minutes=20),
                    "sweep_id": 1 + (i % n_sweeps),
                    "bidang": BIDANG[i % 3],
                    "spam": i % 17 == 0,
                    "reasons": ["kata kunci: jam"],
                }
                for i, at in enumerate(items)
            ],
        )
    with eng.begin() as conn:  # record 3: 20,000 of them forwarded and followed up
        chosen = sorted(rng.sample([i for i in range(1, ITEMS + 1) if (i - 1) % 17], FOLLOW_UPS))
        seen = dict(conn.execute(select(IncomingItemRow.id, IncomingItemRow.seen_at)).all())
        fwd, fue, rep = [], [], []
        for item_id in chosen:
            b = BIDANG[(item_id - 1) % 3]
            at = seen[item_id] + timedelta(minutes=2)
            fwd.append({"item_id": item_id, "bidang": b, "via": "email", "forwarded_at": at})
            fue.append(
                {
                    "item_id": item_id,
                    "bidang": b,
                    "event": "opened",
                    "run_id": f"fu{item_id}",
                    "ppid": False,
                    "at": at,
                }
            )
            if item_id % 10 == 0:
                fue.append(
                    {
                        "item_id": item_id,
                        "bidang": b,
                        "event": "ppid",
                        "ppid": True,
                        "deadline": (at + timedelta(days=14)).date(),
                        "run_id": f"fu{item_id}",
                        "at": at,
                    }
                )
            decided = at + timedelta(hours=rng.randrange(1, 40))
            kind = rng.choice(("reply", "reply", "no_reply", "reroute"))
            fue.append(
                {
                    "item_id": item_id,
                    "bidang": b,
                    "event": kind,
                    "actor": f"bidang_{b}",
                    "text": "Jawaban",
                    "target_bidang": "sekretariat" if kind == "reroute" else None,
                    "ppid": False,
                    "run_id": f"fu{item_id}",
                    "at": decided,
                }
            )
            if kind == "reply":
                rep.append(
                    {
                        "item_id": item_id,
                        "channel": "website",
                        "mode": "live",
                        "status": "published",
                        "idempotency_key": f"r{item_id}",
                        "post_id": f"r{item_id}",
                        "url": f"https://s/r/{item_id}",
                        "recorded_at": decided + timedelta(minutes=2),
                    }
                )
                fue.append(
                    {
                        "item_id": item_id,
                        "bidang": b,
                        "event": "posted",
                        "ppid": False,
                        "run_id": f"fu{item_id}",
                        "at": decided + timedelta(minutes=2),
                    }
                )
        conn.execute(insert(Forward), fwd)
        conn.execute(insert(FollowUpEvent), fue)
        conn.execute(insert(ReplyResult), rep)
    with eng.connect() as conn:
        return {"chain entries": int(conn.scalar(select(func.count()).select_from(chain.record_chain)) or 0)}


def timed(fn, rounds: int = 3) -> tuple[float, float, object]:  # type: ignore[no-untyped-def]
    """Median wall and CPU seconds of ``rounds`` calls (CPU time shows the work on a busy machine)."""
    wall, cpu, result = [], [], None
    for _ in range(rounds):
        t, c = time.perf_counter(), time.process_time()
        result = fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu), result


def calibrate() -> float:
    """Seconds for 10 million additions in a Python loop (about 0.4 s on an idle modern core)."""
    t = time.perf_counter()
    s = 0
    for i in range(10_000_000):
        s += i
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--keep", help="keep the synthetic ledger in this folder")
    args = p.parse_args()
    from sop_tasks.reports.monthly import build
    from sop_tasks.reports.summary import month_summary

    cfg = load_config()
    work = Path(args.keep or tempfile.mkdtemp(prefix="sop-bench-report-"))
    work.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(f"sqlite:///{work / 'ledger.db'}")
    t = time.perf_counter()
    counts = populate(ledger)
    print("Monthly report and tamper evidence on a year of records (issue 11)")
    print(
        f"  synthetic year: {SUBMISSIONS} submissions, {ITEMS} incoming items, {FOLLOW_UPS} follow-ups; "
        f"{counts['chain entries']} rows sealed in {time.perf_counter() - t:.1f} s"
    )
    now = datetime(2026, 12, 1, 0, 0).astimezone()
    print(f"  machine: 10M-addition loop {calibrate():.2f} s (idle reference ~0.4 s); figures are wall / CPU")
    wall, cpu, ms = timed(lambda: month_summary(ledger, 2026, 11, cfg, now=now))
    print(
        f"  month_summary 2026-11 (target <= 1 s): {wall:.2f} s / {cpu:.2f} s "
        f"[{ms.submissions.total} submissions, {ms.incoming.total} items, {ms.follow_ups.total} follow-ups]"  # type: ignore[attr-defined]
    )
    wall, cpu, rep = timed(lambda: build(ledger, 2026, 11, cfg, "pdf", now=now), rounds=2)
    print(f"  month PDF (target <= 10 s): {wall:.2f} s / {cpu:.2f} s, {len(rep.content) // 1024} KiB")  # type: ignore[attr-defined]
    wall, cpu, rep = timed(lambda: build(ledger, 2026, 11, cfg, "xlsx", now=now), rounds=1)
    print(f"  month XLSX (no target): {wall:.2f} s / {cpu:.2f} s, {len(rep.content) // 1024} KiB")  # type: ignore[attr-defined]
    wall, cpu, result = timed(lambda: chain.verify(ledger.engine), rounds=2)
    print(
        f"  sop records verify (target <= 5 s): {wall:.2f} s / {cpu:.2f} s over {result.rows} rows, "  # type: ignore[attr-defined]
        f"{result.entries} entries, ok={result.ok}"  # type: ignore[attr-defined]
    )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
