"""Issue 10 on the Celery stack (PostgreSQL, Redis, two workers): 200 submissions in flight plus a
sweep of 1,000 website comments, with nothing lost. Prints the wall time from the first trigger
until every submission's first question (the Kasubag's) waits and the sweep has recorded all
1,000 comments, and the counts on the way (5xx answers, failed tasks).

    .venv/bin/python bench/bench_cluster_load.py [--submissions 200]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("SOP_CONFIG_DIR", str(REPO / "config"))

from sop_tasks.records.inbox import Inbox  # noqa: E402
from tests.support.embedded_load import thousand_comments  # noqa: E402

STEP2 = "sop02_verifikasi_kasubag"


def main(submissions: int) -> None:
    from tests.support.cluster import celery_stack
    from tests.support.wordpress import wordpress_site

    with wordpress_site() as site:
        tag = thousand_comments(site)
        extra = {"AIRFLOW_CONN_SOP_WEBSITE": site.conn_json(timeout=60)}
        with celery_stack(extra) as stack:
            codes: list[int] = []
            runs: list[str] = []
            lock = threading.Lock()

            def trigger(i: int) -> None:
                conf = {"title": f"Muatan {i}", "body": "Isi.", "channels": ["twitter"]}
                r = stack.api.request(
                    "pengelola_ti",
                    "POST",
                    "/api/v2/dags/sop_publish/dagRuns",
                    json={"logical_date": None, "conf": conf},
                )
                with lock:
                    codes.append(r.status_code)
                    if r.status_code in (200, 201):
                        runs.append(r.json()["dag_run_id"])

            t0 = time.monotonic()
            sweep = stack.trigger("sop_monitor", {})
            with ThreadPoolExecutor(16) as pool:
                list(pool.map(trigger, range(submissions)))
            triggered = time.monotonic() - t0

            def waiting() -> int:
                r = stack.api.request(
                    "admin",
                    "GET",
                    "/api/v2/dags/sop_publish/dagRuns/~/taskInstances",
                    params={"task_id": STEP2, "state": "awaiting_input", "limit": 1},
                )
                return int(r.json()["total_entries"]) if r.status_code == 200 else -1

            end = time.monotonic() + 3600
            while waiting() < len(runs) and time.monotonic() < end:
                time.sleep(2)
            all_waiting = time.monotonic() - t0
            sweep_state = stack.wait_run("sop_monitor", sweep, timeout=max(60.0, end - time.monotonic()))
            swept = time.monotonic() - t0
            items = [i for i in Inbox(stack.ledger()).items() if tag in i.text]
            r = stack.api.request(
                "admin",
                "GET",
                "/api/v2/dags/~/dagRuns/~/taskInstances",
                params={"state": "failed", "limit": 1},
            )
            failed = r.json()["total_entries"] if r.status_code == 200 else f"? ({r.status_code})"
            print(f"Celery stack: {submissions} submissions in flight + a 1,000-comment sweep")
            errors = sum(c >= 500 for c in codes)
            print(f"  triggers: {len(runs)} accepted in {triggered:.1f} s, 5xx {errors}")
            print(f"  every first question waiting after {all_waiting:.0f} s ({waiting()} of {len(runs)})")
            print(f"  sweep {sweep_state} after {swept:.0f} s: {len(items)} of 1000 comments recorded")
            print(f"  failed task instances: {failed}")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--submissions", type=int, default=200)
    main(p.parse_args().submissions)
