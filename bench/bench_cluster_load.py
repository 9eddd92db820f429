"""Issue 10 on the Celery stack (PostgreSQL, Redis, two workers): 200 submissions in flight plus a
sweep of 1,000 website comments, with nothing lost. The three officials answer every question over
REST as it appears (``sop_publish`` keeps at most 50 runs active; the rest queue until a slot is
free). Prints the wall time from the first trigger until all 200 are uploaded (X without a
connection: the outbox) and until the sweep has recorded all 1,000 comments, and the counts on
the way (5xx answers, failed tasks).

    .venv/bin/python bench/bench_cluster_load.py [--submissions 200]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("SOP_CONFIG_DIR", str(REPO / "config"))

from sop_tasks.approval import OPTION_YES  # noqa: E402
from sop_tasks.records.inbox import Inbox  # noqa: E402
from tests.support.embedded_load import thousand_comments  # noqa: E402


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
            started = datetime.now(UTC)
            sweep = stack.trigger("sop_monitor", {})
            with ThreadPoolExecutor(16) as pool:
                list(pool.map(trigger, range(submissions)))
            triggered = time.monotonic() - t0

            verifiers = {
                "sop02_verifikasi_kasubag": "kasubag",
                "sop03_verifikasi_kabid": "kabid",
                "sop04_verifikasi_kadis": "kadis",
            }
            answered: set[tuple[str, str]] = set()

            def answer(key: tuple[str, str]) -> None:
                run_id, task_id = key
                r = stack.api.respond(
                    verifiers[task_id], "sop_publish", run_id, task_id, OPTION_YES, {"alasan": None}
                )
                with lock:
                    codes.append(r.status_code)

            def finished() -> int:
                r = stack.api.request(
                    "admin",
                    "GET",
                    "/api/v2/dags/sop_publish/dagRuns",
                    params={"state": ["success", "failed"], "limit": 1},
                )
                return int(r.json()["total_entries"]) if r.status_code == 200 else -1

            end = time.monotonic() + 3600
            with ThreadPoolExecutor(8) as pool:
                while finished() < len(runs) and time.monotonic() < end:
                    todo = []
                    for d in stack.api.pending("sop_publish"):
                        ti = d["task_instance"]
                        key = (ti["dag_run_id"], ti["task_id"])
                        if key not in answered and ti["task_id"] in verifiers:
                            answered.add(key)
                            todo.append(key)
                    list(pool.map(answer, todo))
                    time.sleep(1)
            all_done = time.monotonic() - t0
            sweep_state = stack.wait_run("sop_monitor", sweep, timeout=max(60.0, end - time.monotonic()))
            info = stack.run_info("sop_monitor", sweep)  # the sweep's own end, not when it was looked at
            swept = (datetime.fromisoformat(info["end_date"]) - started).total_seconds()
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
            ok = stack.api.request(
                "admin", "GET", "/api/v2/dags/sop_publish/dagRuns", params={"state": "success", "limit": 1}
            ).json()["total_entries"]
            print(f"  {len(answered)} answers; {len(runs)} finished after {all_done:.0f} s, {ok} uploaded")
            print(
                f"  sweep {sweep_state}, ended {swept:.0f} s after the first trigger: "
                f"{len(items)} of 1000 comments recorded"
            )
            print(f"  failed task instances: {failed}")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--submissions", type=int, default=200)
    main(p.parse_args().submissions)
