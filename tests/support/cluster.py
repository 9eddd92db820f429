"""Start the production stack — ``make run-cluster``'s launcher — on free ports, for tests and benches.

The same :class:`~sop_tasks.airflow.cluster.NativeCluster` as ``make run-cluster`` (so the same
deploy/cluster.env), with a private data dir; the returned object has the standalone stack's
helpers (trigger, wait_run, api as the office's users) plus the cluster, to kill and restart
components. Everything it started is stopped on exit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from sop_tasks.airflow.cluster import NativeCluster
from sop_tasks.records.ledger import Ledger
from tests.support.airflow_api import ApiClient
from tests.support.ports import free_ports
from tests.support.standalone import Stack


@dataclass
class ClusterStack(Stack):
    cluster: NativeCluster | None = None

    def log_tail(self, n: int = 40) -> str:
        assert self.cluster is not None
        names = ["scheduler", *self.cluster.worker_names(), "api-server"]
        return "\n".join(f"--- {name}\n{self.cluster.log_tail(name, n)}" for name in names)

    def ledger(self) -> Ledger:
        assert self.cluster is not None
        return Ledger(self.cluster.settings()["AIRFLOW_CONN_SOP_LEDGER"])


def _stack(cluster: NativeCluster) -> ClusterStack:
    session = requests.Session()
    base = cluster.base_url

    def call(method: str, path: str, **kw: Any) -> requests.Response:
        return session.request(
            method,
            base + path,
            timeout=180,  # an answer is held up to 45 s (hitl_guard) on a loaded machine
            **kw,
        )

    api = ApiClient(call, cluster.secrets_dir / "passwords.json")
    return ClusterStack(
        base, cluster.home, api, cluster.procs["api-server"], cluster.logs / "scheduler.log", cluster
    )


@contextlib.contextmanager
def celery_stack(extra_env: dict[str, str] | None = None, *, timeout: float = 420) -> Iterator[ClusterStack]:
    root = Path(tempfile.mkdtemp(prefix="sop-cluster-"))
    cluster = NativeCluster(
        root,
        ports=free_ports(),
        config_dir=Path(os.environ["SOP_CONFIG_DIR"]),
        extra_env=extra_env,
        pg_options=("-c", "fsync=off"),
    )
    try:
        cluster.start(timeout)
        yield _stack(cluster)
    finally:
        cluster.stop()
        if not os.environ.get("SOP_KEEP_TEST_HOME"):
            shutil.rmtree(root, ignore_errors=True)
