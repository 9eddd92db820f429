"""Releasing an outbox upload live (``sop terbitkan`` / ``sop_terbitkan``): every refusal.

Each refusal is checked against a real ledger (SQLite) and leaves the channel results as they
were; the approval gate's refusal is recorded as a step-5 "refused" event. The live write itself
is tested on the real WordPress in tests/e2e/test_release_inprocess.py.
"""

from __future__ import annotations

import argparse
import io
import uuid

import pytest

from sop_tasks import cli
from sop_tasks.airflow.publish import identify, publish_channel
from sop_tasks.airflow.release import live_key, release_channel
from sop_tasks.errors import ApprovalMissingError, ReleaseRefusedError
from sop_tasks.records.ledger import Ledger
from tests.support.approvals import approve_all


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture
def ledger(db_url):
    return Ledger(db_url)


@pytest.fixture
def no_connections(monkeypatch):
    for name in ("AIRFLOW_CONN_SOP_WEBSITE", "AIRFLOW_CONN_SOP_TWITTER", "AIRFLOW_CONN_SOP_INSTAGRAM"):
        monkeypatch.delenv(name, raising=False)


def _submit(ledger, cfg, *, steps=(2, 3, 4)) -> int:
    out = identify(
        {"title": f"Pengumuman {uuid.uuid4().hex[:6]}", "body": "Isi.", "channels": ["website"], "media": []},
        dag_id="sop_publish",
        run_id=f"manual__{uuid.uuid4().hex}",
        submitted_by="pengelola_ti",
        run_started=None,
        ledger=ledger,
        cfg=cfg,
    )
    sid = int(out["submission_id"])
    if steps:
        approve_all(ledger, sid, cfg, steps=steps)
    return sid


def _outbox(ledger, cfg, sid) -> None:
    """The upload as an office without connections makes it: settled in the outbox."""
    assert publish_channel("website", sid, ledger=ledger, cfg=cfg)["mode"] == "outbox"


def _snapshot(ledger, sid):
    return [(r.status, r.mode, r.action, r.idempotency_key) for r in ledger.channel_results(sid)]


def _refused(ledger, cfg, sid, channel, *words) -> ReleaseRefusedError:
    before = _snapshot(ledger, sid) if ledger.submission(sid) else []
    with pytest.raises(ReleaseRefusedError) as exc:
        release_channel(channel, sid, ledger=ledger, cfg=cfg)
    for w in words:
        assert w in str(exc.value), str(exc.value)
    assert (_snapshot(ledger, sid) if ledger.submission(sid) else []) == before
    return exc.value


def test_unknown_submission_is_refused(ledger, office_cfg, no_connections):
    _refused(ledger, office_cfg, 4242, "website", "pengajuan 4242 tidak ada di catatan")


def test_channel_not_chosen_is_refused(ledger, office_cfg, no_connections):
    sid = _submit(ledger, office_cfg)
    _outbox(ledger, office_cfg, sid)
    _refused(ledger, office_cfg, sid, "twitter", "kanal twitter tidak dipilih", "dipilih: website")


def test_channel_without_outbox_result_is_refused(ledger, office_cfg, no_connections):
    sid = _submit(ledger, office_cfg)  # approved, but never uploaded
    _refused(ledger, office_cfg, sid, "website", "tidak punya hasil unggahan di outbox")


def test_channel_without_connection_is_refused_and_nothing_recorded(ledger, office_cfg, no_connections):
    sid = _submit(ledger, office_cfg)
    _outbox(ledger, office_cfg, sid)
    events = len(ledger.events(sid))
    _refused(ledger, office_cfg, sid, "website", "koneksi sop_website belum ada")
    assert len(ledger.events(sid)) == events  # no second outbox write, no intent


def test_unapproved_submission_is_refused_by_the_gate_and_recorded(ledger, office_cfg, no_connections):
    """An outbox row without the three approvals (e.g. from before the gate): no live write."""
    sid = _submit(ledger, office_cfg, steps=(2, 3))  # step 4 (Kadis) never said "Ya"
    sub = ledger.submission(sid)
    key = "sop-legacy-website-000000000000"
    ledger.add_channel_result(sid, "website", mode="outbox", status="outbox", idempotency_key=key)
    before = _snapshot(ledger, sid)
    with pytest.raises(ApprovalMissingError) as exc:
        release_channel("website", sid, ledger=ledger, cfg=office_cfg, run=("sop_terbitkan", "r1"))
    assert "langkah 4" in str(exc.value) and "belum disetujui" in str(exc.value)
    assert _snapshot(ledger, sid) == before  # nothing written, no intent
    refused = [e for e in ledger.events(sid) if e.event == "refused"]
    assert len(refused) == 1 and refused[0].step == 5
    assert refused[0].detail["action"] == "publish_live"
    assert refused[0].detail["released_by_run"] == ["sop_terbitkan", "r1"]
    assert sub is not None and sub.run_id != "r1"


def test_already_live_is_refused_naming_the_url(ledger, office_cfg, no_connections):
    sid = _submit(ledger, office_cfg)
    _outbox(ledger, office_cfg, sid)
    sub = ledger.submission(sid)
    assert sub is not None
    url = "https://dinarpus.example/pengumuman-abc"
    ledger.add_channel_result(
        sid,
        "website",
        mode="live",
        status="published",
        idempotency_key=live_key(sid, sub.dag_id, sub.run_id, "website"),
        post_id="77",
        url=url,
        action="publish_live",
    )
    _refused(ledger, office_cfg, sid, "website", "sudah tayang", url)


def test_live_key_differs_from_the_upload_key_and_keeps_a_digest():
    key = live_key(5, "sop_publish", "manual__x", "website")
    assert key.startswith("sop5-website-live-") and len(key.rsplit("-", 1)[-1]) == 12
    assert key != live_key(6, "sop_publish", "manual__x", "website")
    assert key.rsplit("-", 1)[-1] != live_key(5, "sop_publish", "manual__y", "website").rsplit("-", 1)[-1]


def test_cli_refuses_in_indonesian_before_triggering(ledger, db_url, office_cfg, no_connections):
    sid = _submit(ledger, office_cfg)  # no outbox result
    out, err = io.StringIO(), io.StringIO()
    args = argparse.Namespace(nomor=sid, kanal=["website"], oleh="pengelola_ti", db=db_url)
    assert cli.cmd_terbitkan(args, out, err) == 1
    assert "Galat: tidak diunggah dari outbox" in err.getvalue() and "outbox" in err.getvalue()
    assert out.getvalue() == ""
    args = argparse.Namespace(nomor=999, kanal=["website"], oleh=None, db=db_url)
    assert cli.cmd_terbitkan(args, out, err) == 1
    assert "pengajuan 999 tidak ada di catatan" in err.getvalue()


def test_cli_parser_knows_terbitkan():
    args = cli.build_parser().parse_args(["terbitkan", "12", "--kanal", "website", "--kanal", "twitter"])
    assert args.nomor == 12 and args.kanal == ["website", "twitter"] and args.func is cli.cmd_terbitkan
