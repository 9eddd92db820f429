"""Issue 10: last approval → WordPress post visible, on the Celery stack (goal ≤ 5 s median) and,
on the same work side by side, on the embedded default (airflow standalone, SQLite).

Each run publishes one post to the real local WordPress; the three officials answer over REST as
soon as their question is settled; the clock starts when the Kepala Dinas's answer is accepted and
stops when the post's public URL answers 200.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("SOP_CONFIG_DIR", str(REPO / "config"))

import requests  # noqa: E402

from sop_tasks.approval import OPTION_YES  # noqa: E402
from sop_tasks.records.ledger import Ledger  # noqa: E402

VERIFY = [
    ("sop02_verifikasi_kasubag", "kasubag"),
    ("sop03_verifikasi_kabid", "kabid"),
    ("sop04_verifikasi_kadis", "kadis"),
]


def hops(stack: Any, run_id: str, answered: datetime) -> dict[str, float]:
    """Where the time after the Kepala Dinas's answer went, from the task instances' own stamps:
    for the resumed verification and then the upload, ready → queued (the scheduler) and
    queued → done (Celery's dispatch, the task process's start and the task itself)."""
    r = stack.api.request("admin", "GET", f"/api/v2/dags/sop_publish/dagRuns/{quote(run_id)}/taskInstances")
    tis = {t["task_id"]: t for t in r.json()["task_instances"]}
    out: dict[str, float] = {}
    ready = answered
    for task_id in (VERIFY[-1][0], "sop05_unggah_website"):
        queued, ended = (datetime.fromisoformat(tis[task_id][k]) for k in ("queued_when", "end_date"))
        short = task_id.split("_", 1)[1]
        out[f"{short}: ready -> queued (scheduler)"] = (queued - ready).total_seconds()
        out[f"{short}: queued -> done (worker)"] = (ended - queued).total_seconds()
        ready = ended
    return out


def one_run(stack: Any, ledger: Ledger, i: int) -> tuple[float, float, dict[str, float]]:
    """(last approval → post visible, trigger → post visible) in seconds, and the hops."""
    start = time.monotonic()
    run_id = stack.trigger(
        "sop_publish",
        {"title": f"Bench klaster {i} {uuid.uuid4().hex[:4]}", "body": "Isi.", "channels": ["website"]},
    )
    answered_at = 0.0
    for task_id, user in VERIFY:
        end = time.monotonic() + 300
        while True:
            pending = [
                d
                for d in stack.api.pending("sop_publish", run_id)
                if d["task_instance"]["task_id"] == task_id
            ]
            if pending and pending[0]["task_instance"].get("state") == "awaiting_input":
                break
            if time.monotonic() > end:
                raise TimeoutError(f"{task_id} never asked\n{stack.log_tail()}")
            time.sleep(0.1)
        r = stack.api.respond(user, "sop_publish", run_id, task_id, OPTION_YES, {"alasan": None})
        assert r.status_code == 200, r.text
        answered_at = time.monotonic()
        answered_wall = datetime.now(UTC)
    end = time.monotonic() + 300
    while True:
        summary = ledger.summary_for_run("sop_publish", run_id) or {}
        site = summary.get("channels", {}).get("website", {})
        if site.get("status") == "published" and requests.get(site["url"], timeout=10).status_code == 200:
            now = time.monotonic()
            return now - answered_at, now - start, hops(stack, run_id, answered_wall)
        if time.monotonic() > end:
            raise TimeoutError(f"post of {run_id} not visible\n{stack.log_tail()}")
        time.sleep(0.1)


@contextlib.contextmanager
def embedded(extra: dict[str, str]) -> Iterator[tuple[Any, Ledger]]:
    from tests.support.standalone import standalone

    home = Path(tempfile.mkdtemp(prefix="sop-bench-emb-"))
    try:
        with standalone(home, extra_env=extra) as stack:
            yield stack, Ledger(f"sqlite:///{home / 'sop_ledger.db'}")
    finally:
        shutil.rmtree(home, ignore_errors=True)


@contextlib.contextmanager
def celery(extra: dict[str, str]) -> Iterator[tuple[Any, Ledger]]:
    from tests.support.cluster import celery_stack

    with celery_stack(extra) as stack:
        yield stack, stack.ledger()


def main(runs: int = 5, celery_only: bool = False) -> None:
    from tests.support.wordpress import wordpress_site

    results: dict[str, tuple[float, list[float], list[float], list[dict[str, float]]]] = {}
    with wordpress_site() as site:
        extra = {"AIRFLOW_CONN_SOP_WEBSITE": site.conn_json(timeout=60)}
        for name, kind in (
            ("Celery (PostgreSQL, Redis, 2 workers)", celery),
            ("embedded (standalone, SQLite)", embedded),
        )[: 1 if celery_only else 2]:
            t = time.monotonic()
            with kind(extra) as (stack, ledger):
                up = time.monotonic() - t
                one_run(stack, ledger, -1)  # warm-up: first DAG run, first worker import
                rows = [one_run(stack, ledger, i) for i in range(runs)]
            results[name] = (up, [a for a, _, _ in rows], [b for _, b, _ in rows], [h for _, _, h in rows])
    print("Last approval -> WordPress post visible (goal <= 5 s median on the Celery stack)")
    for name, (up, approval, total, steps) in results.items():
        print(f"  {name}: start {up:.0f} s")
        print(
            "    approval -> visible: "
            + ", ".join(f"{x:.2f}" for x in approval)
            + f"  median {statistics.median(approval):.2f} s"
        )
        print(f"    trigger  -> visible: median {statistics.median(total):.2f} s")
        print("    after the answer, median per hop (s):")
        for hop in steps[0]:
            print(f"      {hop:<45} {statistics.median(s[hop] for s in steps):6.2f}")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--celery-only", action="store_true", help="skip the embedded default")
    a = p.parse_args()
    main(a.runs, a.celery_only)
