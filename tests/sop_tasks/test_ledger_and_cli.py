import csv
import io
import json
from argparse import Namespace
from datetime import UTC, datetime, timedelta

import pytest

from sop_tasks.channels import OutboxPublisher
from sop_tasks.cli import cmd_records_export, cmd_records_list
from sop_tasks.content import PreparedContent
from sop_tasks.records.ledger import Ledger


@pytest.fixture
def ledger(tmp_path):
    return Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")


def _content(**over) -> dict:
    c = PreparedContent(
        title="Judul", body="Isi", channels=("website", "twitter"), caption_instagram="", text_twitter="t"
    )
    d = c.to_json()
    d.update(over)
    return d


def _publish_all(ledger, sid, t0):
    for no, who in ((2, "kasubag"), (3, "kabid"), (4, "kadis")):
        start = t0 + timedelta(minutes=10 * no)
        ledger.add_event(sid, no, "requested", started_at=start)
        ledger.add_event(
            sid, no, "approved", actor=who, started_at=start, ended_at=start + timedelta(minutes=no * 3)
        )
    for ch in ("website", "twitter"):
        ledger.add_channel_result(sid, ch, mode="outbox", status="intent", idempotency_key=f"k-{ch}")
        ledger.add_channel_result(
            sid, ch, mode="outbox", status="outbox", idempotency_key=f"k-{ch}", url=f"file:///o/{ch}"
        )


def test_submission_is_opened_once_per_run(ledger):
    a = ledger.open_submission(dag_id="d", run_id="r", kind="publish", title="t", content=_content())
    b = ledger.open_submission(dag_id="d", run_id="r", kind="publish", title="t", content=_content())
    assert a == b


def test_published_needs_id_and_url(ledger):
    sid = ledger.open_submission(dag_id="d", run_id="r", kind="publish", title="t", content=_content())
    with pytest.raises(ValueError):
        ledger.add_channel_result(sid, "website", mode="live", status="published", idempotency_key="k")


def test_status_durations_and_over_standard(ledger):
    t0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    sid = ledger.open_submission(dag_id="d", run_id="r1", kind="publish", title="Pameran", content=_content())
    ledger.add_event(sid, 1, "valid", actor="pengelola_ti", started_at=t0, ended_at=t0 + timedelta(seconds=5))
    _publish_all(ledger, sid, t0)
    s = ledger.summary_for_run("d", "r1")
    assert s["status"] == "outbox"
    assert s["steps"]["2"]["seconds"] == 360 and not s["steps"]["2"]["over_standard"]
    assert s["steps"]["4"]["seconds"] == 720 and s["steps"]["4"]["standard_seconds"] == 900
    assert s["channels"]["website"] == {
        "status": "outbox",
        "mode": "outbox",
        "post_id": None,
        "url": "file:///o/website",
        "payload_hash": None,
    }
    rid = ledger.open_submission(dag_id="d", run_id="r2", kind="publish", title="Ditolak", content=_content())
    ledger.add_event(rid, 2, "requested", started_at=t0)
    ledger.add_event(
        rid,
        2,
        "returned",
        actor="kasubag",
        reason="salah",
        started_at=t0,
        ended_at=t0 + timedelta(minutes=20),
    )
    r = ledger.summary_for_run("d", "r2")
    assert (
        r["status"] == "dikembalikan"
        and r["steps"]["2"]["over_standard"]
        and r["steps"]["2"]["reason"] == "salah"
    )


def test_pending_verifications(ledger):
    t0 = datetime.now(UTC) - timedelta(minutes=30)
    sid = ledger.open_submission(dag_id="d", run_id="p", kind="publish", title="t", content=_content())
    ledger.add_event(sid, 2, "requested", started_at=t0)
    assert [e.step for _, e in ledger.pending_verifications(datetime.now(UTC) - timedelta(minutes=15))] == [2]
    assert ledger.pending_verifications(t0 - timedelta(minutes=1)) == []
    ledger.add_event(sid, 2, "approved", actor="kasubag", ended_at=datetime.now(UTC))
    assert ledger.pending_verifications(datetime.now(UTC)) == []


def test_records_list_json_and_csv(ledger, tmp_path):
    t0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    sid = ledger.open_submission(
        dag_id="d", run_id="r1", kind="publish", title='Pameran, "arsip"', content=_content()
    )
    _publish_all(ledger, sid, t0)
    url = str(ledger.engine.url)
    out = io.StringIO()
    cmd_records_list(Namespace(db=url, json=True), out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert rows[0]["id"] == sid and rows[0]["title"] == 'Pameran, "arsip"' and rows[0]["status"] == "outbox"
    assert rows[0]["steps"]["3"]["seconds"] == 540 and set(rows[0]["channels"]) == {"website", "twitter"}
    out = io.StringIO()
    cmd_records_list(Namespace(db=url, json=False), out)
    assert '#1 [outbox] Pameran, "arsip"' in out.getvalue()
    assert "9m00d / 15m00d" in out.getvalue()
    out = io.StringIO()
    cmd_records_export(Namespace(db=url, format="csv"), out)
    table = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert table[0]["judul"] == 'Pameran, "arsip"'
    assert table[0]["langkah 3 (detik)"] == "540.0" and table[0]["langkah 3 baku (detik)"] == "900"


def test_outbox_is_idempotent(tmp_path):
    c = PreparedContent(
        title="J", body="a\n\nb <i>", channels=("website",), caption_instagram="", text_twitter=""
    )
    pub = OutboxPublisher("website", tmp_path / "out")
    r1 = pub.publish(c, "key1")
    r2 = pub.publish(c, "key1")
    assert r1 == r2 and r1.status == "outbox" and r1.post_id is None
    doc = json.loads((tmp_path / "out" / "key1" / "payload.json").read_text())
    assert doc["payload"]["content"] == "<p>a</p>\n<p>b &lt;i&gt;</p>"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["key1"]
