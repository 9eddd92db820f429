"""End to end on the production stack (CeleryExecutor, PostgreSQL, Redis, two Celery workers),
started once by the same launcher as ``make run-cluster``: publishing to the real WordPress with
the three approvals over REST as the office's users, a sweep that collects a comment posted
through the site's form, the bidang's reply under it, records read back from PostgreSQL — and
faults, each ending with exactly one post and no lost approval."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from sop_tasks.airflow import followup as fua
from sop_tasks.airflow.publish import idempotency_key
from sop_tasks.approval import OPTION_YES
from sop_tasks.channels.website import slug_for
from sop_tasks.followup import OPTION_REPLY, FollowUps
from sop_tasks.records.inbox import Inbox
from tests.support.airflow_api import Answer, Answerer, ApiClient, follow_up_form
from tests.support.cluster import ClusterStack, celery_stack
from tests.support.skips import require

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
VERIFY = ("sop02_verifikasi_kasubag", "sop03_verifikasi_kabid", "sop04_verifikasi_kadis")
YES_SCRIPT = {
    "sop02_verifikasi_kasubag": [Answer("kasubag", OPTION_YES)],
    "sop03_verifikasi_kabid": [Answer("kabid", OPTION_YES)],
    "sop04_verifikasi_kadis": [Answer("kadis", OPTION_YES)],
}


@pytest.fixture(scope="module")
def stack(wordpress):
    from tests.support.pg import available

    require(available(), "run the Celery stack")
    extra = {
        "AIRFLOW_CONN_SOP_WEBSITE": wordpress.conn_json(timeout=60),
        # a worker killed mid-task is noticed in seconds rather than the default 5 minutes
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
    }
    with celery_stack(extra) as s:
        yield s


class _OneRun:
    """The REST client, seeing only the questions of one run (other tests' runs may be waiting)."""

    def __init__(self, api: ApiClient, run_id: str) -> None:
        self.api, self.run_id = api, run_id

    def pending(self, dag_id: str, run_id: str = "~", user: str = "admin") -> list[dict]:
        return self.api.pending(dag_id, self.run_id, user)

    def respond(self, *args: Any, **kw: Any) -> Any:
        return self.api.respond(*args, **kw)


def _answerer(
    stack: ClusterStack, run_id: str, script: dict, dag_id: str = "sop_publish", **kw: Any
) -> Answerer:
    answerer = Answerer(_OneRun(stack.api, run_id), dag_id, script, deadline_s=400, **kw)  # type: ignore[arg-type]
    answerer.start()
    return answerer


def _approve_all(stack: ClusterStack, run_id: str) -> tuple[Answerer, None]:
    return _answerer(stack, run_id, {k: list(v) for k, v in YES_SCRIPT.items()}), None


def _finish(stack: ClusterStack, run_id: str, answerer: Answerer, dag_id: str = "sop_publish") -> str:
    """The run's final state; on a timeout, what the officials' answers got back."""
    try:
        return stack.wait_run(dag_id, run_id, timeout=400)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\nanswers: {answerer.log}\nerrors: {answerer.errors}") from None
    finally:
        answerer.stop()


def _ti(stack: ClusterStack, dag_id: str, run_id: str, task_id: str) -> dict:
    r = stack.api.request(
        "admin", "GET", f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}"
    )
    return dict(r.json()) if r.status_code == 200 else {}


def _wait(cond, timeout: float, what: str, stack: ClusterStack):  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        assert time.monotonic() < end, f"{what} not after {timeout}s\n{stack.log_tail()}"
        time.sleep(0.3)


def _posts_for(wordpress, stack: ClusterStack, run_id: str, title: str) -> list[str]:
    ledger = stack.ledger()
    sid = ledger.submission_id("sop_publish", run_id)
    slug = slug_for(title, idempotency_key(sid, "sop_publish", run_id, "website"))
    return wordpress.sql(
        f"SELECT ID, post_status FROM wp_posts WHERE post_type='post' AND post_name LIKE '{slug}%'"
    ).splitlines()


def test_publish_with_three_approvals_then_an_update_changes_the_same_post(stack, wordpress):
    title = f"Layanan keliling Celery {uuid.uuid4().hex[:4]}"
    run_id = stack.trigger(
        "sop_publish", {"title": title, "body": "Jadwal Desember.", "channels": ["website"]}
    )
    answerer, _ = _approve_all(stack, run_id)
    state = _finish(stack, run_id, answerer)
    assert not answerer.errors, answerer.errors
    assert state == "success", stack.log_tail()
    assert [task for task, user, code, _ in answerer.log] == list(VERIFY)
    # the workers started warm (deploy/cluster.env selects sop_tasks.airflow.celery_config)
    for n in stack.cluster.worker_names():
        assert "Kode tugas SOP dimuat lebih dulu di worker" in stack.cluster.log_tail(n, 100000), n
    ledger = stack.ledger()
    assert ledger.engine.dialect.name == "postgresql"
    summary = ledger.summary_for_run("sop_publish", run_id)
    site = summary["channels"]["website"]
    assert summary["status"] == "diunggah" and site["status"] == "published"
    assert requests.get(site["url"], timeout=10).status_code == 200
    assert {e.actor for e in ledger.events(summary["id"]) if e.event == "approved"} == {
        "kasubag",
        "kabid",
        "kadis",
    }

    # the upload ran through the CeleryExecutor, on one of the two workers. The scheduler logs
    # the executor's event in a loop after the worker set the task's state: the run may read
    # "success" before that line is written
    def finished() -> list[str]:
        return [
            line
            for line in (stack.cluster.logs / "scheduler.log").read_text(errors="replace").splitlines()
            if f"task_id=sop05_unggah_website, run_id={run_id}," in line and "TaskInstance Finished" in line
        ]

    lines = _wait(finished, 120, "the scheduler's 'TaskInstance Finished' line of the upload", stack)
    assert all("executor=CeleryExecutor" in line for line in lines), lines
    posts = _posts_for(wordpress, stack, run_id, title)
    assert len(posts) == 1

    # step 10 on the same stack: the update, approved by the three officials, changes that post
    new_title = f"{title} (diperbarui)"
    update_run = stack.trigger(
        "sop_update", {"submission_id": summary["id"], "reason": "Jadwal berubah", "title": new_title}
    )
    answerer = _answerer(stack, update_run, {k: list(v) for k, v in YES_SCRIPT.items()}, "sop_update")
    assert _finish(stack, update_run, answerer, "sop_update") == "success", stack.log_tail()
    assert not answerer.errors, answerer.errors
    post_id = int(posts[0].split()[0])
    live = wordpress.sql(f"SELECT post_title FROM wp_posts WHERE ID={post_id}").strip()
    assert live == new_title
    same = f"SELECT COUNT(*) FROM wp_posts WHERE post_type='post' AND post_title LIKE '{title}%'"
    assert wordpress.sql(same).strip() == "1"  # changed in place, not posted again
    update = ledger.summary_for_run("sop_update", update_run)
    assert update is not None and update["channels"]["website"]["status"] == "published", update


def test_sweep_collects_a_form_comment_and_the_bidang_reply_appears_under_it(stack, wordpress):
    post = wordpress.publish_post("Pameran arsip", "Datang ya.")
    tag = uuid.uuid4().hex[:6]
    wordpress.post_comment(
        post.post_id, "Dewi", "dewi@warga.test", f"Min, arsip surat tanah desa 1975 ada? {tag}"
    )
    run_id = stack.trigger("sop_monitor", {})
    assert stack.wait_run("sop_monitor", run_id, timeout=300) == "success", stack.log_tail()
    inbox = Inbox(stack.ledger())
    item = next(i for i in inbox.items() if tag in i.text)
    assert item.bidang == "kearsipan"
    follow_up = fua.follow_up_run_id(item.id, "kearsipan")
    answer = f"Ada, silakan datang ke ruang arsip. {tag}"
    _wait(lambda: stack.run_info("sop_follow_up", follow_up).get("state"), 120, "follow-up run", stack)
    script = {fua.DECIDE_TASK: [Answer("bidang_kearsipan", OPTION_REPLY, answer)]}
    answerer = _answerer(stack, follow_up, script, "sop_follow_up", params_for=follow_up_form)
    state = _finish(stack, follow_up, answerer, "sop_follow_up")
    assert not answerer.errors and state == "success", (answerer.errors, answerer.log, stack.log_tail())
    posted = [r for r in FollowUps(stack.ledger()).reply_results(item.id) if r.status == "published"]
    assert len(posted) == 1
    rows = wordpress.sql(
        "SELECT comment_content FROM wp_comments "
        f"WHERE comment_parent={int(item.platform_id)} AND comment_approved='1'"
    ).splitlines()
    assert len(rows) == 1 and rows[0].startswith(answer), rows  # then the idempotency marker


def test_celery_worker_sigkilled_mid_upload_posts_exactly_once(stack, wordpress):
    title = f"Pengumuman libur Celery {uuid.uuid4().hex[:6]}"
    wordpress.delay_posts(6)  # the post request reaches WordPress, then the worker is killed
    try:
        run_id = stack.trigger(
            "sop_publish", {"title": title, "body": "Kantor tutup.", "channels": ["website"]}
        )
        answerer, _ = _approve_all(stack, run_id)
        cluster = stack.cluster
        assert cluster is not None

        def running_on_worker() -> tuple[str, int] | None:
            """(worker, task process group) once the upload's request is inside WordPress."""
            ti = _ti(stack, "sop_publish", run_id, "sop05_unggah_website")
            if not (
                wordpress.delayed_started_file.exists() and ti.get("state") == "running" and ti.get("pid")
            ):
                return None
            try:  # the task process has its own group; its supervisor is in the worker's
                task_group = os.getpgid(int(ti["pid"]))
                stat = Path(f"/proc/{int(ti['pid'])}/stat").read_text()
                worker_group = os.getpgid(int(stat.rsplit(")", 1)[1].split()[1]))
            except (ProcessLookupError, FileNotFoundError):
                return None
            name = next((n for n in cluster.worker_names() if cluster.procs[n].pid == worker_group), None)
            return (name, task_group) if name else None

        victim, task_group = _wait(running_on_worker, 300, "upload running on a worker", stack)
        # the whole worker goes, as when its container or machine dies: worker, pool, supervisor, task
        cluster.kill(victim, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(task_group, signal.SIGKILL)
        cluster.start_component(victim)
        state = _finish(stack, run_id, answerer)
    finally:
        wordpress.delay_posts(None)
    assert state == "success", stack.log_tail()
    assert _ti(stack, "sop_publish", run_id, "sop05_unggah_website")["try_number"] >= 2
    rows = _posts_for(wordpress, stack, run_id, title)
    assert len(rows) == 1 and rows[0].endswith("publish"), rows
    summary = stack.ledger().summary_for_run("sop_publish", run_id)
    assert summary["channels"]["website"]["post_id"] == rows[0].split()[0]


def _redeliver(cluster: Any, ti_id: str) -> int:
    """Put the upload's Celery message back on its queue while its first worker still runs it —
    what the Redis transport itself does when an acknowledgement is lost (the unacked message
    outlives the visibility timeout and is restored for any worker). Returns how many."""
    import base64
    import json

    import redis

    r = redis.Redis(host="127.0.0.1", port=cluster.ports.redis, password=cluster.secrets["REDIS_PASSWORD"])
    restored = 0
    for raw in r.hvals("unacked"):
        message, _exchange, routing_key = json.loads(raw)
        if ti_id in base64.b64decode(message["body"]).decode(errors="replace"):
            r.lpush(routing_key or "default", json.dumps(message))
            restored += 1
    return restored


def test_two_workers_pick_up_the_same_upload_after_a_lost_ack_posts_exactly_once(stack, wordpress):
    cluster = stack.cluster
    assert cluster is not None
    title = f"Ack hilang Celery {uuid.uuid4().hex[:6]}"
    wordpress.delay_posts(8)  # the first worker is inside WordPress when the copy is delivered
    try:
        run_id = stack.trigger("sop_publish", {"title": title, "body": "Uji.", "channels": ["website"]})
        answerer, _ = _approve_all(stack, run_id)

        def uploading() -> str | None:
            ti = _ti(stack, "sop_publish", run_id, "sop05_unggah_website")
            started = wordpress.delayed_started_file.exists() and ti.get("state") == "running"
            return str(ti["id"]) if started else None

        ti_id = _wait(uploading, 300, "upload inside WordPress", stack)
        assert _redeliver(cluster, ti_id) == 1, "the upload's message was not unacknowledged in Redis"
        state = _finish(stack, run_id, answerer)
    finally:
        wordpress.delay_posts(None)
    assert state == "success", stack.log_tail()
    rows = _posts_for(wordpress, stack, run_id, title)
    assert len(rows) == 1 and rows[0].endswith("publish"), rows
    summary = stack.ledger().summary_for_run("sop_publish", run_id)
    assert summary["channels"]["website"]["post_id"] == rows[0].split()[0]
    # both deliveries reached a worker; the exactly-one post above is what the copy could not break
    received = [
        line
        for n in cluster.worker_names()
        for line in cluster.log_tail(n, 20000).splitlines()
        if "Executing workload in Celery" in line and ti_id in line
    ]
    assert len(received) == 2, received  # the first delivery and the redelivered copy


def test_scheduler_sigkilled_while_a_question_waits_then_answered(stack, wordpress):
    cluster = stack.cluster
    assert cluster is not None
    title = f"Scheduler mati {uuid.uuid4().hex[:6]}"
    run_id = stack.trigger("sop_publish", {"title": title, "body": "Uji.", "channels": ["website"]})
    _wait(
        lambda: _ti(stack, "sop_publish", run_id, VERIFY[0]).get("state") == "awaiting_input",
        300,
        "first question",
        stack,
    )
    cluster.kill("scheduler", signal.SIGKILL)
    cluster.start_component("scheduler")
    cluster.wait_healthy(300)
    answerer, _ = _approve_all(stack, run_id)
    state = _finish(stack, run_id, answerer)
    assert not answerer.errors and state == "success", (answerer.errors, stack.log_tail())
    assert len(_posts_for(wordpress, stack, run_id, title)) == 1


def test_redis_restarted_during_a_run(stack, wordpress):
    """With the broker gone as an answered approval resumes, Airflow 3.3.2's CeleryExecutor
    reports the task failed and retries it; the retry takes the answer Airflow stored (recorded
    by the answer guard) instead of asking the official again."""
    cluster = stack.cluster
    assert cluster is not None
    title = f"Redis mulai ulang {uuid.uuid4().hex[:6]}"
    run_id = stack.trigger("sop_publish", {"title": title, "body": "Uji.", "channels": ["website"]})
    answerer, _ = _approve_all(stack, run_id)
    _wait(lambda: len(answerer.log) >= 1, 300, "first approval", stack)
    cluster.stop_component("redis")
    time.sleep(2)  # the broker is really gone for a moment while the run goes on
    cluster.start_redis()

    def settled() -> str | None:
        state = stack.run_state("sop_publish", run_id)
        if state in ("success", "failed"):
            return state
        ti = _ti(stack, "sop_publish", run_id, VERIFY[0])
        if ti.get("try_number", 1) >= 2 and ti.get("state") == "awaiting_input":
            return "the Kasubag was asked again: the first answer was lost"
        return None

    outcome = _wait(settled, 400, "the run after the Redis restart", stack)
    answerer.stop()
    assert outcome == "success", (outcome, answerer.log, answerer.errors)
    assert [t for t, *_ in answerer.log].count(VERIFY[0]) == 1  # the Kasubag answered once
    sid = stack.ledger().submission_id("sop_publish", run_id)
    approved = [e.step for e in stack.ledger().events(sid or 0) if e.event == "approved"]
    assert sorted(approved) == [2, 3, 4], approved
    assert len(_posts_for(wordpress, stack, run_id, title)) == 1


def test_answers_in_the_race_window_across_processes_none_lost(stack):
    """21 approvals (7 runs), each answered the instant its question appears, not once it settled."""
    conf = {"body": "b", "channels": ["twitter"]}
    runs = [
        stack.trigger("sop_publish", {**conf, "title": f"Balapan {i} {uuid.uuid4().hex[:4]}"})
        for i in range(7)
    ]
    answered: dict[tuple[str, str], int] = {}
    end = time.monotonic() + 600
    user_of = {VERIFY[0]: "kasubag", VERIFY[1]: "kabid", VERIFY[2]: "kadis"}

    def answer(d: dict) -> None:
        ti = d["task_instance"]
        key = (ti["dag_run_id"], ti["task_id"])
        if key in answered or ti["dag_run_id"] not in runs:
            return
        r = stack.api.respond(
            user_of[ti["task_id"]],
            "sop_publish",
            ti["dag_run_id"],
            ti["task_id"],
            OPTION_YES,
            {"alasan": None},
        )
        answered[key] = r.status_code

    with ThreadPoolExecutor(4) as pool:
        while len(answered) < 3 * len(runs) and time.monotonic() < end:
            pending = [
                d for d in stack.api.pending("sop_publish") if d["task_instance"]["dag_run_id"] in runs
            ]
            list(pool.map(answer, pending))  # any state: queued, running or awaiting_input
            time.sleep(0.1)
    states = {r: stack.wait_run("sop_publish", r, timeout=400) for r in runs}
    assert len(answered) == 21 and set(answered.values()) == {200}, answered
    assert set(states.values()) == {"success"}, (states, stack.log_tail())
    ledger = stack.ledger()
    for r in runs:
        sid = ledger.submission_id("sop_publish", r)
        approvals = [e for e in ledger.events(sid) if e.event == "approved"]
        assert sorted(e.step for e in approvals) == [2, 3, 4], (r, approvals)


def test_whole_stack_stopped_and_started_with_questions_waiting(stack, wordpress):
    """Last in the module: it restarts every process (same data dirs, ports and secrets)."""
    cluster = stack.cluster
    assert cluster is not None
    title = f"Tumpukan mulai ulang {uuid.uuid4().hex[:6]}"
    run_id = stack.trigger("sop_publish", {"title": title, "body": "Uji.", "channels": ["website"]})
    first = _answerer(stack, run_id, {VERIFY[0]: [Answer("kasubag", OPTION_YES)]})
    _wait(
        lambda: _ti(stack, "sop_publish", run_id, VERIFY[1]).get("state") == "awaiting_input",
        400,
        "second question",
        stack,
    )
    first.stop()
    cluster.stop()
    cluster.start(600)
    stack.proc = cluster.procs["api-server"]
    answerer = _answerer(stack, run_id, {k: list(v) for k, v in YES_SCRIPT.items() if k != VERIFY[0]})
    state = _finish(stack, run_id, answerer)
    assert not answerer.errors and state == "success", (answerer.errors, stack.log_tail())
    assert [e.actor for e in stack.ledger().events(stack.ledger().submission_id("sop_publish", run_id) or 0)
            if e.event == "approved"] == ["kasubag", "kabid", "kadis"]  # fmt: skip
    assert len(_posts_for(wordpress, stack, run_id, title)) == 1
