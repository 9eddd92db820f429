"""Outbox → live on the real WordPress through ``sop_terbitkan`` (in-process ``dag.test()``).

An office without connections approved a submission into the outbox; then the WordPress
connection ``sop_website`` is added. The release run makes exactly one live post, with the
approvals checked; a second release is refused naming the URL; ``sop records list`` shows it.
"""

from __future__ import annotations

import argparse
import io
import uuid

import pytest

from sop_tasks import cli
from sop_tasks.airflow.ledger import get_ledger, ledger_url
from sop_tasks.airflow.publish import identify, publish_channel
from sop_tasks.airflow.release import DAG_ID, live_key, refusals
from sop_tasks.channels.website import slug_for
from tests.support.approvals import approve_all

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
TASK = "sop05_terbitkan_website"


def _states(dr) -> dict[str, str]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as s:
        rows = s.execute(
            select(TaskInstance.task_id, TaskInstance.state).where(
                TaskInstance.run_id == dr.run_id, TaskInstance.dag_id == DAG_ID
            )
        ).all()
    return {t: str(getattr(st, "value", st)) for t, st in rows}


def _check_triggered(run_id: str, conf: dict) -> None:
    """The command's run: queued for the scheduler, with the form and who asked (then removed)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as s:
        run = s.scalar(select(DagRun).where(DagRun.dag_id == DAG_ID, DagRun.run_id == run_id))
        assert run is not None and run.conf == conf and run.triggering_user_name == "pengelola_ti"
        assert str(getattr(run.state, "value", run.state)) == "queued"
        s.delete(run)  # no scheduler here; the same run is executed below with dag.test()


def test_outbox_submission_goes_live_once(dagbag, wordpress, office_cfg, monkeypatch):
    for name in ("AIRFLOW_CONN_SOP_WEBSITE", "AIRFLOW_CONN_SOP_TWITTER", "AIRFLOW_CONN_SOP_INSTAGRAM"):
        monkeypatch.delenv(name, raising=False)
    ledger = get_ledger()
    title = f"Dari outbox {uuid.uuid4().hex[:6]}"
    sid = int(
        identify(
            {"title": title, "body": "Layanan perpustakaan keliling.", "channels": ["website"], "media": []},
            dag_id="sop_publish",
            run_id=f"manual__{uuid.uuid4().hex}",
            submitted_by="pengelola_ti",
            run_started=None,
            ledger=ledger,
            cfg=office_cfg,
        )["submission_id"]
    )
    approve_all(ledger, sid, office_cfg)
    assert publish_channel("website", sid, ledger=ledger, cfg=office_cfg)["mode"] == "outbox"
    sub = ledger.submission(sid)
    assert sub is not None
    prefix = slug_for(title, live_key(sid, sub.dag_id, sub.run_id, "website"))
    assert wordpress.posts_with_slug_prefix(prefix) == []

    dag = dagbag.dags[DAG_ID]
    conf = {"submission_id": sid, "channels": ["website"]}
    # still no connection: refused, nothing written, nothing recorded
    dr = dag.test(run_conf=conf)
    assert _states(dr)[TASK] == "failed"
    assert [r.status for r in ledger.channel_results(sid)] == ["intent", "outbox"]

    # the command says so at once, and triggers nothing
    out, err = io.StringIO(), io.StringIO()
    args = argparse.Namespace(nomor=sid, kanal=["website"], oleh="pengelola_ti", db=ledger_url())
    assert cli.cmd_terbitkan(args, out, err) == 1
    assert "koneksi sop_website belum ada" in err.getvalue() and out.getvalue() == ""

    monkeypatch.setenv("AIRFLOW_CONN_SOP_WEBSITE", wordpress.conn_json())
    # the command: the records allow it, so it triggers sop_terbitkan through Airflow itself
    out = io.StringIO()
    assert cli.cmd_terbitkan(args, out, io.StringIO()) == 0, out.getvalue()
    run_id = out.getvalue().split("(run ", 1)[1].split(")", 1)[0]
    _check_triggered(run_id, conf)
    dr = dag.test(run_conf=conf)
    states = _states(dr)
    assert states[TASK] == "success", states
    assert states["sop05_terbitkan_twitter"] == "skipped"
    posts = wordpress.posts_with_slug_prefix(prefix)
    assert len(posts) == 1, posts
    live = [r for r in ledger.channel_results(sid) if r.status == "published"]
    assert len(live) == 1 and live[0].action == "publish_live" and live[0].mode == "live"
    url = live[0].url
    assert url and live[0].post_id
    status = wordpress.sql(f"SELECT post_status FROM wp_posts WHERE ID={live[0].post_id}").strip()
    assert status == "publish"
    event = [e for e in ledger.events(sid) if e.event == "published"][-1]
    assert event.step == 5 and event.detail["action"] == "publish_live"
    assert event.detail["released_by_run"] == [DAG_ID, dr.run_id]

    # a second release: refused naming the URL, no second post
    assert any(url in p and "sudah tayang" in p for p in refusals(ledger, sid, "website"))
    dr = dag.test(run_conf=conf)
    assert _states(dr)[TASK] == "failed"
    assert len(wordpress.posts_with_slug_prefix(prefix)) == 1
    assert len([r for r in ledger.channel_results(sid) if r.status == "published"]) == 1
    err = io.StringIO()
    args = argparse.Namespace(nomor=sid, kanal=["website"], oleh="pengelola_ti", db=ledger_url())
    assert cli.cmd_terbitkan(args, io.StringIO(), err) == 1
    assert "sudah tayang" in err.getvalue() and url in err.getvalue()

    # record 1 shows it: `sop records list`
    out = io.StringIO()
    cli.cmd_records_list(argparse.Namespace(db=ledger_url(), json=False), out)
    mine = out.getvalue().split(f"#{sid} ", 1)[1].split("\n#", 1)[0]
    assert f"website: published (diunggah dari outbox) {url}" in mine, mine
