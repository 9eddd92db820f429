"""Benchmark of the "Catatan SOP" summary page: server time with a year of records (target <= 1 s).

    .venv/bin/python bench/bench_records_page.py [--ledger sqlite:////path/year.db] [--rounds 5]

Without ``--ledger`` a synthetic year (10,000 submissions, 100,000 incoming items, 20,000
follow-ups) is generated with the report's generator (``bench/bench_report.py``'s ``populate``) into a
temporary database first. The page is asked for through the plugin app
itself (ASGI, in-process: template rendering, query layer and all), signed in as the Kadis, for
the busiest month; the JSON API and a bidang user's page are timed too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
TARGET_S = 1.0


def _year_ledger(tmp: Path) -> str:
    sys.path.insert(1, str(REPO / "bench"))
    from bench_report import populate  # the report's synthetic year (Dec 2025 – Nov 2026)

    from sop_tasks.records.ledger import Ledger

    url = f"sqlite:///{tmp / 'year.db'}"
    t = time.perf_counter()
    counts = populate(Ledger(url))
    print(f"  synthetic year written in {time.perf_counter() - t:.0f} s: {counts}")
    return url


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--ledger", help="records database URL with a year of records (default: generate one)")
    p.add_argument("--month", default="2026-06", help="the month to show (TTTT-BB)")
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    url = args.ledger or _year_ledger(Path(tempfile.mkdtemp(prefix="sop-bench-page-")))
    # The app finds the records through the sop_ledger connection, as in the API server.
    host = url.removeprefix("sqlite:///")
    os.environ["AIRFLOW_CONN_SOP_LEDGER"] = json.dumps({"conn_type": "sqlite", "host": host})

    from fastapi.testclient import TestClient

    from sop_tasks.airflow.records_app import Viewer, create_app, current_viewer

    app = create_app()
    who = {"viewer": Viewer("kadis", True)}
    app.dependency_overrides[current_viewer] = lambda: who["viewer"]
    client = TestClient(app)

    def timed(path: str) -> list[float]:
        times = []
        for _ in range(args.rounds):
            t = time.perf_counter()
            r = client.get(path)
            times.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text[:300]
        return times

    client.get("/api/ringkasan?bulan=2025-12")  # imports, engine, templates: paid once per server
    print(f"Catatan SOP summary page, one year of records, month {args.month} (target <= {TARGET_S:.0f} s)")
    print("  cold: the month computed by the query layer; warm: records unchanged since (cached)")
    for label, path, viewer in (
        ("Ringkasan (HTML), Kadis", f"/ringkasan?bulan={args.month}", Viewer("kadis", True)),
        ("Ringkasan (JSON), Kadis", f"/api/ringkasan?bulan={args.month}", Viewer("kadis", True)),
        ("Ringkasan (HTML), bidang", f"/ringkasan?bulan={args.month}", Viewer("b", False, ("perpustakaan",))),
    ):
        who["viewer"] = viewer
        times = timed(path)
        med = statistics.median(times[1:] or times)
        verdict = "ok" if max(times[0], med) <= TARGET_S else "TOO SLOW"
        print(f"  {label:<26} cold {times[0]:6.3f} s   warm median {med:6.3f} s   {verdict}")


if __name__ == "__main__":
    main()
