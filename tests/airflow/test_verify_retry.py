"""A retried or cleared verification never asks the official again: it carries out the answer."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from sop_tasks.airflow import operators
from sop_tasks.records.ledger import Ledger

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def update_dag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(str(REPO / "dags")).dags["sop_update"]


class _Ti:
    def __init__(self, sid: int) -> None:
        self.sid = sid

    def xcom_pull(self, task_ids):
        return {"submission_id": self.sid, "channels": ["website"]}


def _submission(ledger: Ledger) -> int:
    return ledger.open_submission(
        dag_id="sop_update",
        run_id=f"manual__{uuid.uuid4().hex}",
        kind="update",
        title="Jam layanan",
        content={
            "title": "Jam layanan",
            "body": "Buka",
            "channels": ["website"],
            "caption_instagram": "",
            "text_twitter": "",
        },
    )


def _run(task, ledger, sid, monkeypatch):
    skipped: list[str] = []
    asked: list[bool] = []
    monkeypatch.setattr(operators, "get_ledger", lambda: ledger)
    monkeypatch.setattr(task, "skip", lambda ti, tasks: skipped.extend(t.task_id for t in tasks))
    monkeypatch.setattr(operators.HITLOperator, "execute", lambda self, context: asked.append(True))
    out = task.execute({"ti": _Ti(sid), "task": task})
    return out, skipped, asked


def test_recorded_yes_goes_on_without_asking(update_dag, tmp_path, monkeypatch):
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    sid = _submission(ledger)
    ledger.add_event(sid, 3, "approved", actor="kabid")
    out, skipped, asked = _run(update_dag.get_task("sop03_verifikasi_kabid"), ledger, sid, monkeypatch)
    assert out == {"decision": "Ya", "by": "kabid"} and not skipped and not asked
    assert [e.event for e in ledger.events(sid)] == ["approved"]  # no second request recorded


def test_recorded_tidak_skips_the_rest_without_asking(update_dag, tmp_path, monkeypatch):
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    sid = _submission(ledger)
    ledger.add_event(sid, 3, "returned", actor="kabid", reason="tanggal salah")
    out, skipped, asked = _run(update_dag.get_task("sop03_verifikasi_kabid"), ledger, sid, monkeypatch)
    assert out["decision"] == "Tidak" and out["reason"] == "tanggal salah" and not asked
    assert "sop04_verifikasi_kadis" in skipped and "sop10_pemutakhiran_website" in skipped


def test_unanswered_step_is_asked(update_dag, tmp_path, monkeypatch):
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    sid = _submission(ledger)
    ledger.add_event(sid, 2, "approved", actor="kasubag")  # an earlier step only
    _, skipped, asked = _run(update_dag.get_task("sop03_verifikasi_kabid"), ledger, sid, monkeypatch)
    assert asked == [True] and not skipped
    assert [e.event for e in ledger.events(sid)][-1] == "requested"


def test_an_answer_airflow_stored_but_never_resumed_is_carried_out_not_asked_again(
    update_dag, tmp_path, monkeypatch
):
    """Try 1 asked; the official answered "Tidak" (recorded by the answer guard); the task failed
    while resuming (broker gone) and is retried: the retry records and carries out that answer."""
    from sop_tasks.approval import OPTION_NO

    ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    sid = _submission(ledger)
    ledger.add_event(sid, 3, "requested", detail={"content_hash": "abc"})
    ledger.add_event(
        sid, 3, "answered", actor="kabid", reason="tanggal salah", detail={"chosen_options": [OPTION_NO]}
    )
    out, skipped, asked = _run(update_dag.get_task("sop03_verifikasi_kabid"), ledger, sid, monkeypatch)
    assert out == {"decision": "Tidak", "by": "kabid", "reason": "tanggal salah"} and not asked
    assert "sop04_verifikasi_kadis" in skipped
    last = ledger.events(sid)[-1]
    assert (last.event, last.actor, last.reason, last.detail) == (
        "returned",
        "kabid",
        "tanggal salah",
        {"content_hash": "abc"},  # bound to the version the official was shown
    )
