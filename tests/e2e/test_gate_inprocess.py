"""The approval gate in-process on real Airflow: verification (or follow-up) tasks marked "success"
through the real REST app — nobody answered — and the channel write is refused, recorded, and
never made (outbox empty), for sop_publish, sop_update and a reply."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from sop_tasks.airflow import followup as fua
from sop_tasks.airflow.ledger import get_ledger
from sop_tasks.approval import OPTION_YES
from sop_tasks.followup import FollowUps
from sop_tasks.records.ledger import STATUS_REFUSED
from tests.support.airflow_api import Answer, defaults_restored, run_answered, unstick
from tests.support.follow_up import record_item
from tests.support.shortcuts import Marker

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]
VERIFY = ["sop02_verifikasi_kasubag", "sop03_verifikasi_kabid", "sop04_verifikasi_kadis"]
YES = {
    "sop02_verifikasi_kasubag": [Answer("kasubag", OPTION_YES)],
    "sop03_verifikasi_kabid": [Answer("kabid", OPTION_YES)],
    "sop04_verifikasi_kadis": [Answer("kadis", OPTION_YES)],
}


@pytest.fixture(autouse=True)
def no_connections(monkeypatch):
    for name in ("AIRFLOW_CONN_SOP_WEBSITE", "AIRFLOW_CONN_SOP_TWITTER", "AIRFLOW_CONN_SOP_INSTAGRAM"):
        monkeypatch.delenv(name, raising=False)


def _marked(dag: Any, api: Any, conf: dict[str, Any], tasks: list[str], user: str) -> tuple[Any, Marker]:
    """``dag.test(run_conf=conf)`` with ``tasks`` marked success by ``user`` as they wait; watchdog."""
    marker = Marker(api, dag.dag_id, tasks, user, deadline_s=200)
    stuck: list[str] = []
    watchdog = threading.Timer(200, lambda: stuck.extend(unstick(dag.dag_id)))
    thread = marker.start()
    watchdog.start()
    try:
        with defaults_restored(dag) as defaults:
            dr = dag.test(run_conf={**defaults, **conf})
    finally:
        watchdog.cancel()
        marker.stop()
        thread.join(5)
    assert not stuck, f"waited for answers nobody gave: {stuck}; marked: {marker.log}"
    assert not marker.errors, marker.errors
    return dr, marker


def _states(dr: Any) -> dict[str, tuple[str, int]]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as s:
        tis = s.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dr.dag_id, TaskInstance.run_id == dr.run_id)
        ).all()
        return {ti.task_id: (str(getattr(ti.state, "value", ti.state)), int(ti.try_number)) for ti in tis}


def _outbox(office_cfg: Any) -> set[str]:
    """Everything in the tests' shared outbox. Other modules' stacks (own records databases, so
    the same submission numbers) leave folders there too: a test compares before with after."""
    outbox = office_cfg.path("outbox")
    return {str(p) for p in outbox.rglob("*")} if outbox.exists() else set()


@pytest.mark.parametrize("user", ["pengelola_ti", "admin"])
def test_marking_the_three_verifications_success_publishes_nothing(dagbag, rest_api, office_cfg, user):
    dag = dagbag.dags["sop_publish"]
    form = {
        "title": f"Tanpa verifikasi {uuid.uuid4().hex[:6]}",
        "body": "Konten yang tidak pernah disetujui.",
        "channels": ["website", "twitter"],
    }
    before = _outbox(office_cfg)
    dr, marker = _marked(dag, rest_api, form, VERIFY, user)
    assert sorted(t for t, *_ in marker.log) == sorted(VERIFY)
    states = _states(dr)
    assert all(states[t][0] == "success" for t in VERIFY), states  # Airflow believes them approved
    for ch in ("website", "twitter"):
        assert states[f"sop05_unggah_{ch}"] == ("failed", 1), states  # failed, never retried
    ledger = get_ledger()
    sid = ledger.submission_id("sop_publish", dr.run_id)
    assert ledger.channel_results(sid) == [] and _outbox(office_cfg) == before
    summary = ledger.summary_of(sid)
    assert summary["status"] == STATUS_REFUSED
    assert summary["channels"]["website"]["status"] == STATUS_REFUSED
    reason = summary["steps"]["5"]["reason"]
    assert reason.startswith("Ditolak: persetujuan tidak lengkap — langkah 2 (Kasubag Umum dan Kepegawaian)")
    assert "langkah 3 (Kepala Bidang) belum disetujui" in reason
    assert "langkah 4 (Kepala Dinas) belum disetujui" in reason
    sub = ledger.submission(sid)
    assert sub.submitted_by and summary["steps"]["5"]["actor"] == sub.submitted_by  # who triggered the run
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as s:
        note = s.scalar(select(DagRun).where(DagRun.run_id == dr.run_id)).note
    assert note and "ditolak: persetujuan tidak lengkap" in note and "Kepala Bidang" in note


def test_an_update_with_its_verifications_marked_success_changes_nothing(dagbag, rest_api, office_cfg):
    publish = dagbag.dags["sop_publish"]
    title = f"Jam layanan {uuid.uuid4().hex[:6]}"
    form = {"title": title, "body": "Buka 08.00.", "channels": ["website"]}
    dr, _ = run_answered(publish, rest_api, YES, form)
    ledger = get_ledger()
    sid = ledger.submission_id("sop_publish", dr.run_id)
    assert ledger.summary_of(sid)["status"] == "outbox"
    before = _outbox(office_cfg)
    up, _ = _marked(
        dagbag.dags["sop_update"],
        rest_api,
        {"submission_id": sid, "reason": "Jam layanan berubah", "body": "Buka 07.00."},
        VERIFY,
        "pengelola_ti",
    )
    assert _states(up)["sop10_pemutakhiran_website"] == ("failed", 1)
    uid = ledger.submission_id("sop_update", up.run_id)
    assert ledger.channel_results(uid) == [] and _outbox(office_cfg) == before
    assert ledger.summary_of(uid)["status"] == STATUS_REFUSED
    assert ledger.live_version(sid)[0] == 1  # still the approved version everywhere


def test_marking_the_follow_up_decision_success_posts_no_reply(dagbag, rest_api, office_cfg):
    ledger = get_ledger()
    item = record_item(ledger, int(uuid.uuid4().int % 10**9), "Jam buka hari Sabtu?")
    dr, marker = _marked(
        dagbag.dags["sop_follow_up"],
        rest_api,
        {"item_id": item.id, "bidang": "perpustakaan"},
        [fua.DECIDE_TASK],
        "pengelola_ti",
    )
    assert [t for t, *_ in marker.log] == [fua.DECIDE_TASK]
    states = _states(dr)
    assert states[fua.REPLY_TASK] == ("failed", 1), states
    store = FollowUps(ledger)
    assert store.reply_results(item.id) == []
    refused = [e for e in store.events(item.id) if e.event == "refused"]
    assert len(refused) == 1 and refused[0].text.startswith("Ditolak: persetujuan tidak lengkap")
    row = next(r for r in store.summaries() if r["item_id"] == item.id)
    assert row["status"] == "menunggu tindak lanjut"  # nobody decided; nothing was posted
    assert row["status_label"] == "ditolak: persetujuan tidak lengkap (belum ada keputusan bidang)"
