"""The shortcuts around the approval chain that Airflow's own UI and REST API allow a staff account:
mark a waiting human step "success" (its ``execute_complete`` never runs), clear tasks, edit an
XCom. Used by the approval-gate tests in-process (REST app) and on the standalone stack."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from tests.support.airflow_api import ApiClient, pending_or_wait


def ti_path(dag_id: str, run_id: str, task_id: str) -> str:
    return f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}"


def mark(api: ApiClient, user: str, dag_id: str, run_id: str, task_id: str, state: str = "success") -> Any:
    """The task's *Mark as → Success* button: ``PATCH …/taskInstances/{task}`` with ``new_state``."""
    return api.request_retried(user, "PATCH", ti_path(dag_id, run_id, task_id), json={"new_state": state})


def clear(api: ApiClient, user: str, dag_id: str, run_id: str, task_ids: list[str]) -> Any:
    """The *Clear* button on some tasks of a run (they run again)."""
    return api.request_retried(
        user,
        "POST",
        f"/api/v2/dags/{dag_id}/clearTaskInstances",
        json={
            "dag_run_id": run_id,
            "task_ids": task_ids,
            "dry_run": False,
            "only_failed": False,
            "reset_dag_runs": True,
            "include_downstream": False,
        },
    )


def set_xcom(api: ApiClient, user: str, dag_id: str, run_id: str, task_id: str, value: Any) -> Any:
    """Overwrite a task's return value (``PATCH …/xcomEntries/return_value``)."""
    return api.request_retried(
        user,
        "PATCH",
        f"{ti_path(dag_id, run_id, task_id)}/xcomEntries/return_value",
        json={"value": value, "map_index": -1},
    )


@dataclass
class Marker:
    """Marks each listed human step "success" as soon as it waits for an answer, from a thread —
    nobody answers. ``before(run_id)`` runs once per run before its first mark (e.g. edit XCom)."""

    api: ApiClient
    dag_id: str
    tasks: list[str]
    user: str
    deadline_s: float = 240
    run_ids: set[str] | None = None  # only these runs (None: any run of the DAG)
    before: Any = None
    log: list[tuple[str, str, int, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _done: set[tuple[str, str, int]] = field(default_factory=set)
    _prepared: set[str] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        end = time.monotonic() + self.deadline_s
        try:
            while not self._stop.is_set() and time.monotonic() < end:
                for d in pending_or_wait(self.api, self.dag_id):
                    ti = d["task_instance"]
                    run_id, task_id = ti["dag_run_id"], ti["task_id"]
                    if self.run_ids is not None and run_id not in self.run_ids:
                        continue
                    # a step Airflow asks again (a marked step's try resumed under load, then
                    # retried: try 2) is marked again, as a clicking attacker would
                    attempt = (run_id, task_id, int(ti.get("try_number") or 0))
                    if task_id not in self.tasks or attempt in self._done:
                        continue
                    if ti.get("state") != "awaiting_input":
                        continue
                    try:
                        if self.before is not None and run_id not in self._prepared:
                            self.before(run_id)
                            self._prepared.add(run_id)
                        r = mark(self.api, self.user, self.dag_id, run_id, task_id)
                    except requests.RequestException:  # a slow, loaded api-server: the next
                        continue  # poll tries again while the step still waits (both repeatable)
                    self.log.append((task_id, self.user, r.status_code, r.text[:200]))
                    if r.status_code != 200:
                        self.errors.append(f"mark {task_id} by {self.user}: {r.status_code} {r.text[:300]}")
                    self._done.add(attempt)
                time.sleep(0.3)
        except Exception as exc:  # surfaced by the test
            self.errors.append(repr(exc))

    def start(self) -> threading.Thread:
        t = threading.Thread(target=self.run, daemon=True)
        t.start()
        return t

    def stop(self) -> None:
        self._stop.set()
