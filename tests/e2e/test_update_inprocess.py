"""sop_update end to end in-process: a post published on the real WordPress, changed after 3 approvals."""

from __future__ import annotations

import uuid

import pytest
import requests

from sop_tasks.airflow.ledger import get_ledger
from sop_tasks.approval import OPTION_NO, OPTION_YES
from tests.e2e.test_publish_inprocess import _form, _note, _states
from tests.support.airflow_api import Answer, run_answered
from tests.support.markdown import render_markdown, visible_text

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

YES = {
    "sop02_verifikasi_kasubag": [Answer("kasubag", OPTION_YES)],
    "sop03_verifikasi_kabid": [Answer("kabid", OPTION_YES)],
    "sop04_verifikasi_kadis": [Answer("kadis", OPTION_YES)],
}


def _update(dag, conf, rest_api, script):
    return run_answered(dag, rest_api, script, conf)


@pytest.fixture(scope="module")
def published(dagbag, rest_api, media_dir, wordpress):
    """One submission published to the real WordPress through sop_publish (X stays outbox)."""
    import os

    os.environ["AIRFLOW_CONN_SOP_WEBSITE"] = wordpress.conn_json()
    form = _form(media_dir, channels=["website", "twitter"])
    dr, _ = run_answered(dagbag.dags["sop_publish"], rest_api, YES, form)
    summary = get_ledger().summary_for_run("sop_publish", dr.run_id)
    assert summary["channels"]["website"]["status"] == "published"
    yield summary
    os.environ.pop("AIRFLOW_CONN_SOP_WEBSITE", None)


def _wp_post(wordpress, post_id) -> dict:
    r = requests.get(
        f"{wordpress.url}/?rest_route=/wp/v2/posts/{post_id}",
        params={"context": "edit"},
        auth=(wordpress.admin_user, wordpress.app_password),
        timeout=10,
    )
    r.raise_for_status()
    return r.json()


def test_tidak_on_an_update_leaves_the_live_post_unchanged(dagbag, rest_api, published, wordpress):
    site = published["channels"]["website"]
    before = _wp_post(wordpress, site["post_id"])
    conf = {"submission_id": published["id"], "reason": "Tanggal berubah", "body": "Dibuka Selasa."}
    script = {
        "sop02_verifikasi_kasubag": [Answer("kasubag", OPTION_YES)],
        "sop03_verifikasi_kabid": [Answer("kabid", OPTION_NO, reason="Tanggal belum pasti")],
    }
    dr, answerer = _update(dagbag.dags["sop_update"], conf, rest_api, script)
    assert not answerer.errors, answerer.errors
    states = _states(dr)
    assert states["sop04_verifikasi_kadis"] == "skipped"
    assert states["sop10_pemutakhiran_website"] == "skipped"
    after = _wp_post(wordpress, site["post_id"])
    assert after["content"]["raw"] == before["content"]["raw"]
    assert after["modified_gmt"] == before["modified_gmt"]
    ledger = get_ledger()
    summary = ledger.summary_for_run("sop_update", dr.run_id)
    assert summary["status"] == "dikembalikan" and summary["steps"]["3"]["reason"] == "Tanggal belum pasti"
    assert ledger.live_version(published["id"])[0] == 1  # the returned version never went live
    assert "Tanggal belum pasti" in (_note(dr) or "")


def test_three_yes_change_the_same_post_in_place_and_record_the_version(
    dagbag, rest_api, published, wordpress
):
    site = published["channels"]["website"]
    new_title = f"Pameran diundur {uuid.uuid4().hex[:6]}"
    conf = {
        "submission_id": published["id"],
        "reason": "Jadwal pameran diundur satu minggu",
        "title": new_title,
        "body": "Pameran arsip Kendal tempo dulu.\n\nDibuka Senin depan, gratis.",
        "channels": ["website"],
    }
    dr, answerer = _update(dagbag.dags["sop_update"], conf, rest_api, YES)
    assert not answerer.errors, answerer.errors
    states = _states(dr)
    assert states["sop10_pemutakhiran_website"] == "success", states
    assert states["sop10_pemutakhiran_twitter"] == "skipped"  # not chosen for this update

    post = _wp_post(wordpress, site["post_id"])
    assert post["title"]["raw"] == new_title and "Senin depan" in post["content"]["raw"]
    page = requests.get(site["url"], timeout=10)
    assert page.status_code == 200 and new_title in page.text  # same link, new content

    ledger = get_ledger()
    summary = ledger.summary_for_run("sop_update", dr.run_id)
    assert summary["status"] == "diperbarui"
    assert summary["channels"]["website"]["post_id"] == site["post_id"]
    assert summary["channels"]["website"]["action"] == "update"
    assert [summary["steps"][n]["actor"] for n in ("2", "3", "4")] == ["kasubag", "kabid", "kadis"]
    assert summary["update"]["of"] == published["id"] and summary["update"]["version"] >= 2
    assert f"+{new_title}" in summary["update"]["diff"]
    assert ledger.live_version(published["id"])[1]["title"] == new_title
    note = _note(dr) or ""
    assert site["url"] in note
    r = rest_api.request(
        "admin",
        "GET",
        f"/api/v2/dags/sop_update/dagRuns/{dr.run_id}/taskInstances/sop10_pemutakhiran_website/links",
    )
    assert r.status_code == 200 and r.json()["extra_links"]["Lihat unggahan"] == site["url"]

    # What the Kadis was shown: the reason, what happens per channel, and the diff — all inert.
    r = rest_api.request(
        "admin",
        "GET",
        f"/api/v2/dags/sop_update/dagRuns/{dr.run_id}/taskInstances/sop04_verifikasi_kadis/-1/hitlDetails",
    )
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail["subject"].startswith("Verifikasi langkah 4: Pemutakhiran — ")
    body = detail["body"]
    assert f"PEMUTAKHIRAN** pengajuan **{published['id']}**" in body
    assert "Jadwal pameran diundur satu minggu" in body and "diubah di tempat" in body
    shown = visible_text(render_markdown(body))
    assert f"ditambah: {new_title}" in shown and "X: tidak berubah" not in body


def test_unknown_submission_fails_before_any_approval(dagbag, rest_api):
    conf = {"submission_id": 987654, "reason": "Data berubah", "body": "baru"}
    dr, answerer = _update(dagbag.dags["sop_update"], conf, rest_api, {})
    assert _states(dr)["sop10_siapkan"] == "failed"
    assert answerer.seen_tasks == []
    summary = get_ledger().summary_for_run("sop_update", dr.run_id)
    assert summary["status"] == "tidak valid" and "987654" in summary["steps"]["10"]["reason"]
