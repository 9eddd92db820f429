"""sop_publish end to end in-process: dag.test() with approvals given through the real REST app."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from sop_tasks.airflow.ledger import get_ledger
from sop_tasks.approval import OPTION_NO, OPTION_YES
from tests.support.airflow_api import Answer, Answerer
from tests.support.media import make_jpeg

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def _form(media_dir: Path, **over):
    name = f"poster-{uuid.uuid4().hex[:6]}.jpg"
    make_jpeg(media_dir / name)
    form = {
        "title": f"Pameran Arsip {uuid.uuid4().hex[:6]}",
        "body": "Pameran arsip Kendal tempo dulu.\n\nDibuka Senin, gratis.",
        "channels": ["website", "instagram", "twitter"],
        "media": [name],
        "caption_instagram": None,
        "text_twitter": None,
        "publish_at": None,
        "revision_of": None,
    }
    form.update(over)
    return form


def _run(dag, form, rest_api, script):
    answerer = Answerer(rest_api, "sop_publish", script)
    t = answerer.start()
    try:
        dr = dag.test(run_conf=form)
    finally:
        answerer.stop()
        t.join(5)
    return dr, answerer


def _states(dr) -> dict[str, str]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as s:
        rows = s.execute(
            select(TaskInstance.task_id, TaskInstance.state).where(TaskInstance.run_id == dr.run_id)
        ).all()
    return {t: str(getattr(st, "value", st)) for t, st in rows}


def _note(dr) -> str | None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as s:
        run = s.scalar(select(DagRun).where(DagRun.run_id == dr.run_id))
        return run.note


def test_three_yes_writes_outbox_and_records(dagbag, rest_api, media_dir, office_cfg):
    dag = dagbag.dags["sop_publish"]
    form = _form(media_dir)
    script = {
        "sop02_verifikasi_kasubag": [Answer("kasubag", OPTION_YES)],
        "sop03_verifikasi_kabid": [Answer("kabid", OPTION_YES)],
        "sop04_verifikasi_kadis": [Answer("kadis", OPTION_YES)],
    }
    dr, answerer = _run(dag, form, rest_api, script)
    assert not answerer.errors, answerer.errors
    states = _states(dr)
    assert states["sop05_unggah_website"] == "success", states
    assert str(dr.state) in ("success", "DagRunState.SUCCESS"), states

    ledger = get_ledger()
    sid = ledger.submission_id("sop_publish", dr.run_id)
    summary = next(s for s in ledger.summaries() if s["id"] == sid)
    assert summary["status"] == "outbox"
    assert [summary["steps"][n]["actor"] for n in ("2", "3", "4")] == ["kasubag", "kabid", "kadis"]
    for ch in ("website", "instagram", "twitter"):
        res = summary["channels"][ch]
        assert res["status"] == "outbox" and res["mode"] == "outbox"
        doc = json.loads(Path(res["url"].removeprefix("file://")).read_text())
        assert doc["payload"]["media"][0]["file"] == form["media"][0]
        assert (Path(res["url"].removeprefix("file://")).parent / form["media"][0]).exists()
    tw = json.loads(Path(summary["channels"]["twitter"]["url"].removeprefix("file://")).read_text())
    assert tw["payload"]["text"].startswith(form["title"])
    note = _note(dr)
    assert note and "OUTBOX" in note and "kadis" in note


def test_tidak_at_step3_publishes_nothing(dagbag, rest_api, media_dir):
    dag = dagbag.dags["sop_publish"]
    form = _form(media_dir)
    script = {
        "sop02_verifikasi_kasubag": [Answer("kasubag", OPTION_YES)],
        "sop03_verifikasi_kabid": [
            Answer("kabid", OPTION_NO, reason="", expect_status=422),  # reason is required
            Answer("kabid", OPTION_NO, reason="Tanggal pameran salah, mohon dicek"),
        ],
    }
    dr, answerer = _run(dag, form, rest_api, script)
    assert not answerer.errors, answerer.errors
    assert "wajib" in answerer.log[1][3]  # the 422 says, in Indonesian, what to fix
    states = _states(dr)
    assert states["sop04_verifikasi_kadis"] == "skipped"
    assert all(states[f"sop05_unggah_{c}"] == "skipped" for c in ("website", "instagram", "twitter"))
    assert "sop04_verifikasi_kadis" not in answerer.seen_tasks  # kadis was never asked

    ledger = get_ledger()
    sid = ledger.submission_id("sop_publish", dr.run_id)
    summary = next(s for s in ledger.summaries() if s["id"] == sid)
    assert summary["status"] == "dikembalikan"
    assert summary["steps"]["3"]["actor"] == "kabid"
    assert summary["steps"]["3"]["reason"] == "Tanggal pameran salah, mohon dicek"
    assert ledger.channel_results(sid) == []
    note = _note(dr)
    assert note and "Tanggal pameran salah" in note and "kabid" in note


def test_wrong_verifier_gets_403(dagbag, rest_api, media_dir):
    dag = dagbag.dags["sop_publish"]
    form = _form(media_dir, channels=["website"])
    script = {
        "sop02_verifikasi_kasubag": [
            Answer("kabid", OPTION_YES, expect_status=403),
            Answer("kasubag", OPTION_NO, reason="cukup sampai sini"),
        ],
    }
    dr, answerer = _run(dag, form, rest_api, script)
    assert not answerer.errors, answerer.errors
    assert answerer.log[0][:3] == ("sop02_verifikasi_kasubag", "kabid", 403)
    assert _states(dr)["sop03_verifikasi_kabid"] == "skipped"


def test_invalid_content_fails_at_step1_without_approval(dagbag, rest_api, media_dir):
    dag = dagbag.dags["sop_publish"]
    (media_dir / "palsu.jpg").write_text("ini bukan gambar")
    form = _form(media_dir, media=["palsu.jpg"], text_twitter="x" * 300, title="")
    dr, answerer = _run(dag, form, rest_api, {})
    states = _states(dr)
    assert states["sop01_identifikasi"] == "failed"
    assert answerer.seen_tasks == []
    assert rest_api.pending("sop_publish", dr.run_id) == []
    ledger = get_ledger()
    sid = ledger.submission_id("sop_publish", dr.run_id)
    summary = next(s for s in ledger.summaries() if s["id"] == sid)
    assert summary["status"] == "tidak valid"
    reason = summary["steps"]["1"]["reason"]
    assert "Judul" in reason and "palsu.jpg" in reason and "280" in reason


def test_publish_at_waits_then_publishes_and_revision_is_linked(dagbag, rest_api, media_dir):
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    dag = dagbag.dags["sop_publish"]
    at = (datetime.now(ZoneInfo("Asia/Jakarta")) + timedelta(seconds=25)).replace(microsecond=0, tzinfo=None)
    form = _form(media_dir, channels=["twitter"], publish_at=at.isoformat(), revision_of="manual__sebelumnya")
    script = {
        "sop02_verifikasi_kasubag": [Answer("kasubag", OPTION_YES)],
        "sop03_verifikasi_kabid": [Answer("plt_kabid", OPTION_YES)],  # the acting Kabid may act
        "sop04_verifikasi_kadis": [Answer("kadis", OPTION_YES)],
    }
    dr, answerer = _run(dag, form, rest_api, script)
    assert not answerer.errors, answerer.errors
    ledger = get_ledger()
    sid = ledger.submission_id("sop_publish", dr.run_id)
    events = ledger.events(sid)
    scheduled = [e for e in events if e.event == "scheduled"]
    done = [e for e in events if e.step == 5 and e.event == "outbox"]
    assert scheduled and scheduled[0].detail["publish_at"].endswith("+07:00")
    publish_utc = (
        datetime.fromisoformat(scheduled[0].detail["publish_at"]).astimezone(UTC).replace(tzinfo=None)
    )
    assert done and done[0].started_at >= publish_utc
    summary = ledger.summary_for_run("sop_publish", dr.run_id)
    assert summary["revision_of"] == "manual__sebelumnya"
    assert summary["steps"]["3"]["actor"] == "plt_kabid"


def test_three_yes_publish_to_real_wordpress_with_link(dagbag, rest_api, media_dir, wordpress, monkeypatch):
    import requests

    monkeypatch.setenv("AIRFLOW_CONN_SOP_WEBSITE", wordpress.conn_json())
    dag = dagbag.dags["sop_publish"]
    form = _form(media_dir, channels=["website", "twitter"])
    script = {
        "sop02_verifikasi_kasubag": [Answer("kasubag", OPTION_YES)],
        "sop03_verifikasi_kabid": [Answer("kabid", OPTION_YES)],
        "sop04_verifikasi_kadis": [Answer("kadis", OPTION_YES)],
    }
    dr, answerer = _run(dag, form, rest_api, script)
    assert not answerer.errors, answerer.errors
    summary = get_ledger().summary_for_run("sop_publish", dr.run_id)
    site = summary["channels"]["website"]
    assert site["status"] == "published" and site["mode"] == "live" and site["post_id"]
    assert summary["channels"]["twitter"]["status"] == "outbox"  # no sop_twitter connection
    page = requests.get(site["url"], timeout=10)
    assert page.status_code == 200 and form["title"] in page.text
    note = _note(dr)
    assert site["url"] in note and "OUTBOX" in note
    r = rest_api.request(
        "admin",
        "GET",
        f"/api/v2/dags/sop_publish/dagRuns/{dr.run_id}/taskInstances/sop05_unggah_website/links",
    )
    assert r.status_code == 200, r.text
    assert r.json()["extra_links"]["Lihat unggahan"] == site["url"]
