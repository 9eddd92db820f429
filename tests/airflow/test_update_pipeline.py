"""SOP step 10 task bodies: refusing what cannot be updated, updating each channel exactly once.

The website against the real WordPress; X and Instagram with their real clients at the HTTP edge
(X requests validated against the OpenAPI spec).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import responses

from sop_tasks.airflow import publish
from sop_tasks.airflow.publish import identify, publish_channel
from sop_tasks.airflow.update import prepare, update_channel
from sop_tasks.channels.instagram import MemorySessionStore
from sop_tasks.errors import ContentError, CredentialsError, RejectedContentError, TransientChannelError
from sop_tasks.records.ledger import Ledger
from tests.support import instagram_fake as igf
from tests.support.approvals import approve_all
from tests.support.instagram_fake import InstagramFake, instagram_mock
from tests.support.media import make_jpeg
from tests.support.x_fake import (
    CORRECTED,
    NEW_ID,
    POST_ID,
    SPEC,
    TIMELINE_URL,
    TWEETS_URL,
    USERNAME,
    add_me,
    add_post,
    calls,
    conn_json,
    json_body,
    post,
    replies_read,
    spec_checked_x,
    timeline,
)
from tests.support.x_spec import load_x_spec_or_skip

CONNS = ("AIRFLOW_CONN_SOP_WEBSITE", "AIRFLOW_CONN_SOP_TWITTER", "AIRFLOW_CONN_SOP_INSTAGRAM")


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")


@pytest.fixture(autouse=True)
def no_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CONNS:
        monkeypatch.delenv(name, raising=False)


def _submit(ledger: Ledger, cfg, media_dir: Path, channels: list[str], **form) -> tuple[int, str]:
    name = f"foto-{uuid.uuid4().hex[:6]}.jpg"
    make_jpeg(media_dir / name)
    run_id = f"manual__{uuid.uuid4().hex}"
    out = identify(
        {
            "title": f"Jam layanan {uuid.uuid4().hex[:6]}",
            "body": "Buka Senin–Jumat 08.00–15.00.",
            "channels": channels,
            "media": [name],
            **form,
        },
        dag_id="sop_publish",
        run_id=run_id,
        submitted_by="pengelola_ti",
        run_started=None,
        ledger=ledger,
        cfg=cfg,
    )
    approve_all(ledger, out["submission_id"], cfg)  # steps 2–4: the gate lets only this through
    return out["submission_id"], run_id


def _prepare(ledger: Ledger, cfg, form: dict) -> dict:
    out = prepare(
        {"reason": "Jam layanan berubah mulai Desember", **form},
        dag_id="sop_update",
        run_id=f"manual__{uuid.uuid4().hex}",
        submitted_by="pengelola_ti",
        run_started=None,
        ledger=ledger,
        cfg=cfg,
    )
    approve_all(ledger, out["submission_id"], cfg)  # steps 2–4 of the update
    return out


def _refusal(ledger: Ledger, cfg, form: dict) -> tuple[str, list]:
    with pytest.raises(ContentError) as exc:
        _prepare(ledger, cfg, form)
    sub = ledger.summaries()[-1]
    return str(exc.value), [sub["kind"], sub["status"], sub["steps"]["10"]["reason"]]


def test_unknown_or_unpublished_submissions_are_refused_and_the_request_recorded(
    ledger, office_cfg, media_dir
):
    msg, rec = _refusal(ledger, office_cfg, {"submission_id": 999, "body": "baru"})
    assert "Pengajuan 999 tidak ada di catatan" in msg and "sop records list" in msg
    assert rec[:2] == ["update", "tidak valid"] and "999" in rec[2]

    sid, _ = _submit(ledger, office_cfg, media_dir, ["website"])
    ledger.add_event(sid, 2, "returned", actor="kasubag", reason="foto buram")
    msg, rec = _refusal(ledger, office_cfg, {"submission_id": sid, "body": "baru"})
    assert f"Pengajuan {sid}" in msg and "belum diunggah (status: dikembalikan)" in msg
    assert "sop_publish" in msg

    msg, _ = _refusal(ledger, office_cfg, {"submission_id": "dua", "body": "baru"})
    assert "'dua' bukan angka" in msg
    update_rows = [s for s in ledger.summaries() if s["kind"] == "update"]
    assert len(update_rows) == 3  # every refused request is in the records


def test_outbox_update_is_written_once_and_versions_chain(ledger, office_cfg, media_dir):
    sid, _ = _submit(ledger, office_cfg, media_dir, ["website", "twitter"])
    for ch in ("website", "twitter"):
        publish_channel(ch, sid, ledger=ledger, cfg=office_cfg)

    out = _prepare(ledger, office_cfg, {"submission_id": sid, "body": "Buka Senin–Sabtu.", "channels": []})
    assert out["update_of"] == sid and out["channels"] == ["website", "twitter"]
    uid = out["submission_id"]
    first = update_channel("website", uid, ledger=ledger, cfg=office_cfg)
    doc = json.loads(Path(first["url"].removeprefix("file://")).read_text())
    assert doc["payload"]["update_of"] == "" and "Senin–Sabtu" in doc["payload"]["content"]
    again = update_channel("website", uid, ledger=ledger, cfg=office_cfg)  # a cleared task
    assert again["url"] == first["url"]
    assert [r.status for r in ledger.channel_results(uid)] == ["intent", "outbox"]
    assert ledger.channel_results(uid)[-1].action == "update"

    # The update's own number names the same submission; the next version diffs against v2.
    out2 = _prepare(ledger, office_cfg, {"submission_id": uid, "title": "Jam layanan baru"})
    assert out2["update_of"] == sid
    v3 = ledger.content_version(out2["submission_id"])
    assert v3.version == 3 and "--- versi 2" in v3.diff and "+Jam layanan baru" in v3.diff


def test_website_post_changed_in_place_on_real_wordpress(
    ledger, office_cfg, media_dir, wordpress, monkeypatch
):
    monkeypatch.setenv("AIRFLOW_CONN_SOP_WEBSITE", wordpress.conn_json())
    sid, _ = _submit(ledger, office_cfg, media_dir, ["website"])
    live = publish_channel("website", sid, ledger=ledger, cfg=office_cfg)

    api = f"{wordpress.url}/?rest_route=/wp/v2/posts/{live['post_id']}"
    auth = (wordpress.admin_user, wordpress.app_password)
    before = requests.get(api, params={"context": "edit"}, auth=auth, timeout=10).json()

    def attachments() -> list[str]:
        return wordpress.sql(
            f"SELECT ID FROM wp_posts WHERE post_type='attachment' AND post_name LIKE '{before['slug']}-m%'"
        ).split()

    assert len(attachments()) == 1
    new_title = f"Jam layanan baru {uuid.uuid4().hex[:6]}"
    out = _prepare(ledger, office_cfg, {"submission_id": sid, "title": new_title, "body": "Sabtu buka."})
    result = update_channel("website", out["submission_id"], ledger=ledger, cfg=office_cfg)

    assert result["post_id"] == live["post_id"] and result["status"] == "published"
    post = requests.get(api, params={"context": "edit"}, auth=auth, timeout=10).json()
    assert len(attachments()) == 1 and post["featured_media"] == before["featured_media"]  # image kept
    assert post["title"]["raw"] == new_title and "Sabtu buka." in post["content"]["raw"]
    assert post["status"] == "publish" and post["link"] == live["url"]
    same_title = wordpress.sql(f"SELECT ID FROM wp_posts WHERE post_type='post' AND post_title='{new_title}'")
    assert same_title.split() == [str(live["post_id"])]  # changed, not added

    requests.delete(api, params={"force": "true"}, auth=auth, timeout=10).raise_for_status()
    out = _prepare(ledger, office_cfg, {"submission_id": sid, "body": "Minggu buka."})
    with pytest.raises(RejectedContentError, match="sudah dihapus dari situs"):
        update_channel("website", out["submission_id"], ledger=ledger, cfg=office_cfg)
    assert ledger.channel_results(out["submission_id"])[-1].status == "error"


def _x_live(ledger: Ledger, cfg, media_dir: Path) -> int:
    """A submission published to X earlier (its upload is tested elsewhere)."""
    sid, _ = _submit(ledger, cfg, media_dir, ["twitter"])
    ledger.add_channel_result(
        sid,
        "twitter",
        mode="live",
        status="published",
        idempotency_key="k",
        post_id=POST_ID,
        url=f"https://x.com/{USERNAME}/status/{POST_ID}",
    )
    return sid


@pytest.fixture
def x_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[responses.RequestsMock]:
    spec = load_x_spec_or_skip(SPEC)
    monkeypatch.setenv("AIRFLOW_CONN_SOP_TWITTER", conn_json())
    with spec_checked_x(spec) as rsps:
        yield rsps


def test_x_correction_reply_to_the_live_post(ledger, office_cfg, media_dir, x_api):
    sid = _x_live(ledger, office_cfg, media_dir)
    out = _prepare(ledger, office_cfg, {"submission_id": sid, "text_twitter": CORRECTED})
    add_me(x_api)
    add_post(x_api, NEW_ID, CORRECTED)

    result = update_channel("twitter", out["submission_id"], ledger=ledger, cfg=office_cfg)

    assert ("GET", urlsplit(TIMELINE_URL).path) not in calls(x_api)  # a first attempt reads nothing

    assert json_body(x_api.calls[-1].request) == {
        "text": CORRECTED,
        "reply": {"in_reply_to_tweet_id": POST_ID},
    }
    assert result["post_id"] == NEW_ID
    assert ledger.channel_results(out["submission_id"])[-1].action == "reply"
    assert ledger.live_posts(sid)["twitter"].post_id == POST_ID  # the original stays live
    n = len(x_api.calls)
    update_channel("twitter", out["submission_id"], ledger=ledger, cfg=office_cfg)  # cleared task
    assert len(x_api.calls) == n  # settled: nothing sent again


def test_x_correction_retried_after_a_lost_answer_is_found_not_posted_again(
    ledger, office_cfg, media_dir, x_api
):
    sid = _x_live(ledger, office_cfg, media_dir)
    out = _prepare(ledger, office_cfg, {"submission_id": sid, "text_twitter": CORRECTED})
    add_me(x_api)
    x_api.post(TWEETS_URL, body=requests.exceptions.ReadTimeout("Read timed out. (read timeout=30)"))
    with pytest.raises(TransientChannelError):
        update_channel("twitter", out["submission_id"], ledger=ledger, cfg=office_cfg)

    on_x = CORRECTED.replace("&", "&amp;").replace(
        "https://dinarpus.kendalkab.go.id/pameran", "https://t.co/a"
    )
    x_api.get(
        TIMELINE_URL, match=[replies_read(POST_ID)], json=timeline(post(NEW_ID, on_x, replied_to=POST_ID))
    )
    result = update_channel("twitter", out["submission_id"], ledger=ledger, cfg=office_cfg)  # Airflow's retry

    assert result["post_id"] == NEW_ID
    assert [m for m, _ in calls(x_api)].count("POST") == 1  # the correction was sent once
    assert [r.status for r in ledger.channel_results(out["submission_id"])] == [
        "intent",
        "error",
        "intent",
        "published",
    ]


def test_x_repost_replaces_the_live_post(ledger, office_cfg, media_dir, x_api):
    cfg = office_cfg.model_copy(
        update={"follow_up": office_cfg.follow_up.model_copy(update={"x_update": "repost"})}
    )
    sid = _x_live(ledger, cfg, media_dir)
    out = _prepare(ledger, cfg, {"submission_id": sid, "text_twitter": CORRECTED})
    add_me(x_api)
    x_api.post("https://api.x.com/2/media/upload", json={"data": {"id": "19000000000000001"}})
    x_api.delete(f"https://api.twitter.com/2/tweets/{POST_ID}", json={"data": {"deleted": True}})
    add_post(x_api, NEW_ID, CORRECTED)

    update_channel("twitter", out["submission_id"], ledger=ledger, cfg=cfg)

    assert ("DELETE", f"/2/tweets/{POST_ID}") in calls(x_api)
    assert ledger.channel_results(out["submission_id"])[-1].action == "repost"
    assert ledger.live_posts(sid)["twitter"].post_id == NEW_ID  # the next update targets the repost


@pytest.fixture
def ig(monkeypatch: pytest.MonkeyPatch) -> Iterator[InstagramFake]:
    with instagram_mock(monkeypatch) as fake:
        yield fake


def test_instagram_caption_edited_on_the_same_post(ledger, office_cfg, media_dir, ig, monkeypatch):
    store = MemorySessionStore(igf.session_settings())
    monkeypatch.setattr(publish, "publisher_for", lambda channel, cfg: igf.publisher(store))
    sid, _ = _submit(ledger, office_cfg, media_dir, ["instagram"], caption_instagram=igf.CAPTION)
    ledger.add_channel_result(
        sid,
        "instagram",
        mode="live",
        status="published",
        idempotency_key="k",
        post_id=str(igf.MEDIA_PK),
        url=f"https://www.instagram.com/p/{igf.CODE}/",
    )
    out = _prepare(ledger, office_cfg, {"submission_id": sid, "caption_instagram": igf.NEW_CAPTION})
    igf.media_info(ig)
    ig.rsps.add(
        responses.POST,
        igf.EDIT_URL,
        json={"media": igf.media_item(igf.MEDIA_PK, igf.CODE, igf.NEW_CAPTION), "status": "ok"},
    )

    result = update_channel("instagram", out["submission_id"], ledger=ledger, cfg=office_cfg)

    assert result["post_id"] == str(igf.MEDIA_PK) and result["url"].endswith(f"/p/{igf.CODE}/")
    assert ig.form(ig.calls("POST", igf.EDIT_URL)[0])["caption_text"] == igf.NEW_CAPTION
    assert ledger.channel_results(out["submission_id"])[-1].action == "update"


def test_an_outbox_only_upload_with_a_connection_now_is_refused_before_any_approval(
    ledger, office_cfg, media_dir, wordpress, monkeypatch
):
    sid, _ = _submit(ledger, office_cfg, media_dir, ["website"])
    publish_channel("website", sid, ledger=ledger, cfg=office_cfg)  # no connection yet: outbox
    monkeypatch.setenv("AIRFLOW_CONN_SOP_WEBSITE", wordpress.conn_json())
    msg, rec = _refusal(ledger, office_cfg, {"submission_id": sid, "body": "baru"})
    assert "tidak punya kiriman di platform" in msg and rec[:2] == ["update", "tidak valid"]
    msg, _ = _refusal(ledger, office_cfg, {"submission_id": sid, "body": "baru", "channels": ["website"]})
    assert "Website: pengajuan" in msg and "hanya ditulis ke outbox" in msg


def test_an_update_overtaken_by_another_is_not_applied_and_a_refused_number_still_leads_back(
    ledger, office_cfg, media_dir
):
    sid, _ = _submit(ledger, office_cfg, media_dir, ["website"])
    publish_channel("website", sid, ledger=ledger, cfg=office_cfg)
    first = _prepare(ledger, office_cfg, {"submission_id": sid, "title": "Judul A"})
    second = _prepare(ledger, office_cfg, {"submission_id": sid, "body": "Isi B"})  # both from v1
    update_channel("website", second["submission_id"], ledger=ledger, cfg=office_cfg)
    with pytest.raises(RejectedContentError, match=r"sudah dimutakhirkan lagi \(kini versi 3\)") as exc:
        update_channel("website", first["submission_id"], ledger=ledger, cfg=office_cfg)
    assert "tidak tertimpa" in str(exc.value)
    assert ledger.live_version(sid)[1]["body"] == "Isi B"  # B stays; A did not put the old body back
    assert ledger.channel_results(first["submission_id"]) == []  # nothing was sent for A

    with pytest.raises(ContentError):
        _prepare(ledger, office_cfg, {"submission_id": sid, "reason": ""})
    refused = ledger.summaries()[-1]["id"]
    third = _prepare(ledger, office_cfg, {"submission_id": refused, "title": "Judul C"})
    assert third["update_of"] == sid
    v = ledger.content_version(third["submission_id"])
    assert v.version == 4 and "--- versi 3" in v.diff and "-Judul A" not in v.diff


class _Run:
    def __init__(self, dag_id: str) -> None:
        self.dag_id, self.run_id = dag_id, f"manual__{uuid.uuid4().hex}"
        self.start_date, self.triggering_user_name = None, "pengelola_ti"


@pytest.mark.parametrize("dag_id", ["sop_publish", "sop_update"])
def test_a_cleared_first_task_of_a_refused_run_is_refused_again_not_half_accepted(
    ledger, office_cfg, monkeypatch, dag_id
):
    from airflow.sdk.exceptions import AirflowFailException

    from sop_tasks.airflow import dag_support, update
    from sop_tasks.airflow import ledger as airflow_ledger

    monkeypatch.setattr(airflow_ledger, "get_ledger", lambda: ledger)
    step = publish.identify if dag_id == "sop_publish" else update.prepare
    run = _Run(dag_id)
    bad = {"title": "", "channels": ["website"], "submission_id": 999, "reason": ""}
    with pytest.raises(AirflowFailException, match="Perbaiki hal berikut"):
        dag_support.first_step(step, {"dag_run": run, "params": bad}, office_cfg)
    fixed = {**bad, "title": "Judul", "body": "Isi", "reason": "Data berubah"}
    with pytest.raises(AirflowFailException, match="sudah ditolak") as exc:  # the task cleared later
        dag_support.first_step(step, {"dag_run": run, "params": fixed}, office_cfg)
    assert "picu (Trigger) run baru" in str(exc.value)
    rows = [s for s in ledger.summaries() if s["run_id"] == run.run_id]
    assert len(rows) == 1 and rows[0]["status"] == "tidak valid"  # no half-valid submission


def test_a_live_post_whose_connection_went_missing_is_not_written_to_the_outbox(
    ledger, office_cfg, media_dir, wordpress, monkeypatch
):
    monkeypatch.setenv("AIRFLOW_CONN_SOP_WEBSITE", wordpress.conn_json())
    sid, _ = _submit(ledger, office_cfg, media_dir, ["website"])
    publish_channel("website", sid, ledger=ledger, cfg=office_cfg)
    out = _prepare(ledger, office_cfg, {"submission_id": sid, "body": "Sabtu buka."})
    monkeypatch.delenv("AIRFLOW_CONN_SOP_WEBSITE")  # e.g. during a credential rotation
    with pytest.raises(CredentialsError, match="koneksi sop_website tidak ada lagi"):
        update_channel("website", out["submission_id"], ledger=ledger, cfg=office_cfg)
    rows = ledger.channel_results(out["submission_id"])
    assert [r.status for r in rows] == ["intent", "error"] and "sop_website" in rows[-1].message
    assert ledger.live_version(sid)[0] == 1  # the site still shows version 1, and so do the records
