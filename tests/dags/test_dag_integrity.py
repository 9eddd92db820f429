"""Every DAG imports cleanly and keeps the house rules (DESIGN.md, "Style, by example")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sop_tasks.sop import STEPS

REPO = Path(__file__).resolve().parents[2]
DAG_FILES = sorted((REPO / "dags").glob("*.py"))
STEP_TASK_IDS = {s.task_id for s in STEPS}


@pytest.fixture(scope="module")
def bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(str(REPO / "dags"))


def test_no_import_errors(bag):
    assert bag.import_errors == {}
    assert {
        "sop_publish",
        "sop_monitor",
        "sop_follow_up",
        "sop_update",
        "sop_pengingat",
        "sop_laporan_bulanan",
    } <= set(bag.dag_ids)


def test_house_rules(bag):
    for dag_id, dag in bag.dags.items():
        assert dag.dag_display_name != dag_id, f"{dag_id}: needs an Indonesian dag_display_name"
        assert "sop" in dag.tags, f"{dag_id}: tag 'sop'"
        assert dag.doc_md, f"{dag_id}: doc_md links the SOP step"
        assert not dag.catchup or dag_id == "sop_monitor"
        for t in dag.tasks:
            assert t.task_display_name != t.task_id, f"{dag_id}.{t.task_id}: Indonesian display name"


def test_publish_tasks_are_named_after_sop_steps(bag):
    dag = bag.dags["sop_publish"]
    ids = {t.task_id for t in dag.tasks}
    assert {
        "sop01_identifikasi",
        "sop02_verifikasi_kasubag",
        "sop03_verifikasi_kabid",
        "sop04_verifikasi_kadis",
    } <= ids
    for t in dag.tasks:
        assert t.task_id[:5] in {s.task_id[:5] for s in STEPS}, t.task_id
        assert t.task_display_name.split(".")[0] == str(int(t.task_id[3:5])), t.task_display_name
    assert [p for p in dag.params] == [
        "title",
        "body",
        "channels",
        "caption_instagram",
        "text_twitter",
        "media",
        "publish_at",
        "revision_of",
    ]


def test_approvals_have_no_default_and_no_timeout(bag):
    from airflow.providers.standard.operators.hitl import HITLOperator

    dag = bag.dags["sop_publish"]
    hitl = [t for t in dag.tasks if isinstance(t, HITLOperator)]
    assert [t.task_id for t in hitl] == [
        "sop02_verifikasi_kasubag",
        "sop03_verifikasi_kabid",
        "sop04_verifikasi_kadis",
    ]
    for t in hitl:
        assert t.defaults is None and t.response_timeout is None
        assert t.options[0].startswith("Ya") and t.options[1].startswith("Tidak")
    assert [u["id"] for u in hitl[1].assigned_users] == ["kabid", "plt_kabid"]  # from the test config


def test_update_dag_reuses_the_three_verifications_then_updates_each_channel(bag):
    from airflow.providers.standard.operators.hitl import HITLOperator

    dag = bag.dags["sop_update"]
    assert list(dag.params) == [
        "submission_id",
        "reason",
        "title",
        "body",
        "channels",
        "caption_instagram",
        "text_twitter",
        "media",
    ]
    order = [t.task_id for t in dag.topological_sort()]
    assert order[:4] == [
        "sop10_siapkan",
        "sop02_verifikasi_kasubag",
        "sop03_verifikasi_kabid",
        "sop04_verifikasi_kadis",
    ]
    assert set(order[4:]) == {f"sop10_pemutakhiran_{c}" for c in ("website", "instagram", "twitter")}
    hitl = [t for t in dag.tasks if isinstance(t, HITLOperator)]
    assert len(hitl) == 3 and all(t.defaults is None and t.response_timeout is None for t in hitl)
    assert all(t.source_task_id == "sop10_siapkan" for t in hitl)
    assert dag.get_task("sop10_pemutakhiran_website").task_display_name.startswith("10. ")
    # one update of a channel at a time across runs: check-then-write never interleaves
    assert all(dag.get_task(t).max_active_tis_per_dag == 1 for t in order[4:])
    assert bag.dags["sop_publish"].get_task("sop05_unggah_website").max_active_tis_per_dag is None


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_no_network_or_db_at_import(path, tmp_path):
    """Import each DAG file in a fresh interpreter where sockets and the ledger are forbidden."""
    probe = f"""
import socket, sys
def forbidden(*a, **k):
    raise RuntimeError("I/O at import: network")
socket.socket.connect = forbidden
socket.create_connection = forbidden
import sop_tasks.records.db as db
def no_db(*a, **k):
    raise RuntimeError("I/O at import: records DB")
db.get_engine = no_db
import runpy, time
t = time.perf_counter()
runpy.run_path({str(path)!r})
print(time.perf_counter() - t)
"""
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr[-3000:]


def test_broken_config_is_one_clear_import_error(tmp_path, monkeypatch):
    (tmp_path / "office.yaml").write_text("verifiers: []\nofficers: {users: []}\nbidang: []\n")
    probe = f"import runpy; runpy.run_path({str(REPO / 'dags' / 'sop_publish.py')!r})"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "SOP_CONFIG_DIR": str(tmp_path)},
    )
    assert out.returncode != 0
    err = out.stderr
    assert "SopConfigImportError: Konfigurasi kantor tidak valid" in err
    assert "officers.users" in err and "sop check-config" in err
    assert "pydantic" not in err  # no traceback soup from the validator
