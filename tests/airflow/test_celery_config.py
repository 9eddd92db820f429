"""The Celery workers' warm start (sop_tasks/airflow/celery_config.py): a task forked from a warm
worker imports none of the SOP's code again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sop_tasks.airflow import celery_config

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"


def test_settings_are_airflows_own_and_selected_by_the_deployment():
    from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

    assert celery_config.CELERY_CONFIG == DEFAULT_CELERY_CONFIG
    env = (REPO / "deploy" / "cluster.env").read_text()
    assert "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS=sop_tasks.airflow.celery_config.CELERY_CONFIG" in env


def test_warm_list_covers_the_dag_files_and_the_platform_clients_but_not_server_parts():
    names = celery_config.warm_imports(DAGS)
    for needed in (
        "sop_tasks.airflow.operators",  # sop_publish.py imports it
        "airflow.sdk",
        "sop_tasks.airflow.hooks",  # imported only at task time
        "sop_tasks.channels.website",
        "sop_tasks.records.ledger",
    ):
        assert needed in names
    for server_part in celery_config.NOT_TASK_CODE:
        assert not any(n == server_part or n.startswith(f"{server_part}.") for n in names), server_part


def test_a_new_dag_files_imports_are_covered(tmp_path):
    (tmp_path / "sop_baru.py").write_text(
        "from __future__ import annotations\nimport json\nfrom sop_tasks.workdays import x\nfrom . import y\n"
    )
    assert celery_config.dag_file_imports(tmp_path) == ["json", "sop_tasks.workdays"]


def test_a_module_that_fails_to_import_does_not_stop_the_worker(tmp_path, caplog):
    (tmp_path / "sop_rusak.py").write_text("import modul_yang_tidak_ada_sama_sekali\n")
    failed = celery_config.warm(tmp_path)
    assert failed == ["modul_yang_tidak_ada_sama_sekali"]
    assert "tidak dapat dimuat lebih dulu di worker" in caplog.text


# In a fresh interpreter, as a Celery worker starts: the config module is imported, Celery sends
# import_modules, then (in a forked child, as Airflow's supervisor does) every DAG file is loaded
# and an upload's hook is looked up. What the child still had to import is printed.
CHILD = r"""
import importlib.util, json, os, sys
from pathlib import Path
import sop_tasks.airflow.celery_config  # what celery_config_options does in the worker
if sys.argv[1] == "warm":
    from celery.signals import import_modules
    import_modules.send(sender=None)
r, w = os.pipe()
if os.fork() == 0:
    before = set(sys.modules)
    for path in sorted(Path(sys.argv[2]).glob("*.py")):
        spec = importlib.util.spec_from_file_location("dag_" + path.stem, path)
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    import sop_tasks.airflow.hooks
    new = sorted(m for m in set(sys.modules) - before if m.startswith("sop_tasks"))
    os.write(w, json.dumps(new).encode())
    os._exit(0)
os.close(w)
print(os.read(r, 1 << 20).decode())
"""


def _child_imports(mode: str) -> list[str]:
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS), "SOP_CONFIG_DIR": str(REPO / "config")}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(DAGS)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_a_task_forked_from_a_warm_worker_imports_no_sop_code_again():
    cold = _child_imports("cold")
    assert "sop_tasks.airflow.operators" in cold and "sop_tasks.channels.website" in cold  # it can fail
    assert _child_imports("warm") == []
