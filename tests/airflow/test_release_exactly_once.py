"""The live write of an outbox upload is exactly once too: a lost response, then Airflow's retry.

Against the real WordPress: the post is created after the client gave up; the retry finds it by
the live write's own key (not the outbox upload's) and does not post again.
"""

from __future__ import annotations

import time
import uuid

import pytest

from sop_tasks.airflow.publish import identify, publish_channel
from sop_tasks.airflow.release import live_key, release_channel
from sop_tasks.channels.website import slug_for
from sop_tasks.errors import ReleaseRefusedError, TransientChannelError
from sop_tasks.records.ledger import Ledger
from tests.support.approvals import approve_all


@pytest.fixture
def ledger(tmp_path):
    return Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")


def _wait_for(pred, timeout: float = 15) -> None:
    end = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.2)


def test_release_response_lost_then_retry_posts_once(wordpress, ledger, office_cfg, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_SOP_WEBSITE", raising=False)
    title = f"Rilis hilang {uuid.uuid4().hex[:6]}"
    sid = int(
        identify(
            {"title": title, "body": "Isi pengumuman.", "channels": ["website"], "media": []},
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

    monkeypatch.setenv("AIRFLOW_CONN_SOP_WEBSITE", wordpress.conn_json(timeout=1))
    wordpress.delay_posts(3)  # WordPress creates the post, but only after the client gave up
    try:
        with pytest.raises(TransientChannelError):
            release_channel("website", sid, ledger=ledger, cfg=office_cfg)
        _wait_for(lambda: len(wordpress.posts_with_slug_prefix(prefix)) == 1)
    finally:
        wordpress.delay_posts(None)
    assert [(r.status, r.action) for r in ledger.channel_results(sid)][-2:] == [
        ("intent", "publish_live"),
        ("error", "publish_live"),
    ]
    result = release_channel("website", sid, ledger=ledger, cfg=office_cfg)  # Airflow's retry
    assert result["status"] == "published" and result["url"]
    # a cleared task after success: refused, the URL named, nothing posted
    with pytest.raises(ReleaseRefusedError, match="sudah tayang") as refused:
        release_channel("website", sid, ledger=ledger, cfg=office_cfg)
    assert result["url"] in str(refused.value)
    assert len(wordpress.posts_with_slug_prefix(prefix)) == 1
    assert len([r for r in ledger.channel_results(sid) if r.status == "published"]) == 1
