"""Issue 10's load on the embedded default (``make run``: airflow standalone on SQLite): right
after a fresh stack is up, 100 concurrent API writes by staff (40 unpauses, 30 triggers, 30
answers sent as each question appears) while a sweep of 1,000 website comments runs.

Used by the load test (tests/e2e/test_embedded_load.py) and by bench/bench_embedded_load.py.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

from sop_tasks.approval import OPTION_YES
from sop_tasks.records.inbox import Inbox
from sop_tasks.records.ledger import Ledger
from tests.support.airflow_api import ApiClient
from tests.support.standalone import standalone


@dataclass
class LoadFigures:
    statuses: list[tuple[str, int]]  # (request, HTTP status; 0 = no answer in 300 s)
    latency: list[float]
    sweep_state: str
    comments_recorded: int
    failed_tasks: int | str
    locked_in_log: int
    log_tail: str

    @property
    def errors(self) -> list[tuple[str, int]]:
        return [(what, code) for what, code in self.statuses if code >= 500 or code == 0]


SPAM = "Link slot gacor maxwin hari ini, daftar sekarang"
VERIFIERS = {
    "sop02_verifikasi_kasubag": "kasubag",
    "sop03_verifikasi_kabid": "kabid",
    "sop04_verifikasi_kadis": "kadis",
}


def thousand_comments(wordpress) -> str:  # type: ignore[no-untyped-def]
    """A published post with 1,000 approved spam comments tagged with a fresh tag (returned)."""
    post = wordpress.publish_post("Promo layanan", "Isi.")
    tag = uuid.uuid4().hex[:6]
    wordpress.sql(
        "INSERT INTO wp_comments (comment_post_ID, comment_author, comment_author_email, comment_content, "
        "comment_date, comment_date_gmt, comment_approved) "
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) "
        f"SELECT {int(post.post_id)}, CONCAT('warga', i), 'w@warga.test', CONCAT('{SPAM} {tag}-', i), "
        "NOW(), UTC_TIMESTAMP(), '1' FROM n"
    )
    return tag


def load(wordpress) -> LoadFigures:  # type: ignore[no-untyped-def]
    """Start a fresh stack, load it, and return what happened (the stack is stopped after)."""
    home = Path(tempfile.mkdtemp(prefix="sop-load-"))
    try:
        tag = thousand_comments(wordpress)
        extra = {"AIRFLOW_CONN_SOP_WEBSITE": wordpress.conn_json(timeout=60)}
        with standalone(home, extra_env=extra) as stack:
            statuses: list[tuple[str, int]] = []
            latency: list[float] = []
            lock = threading.Lock()
            session = requests.Session()
            session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=32))
            # a slow answer on this shared 2-core machine is not a failure; an error answer is
            api = ApiClient(
                lambda method, path, **kw: session.request(method, stack.base_url + path, timeout=300, **kw),
                home / "passwords.json",
            )

            def call(user: str, method: str, path: str, **kw) -> int:  # type: ignore[no-untyped-def]
                t = time.monotonic()
                try:
                    r = api.request(user, method, path, **kw)
                except requests.Timeout:
                    with lock:
                        statuses.append((f"{method} {path} (timeout)", 0))
                        latency.append(time.monotonic() - t)
                    return 0
                latency.append(time.monotonic() - t)
                with lock:
                    statuses.append((f"{method} {path}", r.status_code))
                return r.status_code

            sweep = stack.trigger("sop_monitor", {})
            runs: list[str] = []

            def trigger(i: int) -> None:
                conf = {"title": f"Beban {i}", "body": "Isi.", "channels": ["twitter"]}
                body = {"logical_date": None, "conf": conf}
                try:
                    r = api.request("pengelola_ti", "POST", "/api/v2/dags/sop_publish/dagRuns", json=body)
                except requests.Timeout:
                    with lock:
                        statuses.append(("POST trigger (timeout)", 0))
                    return
                with lock:
                    statuses.append(("POST trigger", r.status_code))
                    if r.status_code in (200, 201):
                        runs.append(r.json()["dag_run_id"])

            dags = ["sop_publish", "sop_monitor", "sop_follow_up", "sop_update"]

            def unpause(i: int) -> None:
                call("admin", "PATCH", f"/api/v2/dags/{dags[i % 4]}", json={"is_paused": False})

            jobs = [(unpause, i) for i in range(40)] + [(trigger, i) for i in range(30)]
            random.Random(7).shuffle(jobs)
            with ThreadPoolExecutor(16) as pool:
                list(pool.map(lambda job: job[0](job[1]), jobs))
            # the remaining 30 writes are answers, sent as soon as each question shows up
            answered: set[tuple[str, str]] = set()
            end = time.monotonic() + 600
            with ThreadPoolExecutor(8) as pool:
                while len(answered) < 30 and time.monotonic() < end:
                    todo = []
                    for d in api.pending("sop_publish"):
                        ti = d["task_instance"]
                        key = (ti["dag_run_id"], ti["task_id"])
                        if (
                            key not in answered
                            and ti["task_id"] in VERIFIERS
                            and len(answered) + len(todo) < 30
                        ):
                            todo.append(key)
                    answered.update(todo)
                    list(
                        pool.map(
                            lambda k: call(
                                VERIFIERS[k[1]],
                                "PATCH",
                                f"/api/v2/dags/sop_publish/dagRuns/{k[0]}/taskInstances/{k[1]}/-1/hitlDetails",
                                json={"chosen_options": [OPTION_YES], "params_input": {"alasan": None}},
                            ),
                            todo,
                        )
                    )
                    time.sleep(0.5)
            sweep_state = stack.wait_run("sop_monitor", sweep, timeout=900)
            items = [i for i in Inbox(Ledger(f"sqlite:///{home / 'sop_ledger.db'}")).items() if tag in i.text]
            r = api.request(
                "admin",
                "GET",
                "/api/v2/dags/~/dagRuns/~/taskInstances",
                params={"state": "failed", "limit": 100},
            )
            failed = r.json()["total_entries"] if r.status_code == 200 else f"? ({r.status_code})"
            log = stack.log_path.read_text(errors="replace")
            return LoadFigures(
                statuses=statuses,
                latency=latency,
                sweep_state=sweep_state,
                comments_recorded=len(items),
                failed_tasks=failed,
                locked_in_log=log.count("database is locked"),
                log_tail=stack.log_tail(120),
            )
    finally:
        shutil.rmtree(home, ignore_errors=True)
