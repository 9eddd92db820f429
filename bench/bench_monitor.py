"""Issue 4 target: normalize, dedupe, route and record 10,000 incoming items in <= 10 s (no network).

A fake collector hands the sweep 10,000 items (10 % of them already recorded by an earlier sweep,
so dedupe works for real); the real router and the real SQLite ledger do the rest.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sop_tasks.incoming import CollectResult, IncomingItem  # noqa: E402
from sop_tasks.monitor import run_sweep  # noqa: E402
from sop_tasks.records.inbox import Inbox  # noqa: E402
from sop_tasks.records.ledger import Ledger  # noqa: E402
from sop_tasks.routing import Router, load_rules  # noqa: E402

WIB = ZoneInfo("Asia/Jakarta")


class Batch:
    channel = "twitter"

    def __init__(self, items: list[IncomingItem]) -> None:
        self.items = items

    def collect(self, watermark: str | None) -> CollectResult:
        return CollectResult(self.items, str(len(self.items)))


def main(n: int = 10_000) -> None:
    texts = [json.loads(line)["text"] for line in (REPO / "tests/data/routing_sample.jsonl").open()]
    rnd = random.Random(7)
    t0 = datetime(2026, 11, 26, 8, 0, tzinfo=WIB)
    items = [
        IncomingItem(
            channel="twitter",
            platform_id=str(10_000_000 + i),
            kind="mention",
            author=f"@warga{i}",
            text=f"{rnd.choice(texts)} {rnd.choice(texts)[:40]} #{i}",
            created_at=t0 + timedelta(seconds=i),
            url=f"https://x.com/warga{i}/status/{10_000_000 + i}",
        )
        for i in range(n)
    ]
    tmp = Path(tempfile.mkdtemp(prefix="sop-bench-monitor-"))
    inbox = Inbox(Ledger(f"sqlite:///{tmp / 'ledger.db'}"))
    router = Router(load_rules(REPO / "config" / "routing.yaml"))
    kw = {"accounts": {}, "run_id": "bench", "slot": "pagi", "sop_sweep": True}
    run_sweep(inbox, {"twitter": Batch(items[: n // 10])}, router.route_many, **kw)  # an earlier sweep
    start = time.perf_counter()
    report = run_sweep(inbox, {"twitter": Batch(items)}, router.route_many, **kw)
    took = time.perf_counter() - start
    assert report.counts["twitter"]["new"] == n - n // 10, report.counts
    assert len(inbox.items()) == n
    print("Normalize + dedupe + route + record (target <= 10 s for 10,000 items)")
    print(f"  {n} items collected, {report.counts['twitter']['new']} new, {n // 10} duplicates: {took:.2f} s")
    t = time.perf_counter()
    router.route_many(texts * (n // len(texts) + 1))
    rate = (n // len(texts) + 1) * len(texts) / (time.perf_counter() - t)
    print(f"  routing alone: {rate:,.0f} items/s (target >= 5,000)")


if __name__ == "__main__":
    main()
