"""Listener: when a SOP run ends, write its account from the records into the run's note.

It runs inside the scheduler (or ``dag.test()``) while the scheduler's session holds the DagRun,
so it must not use Airflow's scoped session (no ``BaseHook``), and it never raises: a note is
never worth a scheduler crash.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.listeners import hookimpl

from sop_tasks.airflow.ledger import ledger_url_in_server
from sop_tasks.notes import run_note
from sop_tasks.records.ledger import Ledger

log = logging.getLogger(__name__)
SOP_DAGS = ("sop_publish", "sop_update")


def _note_for(dag_id: str, run_id: str) -> str | None:
    ledger = Ledger(ledger_url_in_server())
    summary = ledger.summary_for_run(dag_id, run_id)
    return None if summary is None else run_note(summary)


def _set_note(dag_run: Any, text: str) -> None:
    """Set the note in the scheduler's own session, or in a private one when detached."""
    from sqlalchemy.orm import Session, object_session

    if object_session(dag_run) is not None:
        dag_run.note = text  # committed with the scheduler's state change
        return
    from airflow import settings
    from airflow.models.dagrun import DagRun

    with Session(settings.engine) as session:
        attached = session.get(DagRun, dag_run.id)
        if attached is not None:
            attached.note = text
            session.commit()


def _write_note(dag_run: Any) -> None:
    try:
        dag_id, run_id = dag_run.dag_id, dag_run.run_id
        if dag_id not in SOP_DAGS:
            return
        text = _note_for(dag_id, run_id)
        if text is not None:
            _set_note(dag_run, text)
    except Exception:
        log.exception("Catatan run tidak dapat ditulis")


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    _write_note(dag_run)


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    _write_note(dag_run)
