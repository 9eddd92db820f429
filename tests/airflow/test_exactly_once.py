"""Exactly once on the website, against the real WordPress: lost responses, retries, clears."""

from __future__ import annotations

import time
import uuid

import pytest

from sop_tasks.airflow.publish import idempotency_key, identify, publish_channel
from sop_tasks.channels.website import slug_for
from sop_tasks.errors import TransientChannelError
from sop_tasks.records.ledger import Ledger


@pytest.fixture
def ledger(tmp_path):
    return Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")


def _submit(ledger, office_cfg, title: str) -> tuple[int, str]:
    run_id = f"manual__{uuid.uuid4().hex}"
    out = identify(
        {"title": title, "body": "Isi pengumuman.", "channels": ["website"], "media": []},
        dag_id="sop_publish",
        run_id=run_id,
        submitted_by="pengelola_ti",
        run_started=None,
        ledger=ledger,
        cfg=office_cfg,
    )
    return out["submission_id"], run_id


def _live_posts(site, title: str, key: str) -> list[str]:
    return site.posts_with_slug_prefix(slug_for(title, key))


def _wait_for(pred, timeout: float = 15) -> None:
    end = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.2)


def test_response_lost_then_retry_posts_once(wordpress, ledger, office_cfg, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SOP_WEBSITE", wordpress.conn_json(timeout=1))
    title = f"Respons hilang {uuid.uuid4().hex[:6]}"
    sid, run_id = _submit(ledger, office_cfg, title)
    key = idempotency_key(sid, "sop_publish", run_id, "website")
    wordpress.delay_posts(3)  # WordPress creates the post, but only after the client gave up
    try:
        with pytest.raises(TransientChannelError):
            publish_channel("website", sid, ledger=ledger, cfg=office_cfg)
        _wait_for(lambda: len(_live_posts(wordpress, title, key)) == 1)
    finally:
        wordpress.delay_posts(None)
    statuses = [r.status for r in ledger.channel_results(sid)]
    assert statuses == ["intent", "error"]
    result = publish_channel("website", sid, ledger=ledger, cfg=office_cfg)  # Airflow's retry
    assert result["status"] == "published" and result["post_id"] and result["url"]
    assert len(_live_posts(wordpress, title, key)) == 1
    status = wordpress.sql(f"SELECT post_status FROM wp_posts WHERE ID={result['post_id']}").strip()
    assert status == "publish"


def test_retry_and_clear_after_success_do_not_post_again(wordpress, ledger, office_cfg, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SOP_WEBSITE", wordpress.conn_json())
    title = f"Sekali saja {uuid.uuid4().hex[:6]}"
    sid, run_id = _submit(ledger, office_cfg, title)
    key = idempotency_key(sid, "sop_publish", run_id, "website")
    first = publish_channel("website", sid, ledger=ledger, cfg=office_cfg)
    again = publish_channel("website", sid, ledger=ledger, cfg=office_cfg)  # retry / cleared task
    assert again["post_id"] == first["post_id"] and again["url"] == first["url"]
    # clearing the whole run re-runs step 1: same submission, so the same settled result
    sid2 = identify(
        {"title": title, "body": "Isi pengumuman.", "channels": ["website"], "media": []},
        dag_id="sop_publish",
        run_id=run_id,
        submitted_by="pengelola_ti",
        run_started=None,
        ledger=ledger,
        cfg=office_cfg,
    )["submission_id"]
    assert sid2 == sid
    assert publish_channel("website", sid2, ledger=ledger, cfg=office_cfg)["post_id"] == first["post_id"]
    assert len(_live_posts(wordpress, title, key)) == 1
    published = [r for r in ledger.channel_results(sid) if r.status == "published"]
    assert len(published) == 1 and published[0].post_id == first["post_id"] and published[0].url


def test_draft_left_by_a_killed_attempt_is_published_not_duplicated(
    wordpress, ledger, office_cfg, monkeypatch
):
    """An attempt died after creating its draft: the retry publishes that draft."""
    from sop_tasks.channels.website import WordPressCredentials, WordPressPublisher

    monkeypatch.setenv("AIRFLOW_CONN_SOP_WEBSITE", wordpress.conn_json())
    title = f"Draf tertinggal {uuid.uuid4().hex[:6]}"
    sid, run_id = _submit(ledger, office_cfg, title)
    key = idempotency_key(sid, "sop_publish", run_id, "website")
    pub = WordPressPublisher(
        WordPressCredentials(wordpress.url, wordpress.admin_user, wordpress.app_password)
    )
    pub.request("POST", "wp/v2/posts", json={"title": title, "status": "draft", "slug": slug_for(title, key)})
    ledger.add_channel_result(sid, "website", mode="live", status="intent", idempotency_key=key)
    result = publish_channel("website", sid, ledger=ledger, cfg=office_cfg)
    assert len(_live_posts(wordpress, title, key)) == 1
    status = wordpress.sql(f"SELECT post_status FROM wp_posts WHERE ID={result['post_id']}").strip()
    assert status == "publish"
