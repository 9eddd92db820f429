"""SOP step 7 on real Airflow, in-process: the weekly retrain DAG, and a restored spam item that
reaches its bidang's ``sop_follow_up`` run through the monitor's step 7."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sop_tasks.airflow import followup as fua
from sop_tasks.airflow.ledger import get_ledger
from sop_tasks.cli import main as sop_main
from sop_tasks.incoming import IncomingItem
from sop_tasks.records.inbox import Inbox
from sop_tasks.records.ledger import Ledger
from sop_tasks.routing.evaluation import train_samples
from sop_tasks.routing.store import labels, models, note_follow_up_decision

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


@dataclass(frozen=True)
class _Routed:
    bidang: str | None
    spam: bool
    reasons: tuple[str, ...]


def _record(ledger: Ledger, texts: list[str], routed: _Routed) -> list[int]:
    inbox = Inbox(ledger)
    sweep = inbox.start_sweep(run_id=f"uji-{uuid.uuid4().hex[:6]}", slot=None, sop_sweep=False, channels=[])
    items = [
        IncomingItem(
            channel="twitter",
            platform_id=f"rute-{uuid.uuid4().hex}",
            kind="mention",
            author="@warga",
            text=t,
            created_at=datetime.now(UTC) - timedelta(minutes=5),
            url=None,
        )
        for t in texts
    ]
    inbox.record_items(items, [routed] * len(items), sweep)
    ids = {i.platform_id for i in items}
    return [i.id for i in inbox.items() if i.platform_id in ids]


def _ti_state(dr, task_id: str) -> str:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as s:
        state = s.scalar(
            select(TaskInstance.state).where(
                TaskInstance.dag_id == dr.dag_id,
                TaskInstance.run_id == dr.run_id,
                TaskInstance.task_id == task_id,
            )
        )
    return str(getattr(state, "value", state))


def test_retrain_dag_trains_evaluates_and_keeps_the_old_model_when_the_new_one_is_worse(
    dagbag, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "ledger.db"
    monkeypatch.setenv("AIRFLOW_CONN_SOP_LEDGER", json.dumps({"conn_type": "sqlite", "host": str(db)}))
    ledger = Ledger(f"sqlite:///{db}")
    dag = dagbag.dags["sop_routing_latih"]

    first = dag.test(logical_date=datetime(2026, 12, 7, 19, 0, tzinfo=UTC))
    assert first.state == "success" and _ti_state(first, "latih_dan_nilai") == "success"
    rows = models(ledger)
    # the shipped default became the first live version; the retrained one scores the same: used
    assert [r.status for r in rows] == ["replaced", "live"] and rows[0].version.startswith("bawaan-")
    good = rows[1]
    assert good.metrics["uji_beku"]["bidang_accuracy"] >= 0.95
    assert good.metrics["pembanding"]["versi"] == rows[0].version

    # Mistaken corrections: every library question "forwarded" to the kearsipan.
    library = [s.text for s in train_samples() if s.bidang == "perpustakaan"]
    for item_id in _record(ledger, library, _Routed("perpustakaan", False, ("uji",))):
        note_follow_up_decision(
            ledger, item_id, "perpustakaan", "reroute", "bidang_perpustakaan", target="kearsipan"
        )
    assert len(labels(ledger)) == len(library)

    second = dag.test(logical_date=datetime(2026, 12, 14, 19, 0, tzinfo=UTC))
    assert second.state == "success"
    rows = models(ledger)
    assert [r.status for r in rows] == ["replaced", "live", "rejected"]
    assert rows[1].version == good.version  # the old model stays live
    worse = rows[2]
    assert worse.corrections == len(library) and "tidak dipakai" in (worse.note or "")
    assert worse.metrics["uji_beku"]["bidang_accuracy"] < good.metrics["uji_beku"]["bidang_accuracy"]


def test_a_restored_false_spam_item_reaches_its_bidangs_follow_up(
    dagbag, capsys: pytest.CaptureFixture[str]
) -> None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    ledger = get_ledger()
    text = f"Kak, ada diskon denda buat yang telat balikin buku pas bulan literasi? {uuid.uuid4().hex[:4]}"
    (item_id,) = _record(ledger, [text], _Routed(None, True, ("spam: promosi dagang ('diskon')",)))
    assert sop_main(["spam", "daftar"]) == 0
    assert f"#{item_id} [SPAM]" in capsys.readouterr().out
    assert (
        sop_main(["spam", "pulihkan", str(item_id), "--bidang", "perpustakaan", "--oleh", "pengelola_ti"])
        == 0
    )

    dr = dagbag.dags["sop_monitor"].test()  # the next sweep: step 7 forwards it, step 8 starts
    assert dr.state == "success"
    forwards = [f for f in Inbox(ledger).forwards() if f.item_id == item_id]
    assert [(f.bidang, f.via) for f in forwards] == [("perpustakaan", "log")]
    run_id = fua.follow_up_run_id(item_id, "perpustakaan")
    with create_session() as s:
        run = s.scalar(select(DagRun).where(DagRun.dag_id == "sop_follow_up", DagRun.run_id == run_id))
        assert run is not None and run.conf == {"item_id": item_id, "bidang": "perpustakaan"}
    (label,) = [r for r in labels(ledger) if r.item_id == item_id]
    assert (label.source, label.bidang, label.actor) == ("bukan_spam", "perpustakaan", "pengelola_ti")
