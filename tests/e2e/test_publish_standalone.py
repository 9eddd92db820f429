"""The real running stack: airflow standalone, trigger over HTTP, three approvals over HTTP,
publishing to the real WordPress — including a real kill of the task process mid-publish."""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from sop_tasks.airflow.publish import idempotency_key
from sop_tasks.approval import OPTION_YES
from sop_tasks.channels.website import slug_for
from sop_tasks.records.ledger import Ledger
from tests.support.airflow_api import Answer, Answerer
from tests.support.media import make_png
from tests.support.standalone import Stack, standalone

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
YES_SCRIPT = {
    "sop02_verifikasi_kasubag": [Answer("kasubag", OPTION_YES)],
    "sop03_verifikasi_kabid": [Answer("kabid", OPTION_YES)],
    "sop04_verifikasi_kadis": [Answer("kadis", OPTION_YES)],
}


@pytest.fixture(scope="module")
def stack(wordpress):
    home = Path(tempfile.mkdtemp(prefix="sop-standalone-"))
    extra = {"AIRFLOW_CONN_SOP_WEBSITE": wordpress.conn_json(timeout=60)}
    # an answer is held up to 45 s (hitl_guard) before a loaded api-server even handles it
    with standalone(home, timeout=600, extra_env=extra, request_timeout=180) as s:
        yield s
    shutil.rmtree(home, ignore_errors=True)


def _approve_all(stack: Stack, dag_id: str = "sop_publish") -> tuple[Answerer, threading.Thread]:
    answerer = Answerer(stack.api, dag_id, {k: list(v) for k, v in YES_SCRIPT.items()}, deadline_s=400)
    t = threading.Thread(target=answerer.run, daemon=True)
    t.start()
    return answerer, t


def _ledger(stack: Stack) -> Ledger:
    return Ledger(f"sqlite:///{stack.home / 'sop_ledger.db'}")


def test_three_approvals_over_http_publish_live_and_outbox(stack, media_dir):
    make_png(media_dir / "standalone.png")
    title = f"Layanan perpustakaan keliling {uuid.uuid4().hex[:4]}"
    run_id = stack.trigger(
        "sop_publish",
        {
            "title": title,
            "body": "Jadwal bulan Desember.",
            "channels": ["website", "twitter"],
            "media": ["standalone.png"],
        },
    )
    answerer, t = _approve_all(stack)
    state = stack.wait_run("sop_publish", run_id, timeout=300)
    answerer.stop()
    t.join(5)
    assert not answerer.errors, answerer.errors
    assert state == "success", stack.log_tail()
    summary = _ledger(stack).summary_for_run("sop_publish", run_id)
    site, x = summary["channels"]["website"], summary["channels"]["twitter"]
    assert summary["status"] == "diunggah"
    assert site["status"] == "published" and site["post_id"]
    assert requests.get(site["url"], timeout=10).status_code == 200
    assert x["status"] == "outbox"
    payload = json.loads(Path(x["url"].removeprefix("file://")).read_text())
    assert payload["payload"]["text"].startswith(title)
    note = stack.run_info("sop_publish", run_id).get("note") or ""
    assert site["url"] in note and "OUTBOX" in note

    # SOP step 10 on the same stack: the officer triggers sop_update, three officials approve,
    # and the same WordPress post changes; X (no connection) writes its correction to the outbox.
    new_title = f"{title} — jadwal baru"
    update_run = stack.trigger(
        "sop_update",
        {"submission_id": summary["id"], "reason": "Jadwal Desember berubah", "title": new_title},
    )
    answerer, t = _approve_all(stack, "sop_update")
    state = stack.wait_run("sop_update", update_run, timeout=300)
    answerer.stop()
    t.join(5)
    assert not answerer.errors, answerer.errors
    assert state == "success", stack.log_tail()
    updated = _ledger(stack).summary_for_run("sop_update", update_run)
    assert updated["status"] == "diperbarui" and updated["channels"]["twitter"]["status"] == "outbox"
    assert updated["channels"]["website"]["post_id"] == site["post_id"]
    page = requests.get(site["url"], timeout=10)
    assert page.status_code == 200 and new_title in page.text
    note = stack.run_info("sop_update", update_run).get("note") or ""
    assert site["url"] in note and "kadis" in note


def _ti(stack: Stack, run_id: str, task_id: str) -> dict:
    r = stack.api.request(
        "admin", "GET", f"/api/v2/dags/sop_publish/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}"
    )
    return dict(r.json()) if r.status_code == 200 else {}


def test_task_killed_mid_publish_posts_exactly_once(stack, wordpress):
    title = f"Pengumuman libur {uuid.uuid4().hex[:6]}"
    wordpress.delay_posts(6)  # the post request reaches WordPress, then the task process is killed
    try:
        run_id = stack.trigger(
            "sop_publish", {"title": title, "body": "Kantor tutup.", "channels": ["website"]}
        )
        answerer, t = _approve_all(stack)
        ledger = _ledger(stack)
        end = time.monotonic() + 300
        killed = None
        while killed is None:
            assert time.monotonic() < end, stack.log_tail()
            sid = ledger.submission_id("sop_publish", run_id)
            intents = [r for r in ledger.channel_results(sid) if r.status == "intent"] if sid else []
            ti = _ti(stack, run_id, "sop05_unggah_website")
            inside = wordpress.delayed_started_file.exists()  # the draft request is inside WordPress
            if intents and inside and ti.get("state") == "running" and ti.get("pid"):
                os.kill(int(ti["pid"]), signal.SIGKILL)
                killed = ti["pid"]
            time.sleep(0.2)
        state = stack.wait_run("sop_publish", run_id, timeout=300)
        answerer.stop()
        t.join(5)
    finally:
        wordpress.delay_posts(None)
    assert state == "success", stack.log_tail()
    ti = _ti(stack, run_id, "sop05_unggah_website")
    assert ti["try_number"] >= 2  # the killed try failed and a retry finished the job
    sid = ledger.submission_id("sop_publish", run_id)
    key = idempotency_key(sid, "sop_publish", run_id, "website")
    slug = slug_for(title, key)
    rows = wordpress.sql(
        f"SELECT ID, post_status FROM wp_posts WHERE post_type='post' AND post_name LIKE '{slug}%'"
    ).splitlines()
    assert len(rows) == 1 and rows[0].endswith("publish"), rows
    summary = ledger.summary_for_run("sop_publish", run_id)
    assert summary["channels"]["website"]["post_id"] == rows[0].split()[0]


def test_monitor_triggered_over_http_records_routes_and_forwards(stack, wordpress):
    from sop_tasks.channels.website import WordPressCredentials, WordPressPublisher
    from sop_tasks.content import PreparedContent
    from sop_tasks.records.inbox import Inbox

    pub = WordPressPublisher(
        WordPressCredentials(wordpress.url, wordpress.admin_user, wordpress.app_password)
    )
    post = pub.publish(
        PreparedContent(
            title="Pameran arsip",
            body="Datang ya.",
            channels=("website",),
            caption_instagram="",
            text_twitter="",
        ),
        f"sop0-website-{uuid.uuid4().hex[:12]}",
    )
    tag = uuid.uuid4().hex[:6]
    wordpress.post_comment(
        post.post_id, "Dewi", "dewi@warga.test", f"Min, arsip surat tanah desa tahun 1975 bisa dicari? {tag}"
    )
    run_id = stack.trigger("sop_monitor", {})
    assert stack.wait_run("sop_monitor", run_id, timeout=300) == "success", stack.log_tail()
    inbox = Inbox(_ledger(stack))
    item = next(i for i in inbox.items() if tag in i.text)
    assert item.channel == "website" and item.bidang == "kearsipan" and not item.spam
    assert any(f.item_id == item.id and f.bidang == "kearsipan" for f in inbox.forwards())
    sweep = next(s for s in inbox.sweeps() if s.run_id == run_id)
    assert sweep.status == "ok" and sweep.sop_sweep and sweep.counts["website"]["new"] >= 1
    r = stack.api.request("admin", "GET", "/api/v2/dags/sop_follow_up/dagRuns", params={"limit": 100})
    runs = {d["dag_run_id"] for d in r.json()["dag_runs"]}
    assert f"tindak_lanjut__item{item.id}__kearsipan" in runs
