"""Celery settings of the production stack: Airflow's own, plus a warm start for every task.

Each task on a Celery worker runs in a process forked from the worker's pool process; whatever
that process has not imported, the task imports again: the DAG file's modules and, at task time,
the platform clients — about 1–2 s on two cores, paid by every hop of the SOP (the resumed
verification, the upload). Airflow preloads its own heavy modules on Celery's ``import_modules``
signal (``on_celery_import_modules`` in the Celery provider), sent in the worker before its pool
forks; the SOP's task code is preloaded on the same signal, so each task starts warm.

Selected by ``AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS`` in ``deploy/cluster.env``.
"""

from __future__ import annotations

import ast
import importlib
import logging
import pkgutil
from pathlib import Path
from typing import Any

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from celery.signals import import_modules

log = logging.getLogger(__name__)

PACKAGE = "sop_tasks"
# Not task code: the api-server's, the scheduler's and the launcher's parts, the command line.
NOT_TASK_CODE = (
    "sop_tasks.cli",
    "sop_tasks.airflow.action_log",
    "sop_tasks.airflow.auth",
    "sop_tasks.airflow.celery_config",
    "sop_tasks.airflow.cluster",
    "sop_tasks.airflow.hitl_guard",
    "sop_tasks.airflow.launcher",
    "sop_tasks.airflow.local",
    "sop_tasks.airflow.records_app",
    "sop_tasks.airflow.run_notes",
    "sop_tasks.airflow.sqlite",
    "sop_tasks.airflow.ui_timezone",
    "sop_tasks.records.migrations",
    "sop_tasks.routing.cli",
)


def dag_file_imports(dags_folder: Path) -> list[str]:
    """The modules the DAG files import at their top level (so a new DAG file is covered)."""
    names: set[str] = set()
    for path in sorted(dags_folder.glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
    names.discard("__future__")
    return sorted(names)


def task_modules() -> list[str]:
    """Every ``sop_tasks`` module a task may import, lazily included (clients, records, reports)."""
    package = importlib.import_module(PACKAGE)
    return sorted(
        m.name
        for m in pkgutil.walk_packages(package.__path__, f"{PACKAGE}.")
        if not any(m.name == n or m.name.startswith(f"{n}.") for n in NOT_TASK_CODE)
    )


def warm_imports(dags_folder: Path) -> list[str]:
    return sorted(set(dag_file_imports(dags_folder)) | set(task_modules()))


def warm(dags_folder: Path) -> list[str]:
    """Import what the tasks will; a module that fails is left to fail in its task, with its
    own error there, never the worker's start. Returns the modules that could not be imported."""
    names = warm_imports(dags_folder)
    failed = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # reported; the task importing it fails on its own
            failed.append(name)
            log.warning("Modul %s tidak dapat dimuat lebih dulu di worker: %s", name, exc)
    log.info(
        "Kode tugas SOP dimuat lebih dulu di worker: %d modul, %d gagal",
        len(names) - len(failed),
        len(failed),
    )
    return failed


@import_modules.connect
def _on_worker_import_modules(*args: Any, **kwargs: Any) -> None:
    from airflow.configuration import conf

    warm(Path(conf.get("core", "dags_folder")))


# Airflow's Celery settings, unchanged; importing this module is what connects the warm start.
CELERY_CONFIG: dict[str, Any] = dict(DEFAULT_CELERY_CONFIG)
