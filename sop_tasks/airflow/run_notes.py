"""Listener: when a SOP run ends, write its account from the records into the run's note.

Runs in the scheduler (or in ``dag.test()``), which may update the DagRun it is handed.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.listeners import hookimpl

from sop_tasks.airflow.ledger import get_ledger
from sop_tasks.notes import run_note

log = logging.getLogger(__name__)
SOP_DAGS = ("sop_publish", "sop_update")


def _write_note(dag_run: Any) -> None:
    if dag_run.dag_id not in SOP_DAGS:
        return
    try:
        ledger = get_ledger()
        sid = ledger.submission_id(dag_run.dag_id, dag_run.run_id)
        if sid is None:
            return
        summary = next(s for s in ledger.summaries() if s["id"] == sid)
        _set_note(dag_run, run_note(summary))
    except Exception:  # a note must never break the scheduler
        log.exception("Catatan run %s tidak dapat ditulis", dag_run.run_id)


def _set_note(dag_run: Any, text: str) -> None:
    """Set the note in the scheduler's own session, or in a new one when the run is detached."""
    from sqlalchemy.orm import object_session

    if object_session(dag_run) is not None:
        dag_run.note = text  # committed with the scheduler's state change
        return
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        attached = session.get(DagRun, dag_run.id)
        if attached is not None:
            attached.note = text


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    _write_note(dag_run)


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    _write_note(dag_run)
