"""Issue 10 load on the embedded default (``make run``: airflow standalone on SQLite, WAL, 60 s busy
timeout, no connection pool, action log off the event loop): right after it is up, 100 concurrent
API writes by staff (unpause, trigger, answers) while a sweep of 1,000 comments runs. Target: no
5xx answer, no "database is locked", no task failed. Prints the counts, the slowest answer and
client timeouts (300 s). The same load is a test (tests/e2e/test_embedded_load.py).

    .venv/bin/python bench/bench_embedded_load.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("SOP_CONFIG_DIR", str(REPO / "config"))

from tests.support.embedded_load import load  # noqa: E402


def run(wordpress) -> None:  # type: ignore[no-untyped-def]
    f = load(wordpress)
    codes = [c for _, c in f.statuses]
    print("Embedded default under load (target: 0 errors, 0 'database is locked', 0 failed tasks)")
    print(f"  API writes {len(codes)}: 5xx {sum(1 for c in codes if c >= 500)}, "
          f"4xx {sum(1 for c in codes if 400 <= c < 500)}, "
          f"client timeouts (300 s) {sum(1 for c in codes if c == 0)}")  # fmt: skip
    if f.latency:
        median = sorted(f.latency)[len(f.latency) // 2]
        print(f"  slowest answer {max(f.latency):.1f} s, median {median:.2f} s")
    print(f"  sweep {f.sweep_state}: {f.comments_recorded} of 1000 comments recorded")
    print(f"  failed task instances {f.failed_tasks}; 'database is locked' in the log: {f.locked_in_log}")


if __name__ == "__main__":
    from tests.support.wordpress import wordpress_site

    with wordpress_site() as site:
        run(site)
