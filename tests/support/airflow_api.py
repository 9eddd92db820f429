"""A small client of Airflow's public REST API, as the office's staff would use it.

Works with FastAPI's TestClient (in-process app) and with ``requests`` against a running
api-server, so the same answering code drives ``dag.test()`` and the standalone stack.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

Call = Callable[..., Any]  # (method, path, **kwargs) -> response with .status_code/.json()


class ApiClient:
    def __init__(self, call: Call, passwords_file: Path) -> None:
        self._call = call
        self._passwords = json.loads(passwords_file.read_text())
        self._tokens: dict[str, str] = {}

    def token(self, user: str) -> str:
        if user not in self._tokens:
            r = self._call("POST", "/auth/token", json={"username": user, "password": self._passwords[user]})
            assert r.status_code in (200, 201), f"login {user}: {r.status_code} {r.text}"
            self._tokens[user] = r.json()["access_token"]
        return self._tokens[user]

    def request(self, user: str, method: str, path: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token(user)}"}
        return self._call(method, path, headers=headers, **kw)

    def request_retried(self, user: str, method: str, path: str, **kw: Any) -> Any:
        """As :meth:`request`, but a 500 "Database error" is sent again (up to 30 times, 3 s
        apart). Airflow rolls such a request back, so it is neither an allow nor a deny; these
        tests are about who may do what. That the embedded default answers no 5xx under load is
        asserted on its own, without retries (tests/e2e/test_embedded_load.py)."""
        for _ in range(30):
            r = self.request(user, method, path, **kw)
            if r.status_code != 500 or "Database error" not in r.text:
                break
            time.sleep(3)
        return r

    def pending(self, dag_id: str, run_id: str = "~", user: str = "admin") -> list[dict[str, Any]]:
        r = self.request(
            user,
            "GET",
            f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='~')}/hitlDetails",
            params={"response_received": "false"},
        )
        assert r.status_code == 200, r.text
        return list(r.json()["hitl_details"])

    def respond(
        self,
        user: str,
        dag_id: str,
        run_id: str,
        task_id: str,
        option: str,
        params: dict[str, Any] | None = None,
    ) -> Any:
        path = (
            f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/-1/hitlDetails"
        )
        return self.request_retried(
            user, "PATCH", path, json={"chosen_options": [option], "params_input": params or {}}
        )


def pending_or_wait(api: ApiClient, dag_id: str) -> list[dict[str, Any]]:
    """The DAG's open questions; none, after a second's wait, when a slow, loaded api-server did
    not answer in time (the polling thread asks again on its next round)."""
    try:
        return api.pending(dag_id)
    except requests.RequestException:
        time.sleep(1)
        return []


@dataclass
class Answer:
    user: str
    option: str
    reason: str | None = None
    expect_status: int = 200


@dataclass
class Answerer:
    """Answers approvals of one DAG as they appear, from a thread, with a watchdog deadline."""

    api: ApiClient
    dag_id: str
    script: dict[str, list[Answer]]
    deadline_s: float = 120
    params_for: Any = None  # Answer -> params_input; default: {"alasan": answer.reason}
    log: list[tuple[str, str, int, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seen_tasks: list[str] = field(default_factory=list)
    skip_runs: set[str] = field(default_factory=set)  # runs that are not this answerer's
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        end = time.monotonic() + self.deadline_s
        try:
            while not self._stop.is_set() and time.monotonic() < end:
                for d in pending_or_wait(self.api, self.dag_id):
                    ti = d["task_instance"]
                    task_id = ti["task_id"]
                    if ti.get("state") != "awaiting_input" or ti["dag_run_id"] in self.skip_runs:
                        continue  # not settled yet (see DESIGN.md: the 3.3.2 race), or not ours
                    if task_id not in self.seen_tasks:
                        self.seen_tasks.append(task_id)
                    answers = self.script.get(task_id)
                    if not answers:
                        continue
                    a = answers.pop(0)
                    params = self.params_for(a) if self.params_for else {"alasan": a.reason}
                    r = self.api.respond(a.user, self.dag_id, ti["dag_run_id"], task_id, a.option, params)
                    self.log.append((task_id, a.user, r.status_code, r.text[:300]))
                    if r.status_code != a.expect_status:
                        self.errors.append(f"{task_id} by {a.user}: {r.status_code} {r.text[:300]}")
                time.sleep(0.3)
        except Exception as exc:  # surfaced by the test
            self.errors.append(repr(exc))

    def start(self) -> threading.Thread:
        t = threading.Thread(target=self.run, daemon=True)
        t.start()
        return t

    def stop(self) -> None:
        self._stop.set()


def unstick(dag_id: str) -> list[str]:
    """Fail every task a dag.test() run of ``dag_id`` is still waiting on, so dag.test() returns."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from airflow.utils.types import DagRunTriggeredByType
    from sqlalchemy import select

    waiting = [TaskInstanceState.AWAITING_INPUT, TaskInstanceState.UP_FOR_RETRY, TaskInstanceState.DEFERRED]
    with create_session() as s:
        runs = s.scalars(
            select(DagRun.run_id).where(
                DagRun.dag_id == dag_id,
                DagRun.state == DagRunState.RUNNING,
                DagRun.triggered_by == DagRunTriggeredByType.TEST,
            )
        ).all()
        tis = s.scalars(
            select(TaskInstance).where(
                TaskInstance.dag_id == dag_id, TaskInstance.run_id.in_(runs), TaskInstance.state.in_(waiting)
            )
        ).all()
        for ti in tis:
            ti.state = TaskInstanceState.FAILED
        return [f"{ti.run_id}/{ti.task_id}" for ti in tis]


@contextmanager
def defaults_restored(dag: Any) -> Iterator[dict[str, Any]]:
    """The DAG's real param defaults, to send in full as a dag.test() run's conf.

    In-process, Airflow writes a run's conf into the DAG's Param objects and its tasks' copies
    (a worker parses the DAG afresh per task, so production never sees it): a value one test
    gave (say ``bidang``) would be the next run's default. So every run names every param, and
    the DAG's own Params are put back afterwards.
    """
    defaults = {key: copy.deepcopy(dag.params.get_param(key).value) for key in dag.params}
    try:
        yield copy.deepcopy(defaults)
    finally:
        for key, value in defaults.items():
            dag.params.get_param(key).value = value


def run_answered(
    dag: Any,
    api: ApiClient,
    script: dict[str, list[Answer]],
    conf: dict[str, Any],
    deadline_s: float = 150,
    *,
    params_for: Any = None,
    logical_date: Any = None,
) -> tuple[Any, Answerer]:
    """``dag.test(run_conf=conf)`` answered by ``script``; a watchdog fails it instead of hanging.

    ``script`` is copied (the same script can drive several runs), and every answer in it must
    have been asked for.
    """
    script = {task: list(answers) for task, answers in script.items()}
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    # Only the run dag.test() is about to create is answered: a question an earlier test left
    # waiting in the session's database (same DAG, another run) must not take these answers.
    with create_session() as s:
        earlier = set(s.scalars(select(DagRun.run_id).where(DagRun.dag_id == dag.dag_id)))
    answerer = Answerer(
        api, dag.dag_id, script, deadline_s=deadline_s, params_for=params_for, skip_runs=earlier
    )
    stuck: list[str] = []
    watchdog = threading.Timer(deadline_s, lambda: stuck.extend(unstick(dag.dag_id)))
    thread = answerer.start()
    watchdog.start()
    try:
        with defaults_restored(dag) as defaults:
            kwargs: dict[str, Any] = {"run_conf": {**defaults, **conf}}
            if logical_date is not None:
                kwargs["logical_date"] = logical_date
            dr = dag.test(**kwargs)
    finally:
        watchdog.cancel()
        answerer.stop()
        thread.join(5)
    assert not stuck, f"dag.test() waited for answers nobody gave: {stuck}; answered: {answerer.log}"
    assert not answerer.errors, answerer.errors
    assert not any(script.values()), f"answers never asked for: {script}; answered: {answerer.log}"
    return dr, answerer


def follow_up_form(a: Answer) -> dict[str, Any]:
    """The full form a follow-up answer sends (the guard refuses a partial one).

    ``Answer.reason`` carries the value of the field the chosen option needs: the reply, the
    reason or the target bidang; an answer to a reply approval sends only ``alasan``.
    """
    from sop_tasks.airflow import followup as fua
    from sop_tasks.followup import OPTION_NO_REPLY, OPTION_REPLY, OPTION_REROUTE

    if a.option in fua.APPROVAL_OPTIONS:
        return {"alasan": a.reason}
    fields: dict[str, Any] = {"reply": None, "alasan": None, "bidang_tujuan": None, "ppid": False}
    field = {OPTION_REPLY: "reply", OPTION_NO_REPLY: "alasan", OPTION_REROUTE: "bidang_tujuan"}[a.option]
    return {**fields, field: a.reason}
