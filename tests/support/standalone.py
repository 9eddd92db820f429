"""Start the real stack — ``airflow standalone`` — as ``make run`` does, on a free port.

Used by the running-stack tests and by the benchmarks. Everything it started is stopped on exit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from sop_tasks.airflow.local import airflow_env, ensure_passwords, standalone_command
from sop_tasks.config import PROJECT_ROOT, load_config
from tests.support.airflow_api import ApiClient
from tests.support.ports import free_port, log_server_env


@dataclass
class Stack:
    base_url: str
    home: Path
    api: ApiClient
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, n: int = 80) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])

    def trigger(self, dag_id: str, conf: dict[str, Any], user: str = "pengelola_ti") -> str:
        r = self.api.request_retried(
            user, "POST", f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf}
        )
        assert r.status_code in (200, 201), r.text
        return str(r.json()["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        from urllib.parse import quote

        r = self.api.request("admin", "GET", f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}")
        assert r.status_code == 200, r.text
        return str(r.json()["state"])

    def run_info(self, dag_id: str, run_id: str) -> dict[str, Any]:
        from urllib.parse import quote

        r = self.api.request("admin", "GET", f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}")
        return dict(r.json())

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 180) -> str:
        end = time.monotonic() + timeout
        state = ""
        while time.monotonic() < end:
            state = self.run_state(dag_id, run_id)
            if state in ("success", "failed"):
                return state
            time.sleep(0.5)
        raise TimeoutError(f"run {run_id} still {state} after {timeout}s\n{self.log_tail()}")


@contextlib.contextmanager
def standalone(
    home: Path,
    *,
    timeout: float = 240,
    extra_env: dict[str, str] | None = None,
    base_path: str = "",
    request_timeout: float = 60,
) -> Iterator[Stack]:
    """``base_path`` (e.g. ``/sop``): serve under a sub-path, as behind a reverse proxy
    (``[api] base_url``); the API is then called through that sub-path."""
    cfg = load_config()
    port = free_port()
    env = os.environ.copy()
    env.update(airflow_env(home, cfg, root=PROJECT_ROOT, port=port))
    env.update(log_server_env())
    if base_path:
        env["AIRFLOW__API__BASE_URL"] = f"http://localhost:{port}{base_path}"
    # as `make run` does: no JWT secret from the environment (the in-process tests set one)
    env.pop("AIRFLOW__API_AUTH__JWT_SECRET", None)
    env.update(extra_env or {})
    passwords = ensure_passwords(home, cfg)
    bin_dir = Path(sys.executable).parent
    env["PATH"] = f"{bin_dir}:{env.get('PATH', '')}"
    log_path = home / "standalone.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        standalone_command(),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}{base_path}"
    session = requests.Session()

    def call(method: str, path: str, **kw: Any) -> requests.Response:
        return session.request(method, base + path, timeout=request_timeout, **kw)

    stack = Stack(base, home, ApiClient(call, passwords), proc, log_path)
    try:
        end = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"airflow standalone exited {proc.returncode}\n{stack.log_tail()}")
            if time.monotonic() > end:
                raise TimeoutError(f"Airflow not up in {timeout}s\n{stack.log_tail()}")
            try:
                r = stack.api.request("admin", "GET", "/api/v2/dags/sop_publish")
                if r.status_code == 200:
                    break
            except (requests.RequestException, AssertionError, KeyError):  # not up, or slow to answer
                pass
            time.sleep(1)
        # every component must sign and check tokens with the airflow.cfg written before they
        # started (sop_tasks.airflow.local.write_airflow_cfg); a generated key fails each task
        assert "using a generated one" not in log_path.read_text(errors="replace"), stack.log_tail()
        yield stack
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            pass
        # The leader may exit while a scheduler or executor worker it started is still shutting
        # down; the group outlives it, so make sure nothing of this stack keeps running.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        log.close()
