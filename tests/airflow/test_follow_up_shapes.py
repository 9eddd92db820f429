"""sop_follow_up with and without ``follow_up.replies_need_approval``, and the step-8 rules that
keep an answer from being lost: no Airflow metadata DB needed (DAG parsing and a ledger file)."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowRescheduleException, DownstreamTasksSkipped

from sop_tasks import followup as fu
from sop_tasks.airflow import followup as fua
from sop_tasks.airflow.hitl_guard import missing_required
from sop_tasks.config import OfficeConfig
from sop_tasks.errors import ActionRequiredError, CredentialsError, RateLimitedError, TransientChannelError
from sop_tasks.followup import OPTION_NO_REPLY, OPTION_REPLY, OPTION_REROUTE, FollowUps
from sop_tasks.records.inbox import Inbox
from sop_tasks.records.ledger import Ledger
from tests.support.follow_up import decide, record_item

REPO = Path(__file__).resolve().parents[2]
FORM = {"reply": None, "alasan": None, "bidang_tujuan": None, "ppid": False}


def _parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, approval: bool) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    config = tmp_path / "config"
    shutil.copytree(os.environ["SOP_CONFIG_DIR"], config)
    raw = yaml.safe_load((config / "office.yaml").read_text())
    raw["follow_up"]["replies_need_approval"] = approval
    (config / "office.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True))
    monkeypatch.setenv("SOP_CONFIG_DIR", str(config))
    bag = DagBag(str(REPO / "dags" / "sop_follow_up.py"))
    assert not bag.import_errors, bag.import_errors
    return bag.dags["sop_follow_up"]


def _downstream(dag: Any, task_id: str) -> set[str]:
    return set(dag.task_dict[task_id].downstream_task_ids)


def test_without_approval_the_dag_keeps_its_shape(tmp_path, monkeypatch):
    dag = _parse(tmp_path, monkeypatch, approval=False)
    assert set(dag.task_dict) == {
        fua.PREPARE_TASK,
        fua.DECIDE_TASK,
        fua.REPLY_TASK,
        fua.NO_REPLY_TASK,
        fua.REROUTE_TASK,
    }
    assert _downstream(dag, fua.PREPARE_TASK) == {fua.DECIDE_TASK}
    assert _downstream(dag, fua.DECIDE_TASK) == {fua.REPLY_TASK, fua.NO_REPLY_TASK, fua.REROUTE_TASK}
    assert dag.task_dict[fua.DECIDE_TASK].options_mapping[OPTION_REPLY] == fua.REPLY_TASK
    assert "disetujui" not in dag.doc_md


def test_with_approval_a_reply_goes_to_the_kasubag_first(tmp_path, monkeypatch, office_cfg):
    dag = _parse(tmp_path, monkeypatch, approval=True)
    assert fua.APPROVE_TASK in dag.task_dict
    assert _downstream(dag, fua.DECIDE_TASK) == {fua.APPROVE_TASK, fua.NO_REPLY_TASK, fua.REROUTE_TASK}
    assert _downstream(dag, fua.APPROVE_TASK) == {fua.REPLY_TASK, fua.REVISE_TASK}
    assert set(dag.task_dict[fua.REPLY_TASK].upstream_task_ids) == {fua.APPROVE_TASK}
    revise = dag.task_dict[fua.REVISE_TASK]  # "Tidak": the same bidang is asked again, in a new run
    assert revise.trigger_dag_id == "sop_follow_up" and revise.skip_when_already_exists
    assert fua.REVISION_XCOM in revise.trigger_run_id and fua.APPROVE_TASK in str(revise.conf)
    decide = dag.task_dict[fua.DECIDE_TASK]
    assert decide.options_mapping[OPTION_REPLY] == fua.APPROVE_TASK
    approve = dag.task_dict[fua.APPROVE_TASK]
    kasubag = office_cfg.verifier("kasubag")
    assert [u["id"] for u in approve.assigned_users] == kasubag.users
    assert approve.task_display_name == f"8. Setujui balasan — {kasubag.title}"
    assert approve.options == ["Ya — setujui balasan", "Tidak — kembalikan"]
    assert approve.defaults is None and approve.response_timeout is None  # never approved by waiting
    assert set(approve.params) == {"alasan"}
    assert "Kasubag Umum dan Kepegawaian" in dag.doc_md
    assert "__revisi<k>" in dag.doc_md


def test_the_guard_requires_a_reason_for_returning_a_reply():
    params = {"alasan": {"value": None}}
    assert missing_required({"chosen_options": [fua.OPTION_RETURN], "params_input": {"alasan": " "}}, params)
    assert not missing_required(
        {"chosen_options": [fua.OPTION_RETURN], "params_input": {"alasan": "x"}}, params
    )
    assert not missing_required(
        {"chosen_options": [fua.OPTION_APPROVE], "params_input": {"alasan": None}}, params
    )


# ---- step 8 rules against a real ledger file ------------------------------------------------
class _FakeTI:
    map_index = -1

    def __init__(self, info: dict[str, Any]) -> None:
        self.info, self.pushed = info, {}

    def xcom_pull(self, task_ids: str, key: str | None = None) -> Any:
        return self.info

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


class _FakeRun:
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")


def _item(ledger: Ledger, bidang: str = "kearsipan") -> int:
    received = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    return int(record_item(ledger, 77, "Cari arsip desa 1980", received, bidang=bidang).id)


def _with_approval(cfg: OfficeConfig) -> OfficeConfig:
    return cfg.model_copy(
        update={"follow_up": cfg.follow_up.model_copy(update={"replies_need_approval": True})}
    )


def test_teruskan_offers_neither_the_bidang_itself_nor_one_that_already_decided(ledger, office_cfg):
    item_id = _item(ledger)
    store = FollowUps(ledger)
    assert fua.reroute_targets(office_cfg, store, item_id, "kearsipan") == ["perpustakaan", "sekretariat"]
    decide(
        store,
        item_id,
        text=None,
        run_id="r1",
        decision="reroute",
        bidang="sekretariat",
        actor="sekretariat",
        target_bidang="kearsipan",
    )
    assert fua.reroute_targets(office_cfg, store, item_id, "kearsipan") == ["perpustakaan"]


def test_an_unusable_answer_is_refused_before_anything_is_recorded(ledger, office_cfg, monkeypatch):
    item_id = _item(ledger)
    store = FollowUps(ledger)
    op = fua.FollowUpOperator(cfg=office_cfg)

    def problem(option: str, **given: Any) -> str | None:
        return op._problem(store, item_id, "kearsipan", [option], {**FORM, **given})

    assert problem(OPTION_REROUTE, bidang_tujuan="perpustakaan") is None
    assert "tidak bisa dipilih" in (problem(OPTION_REROUTE, bidang_tujuan="kearsipan") or "")  # itself
    assert "tidak bisa dipilih" in (problem(OPTION_REROUTE, bidang_tujuan="Bidang Perpustakaan") or "")
    assert "wajib diisi" in (problem(OPTION_REPLY, reply="  ") or "")
    assert "wajib diisi" in (problem(OPTION_NO_REPLY) or "")
    assert "tidak dikenal" in (op._problem(store, item_id, "kearsipan", ["Setuju"], FORM) or "")
    assert problem(OPTION_REPLY, reply="Bisa, Kak") is None
    # the task fails without a retry: a retry would silently ask the bidang again
    monkeypatch.setattr(fua, "get_ledger", lambda: ledger)

    event = {
        "chosen_options": [OPTION_REROUTE],
        "params_input": {**FORM, "bidang_tujuan": "kearsipan"},
        "responded_by_user": {"id": "bidang_kearsipan"},
    }
    with pytest.raises(AirflowFailException, match="Tidak ada yang dicatat"):
        op.execute_complete(
            {"ti": _FakeTI({"item_id": item_id, "bidang": "kearsipan"}), "dag_run": None}, event
        )
    assert store.decided(item_id, "kearsipan") is None


def test_step9_posts_only_an_approved_reply(ledger, office_cfg):
    item_id = _item(ledger, "perpustakaan")
    store = FollowUps(ledger)
    decide(store, item_id, "Bisa, Kak", "r1")
    cfg = _with_approval(office_cfg)
    with pytest.raises(AirflowFailException, match="belum disetujui"):
        fua.post_reply(item_id, "perpustakaan", ledger=ledger, cfg=cfg)
    store.add(item_id, "perpustakaan", fua.EVENT_RETURNED, actor="kasubag", text="Perbaiki", run_id="r1")
    with pytest.raises(AirflowFailException, match="dikembalikan"):
        fua.post_reply(item_id, "perpustakaan", ledger=ledger, cfg=cfg)
    assert store.reply_results(item_id) == []


def test_the_approval_shows_the_reply_inert(ledger, office_cfg):
    item_id = _item(ledger, "perpustakaan")
    store = FollowUps(ledger)
    evil = "Klik [di sini](https://evil.test) <script>alert(1)</script>\n~~~\n# judul"
    decide(store, item_id, evil, "r1")
    reply = store.decided(item_id, "perpustakaan")
    assert reply is not None
    body = fua.approval_body(
        store.view(item_id), "Bidang Perpustakaan", reply, "Kasubag Umum dan Kepegawaian"
    )
    assert f"~~~~text\n{evil}\n~~~~" in body  # fenced longer than any run of ~ in the reply
    assert body.count("https://evil.test") == 1 and "Ya — setujui balasan" in body


def test_a_retry_finds_the_decision_its_run_recorded(ledger, office_cfg):
    item_id = _item(ledger)
    store = FollowUps(ledger)
    assert fua.decided_in_run(store, item_id, "kearsipan", "run-a") is None
    decide(store, item_id, "Sudah dijawab lewat telepon", "run-a", decision="no_reply", bidang="kearsipan")
    recorded = fua.decided_in_run(store, item_id, "kearsipan", "run-a")
    assert recorded is not None and recorded.event == "no_reply"  # carried out, not asked again
    assert fua.decided_in_run(store, item_id, "kearsipan", "run-b") is None  # another run: refused


def test_a_retry_carries_the_recorded_reroute_out_without_asking_again(ledger, office_cfg, monkeypatch):
    item_id = _item(ledger)
    store = FollowUps(ledger)
    decide(
        store,
        item_id,
        text=None,
        run_id="run-a",
        decision="reroute",
        bidang="kearsipan",
        target_bidang="perpustakaan",
    )
    monkeypatch.setattr(fua, "get_ledger", lambda: ledger)
    op = fua.FollowUpOperator(cfg=office_cfg)
    branched: list[Any] = []
    monkeypatch.setattr(
        op, "do_branch", lambda context, branches_to_execute: branched.append(branches_to_execute)
    )

    ti = _FakeTI({"item_id": item_id, "bidang": "kearsipan"})
    for _ in range(2):  # a second retry changes nothing either
        op.execute({"ti": ti, "dag_run": _FakeRun("run-a")})  # no question is put (that would need the API)
    assert branched == [[fua.REROUTE_TASK], [fua.REROUTE_TASK]]
    assert ti.pushed[fua.REROUTE_XCOM] == {
        "run_id": f"tindak_lanjut__item{item_id}__perpustakaan",
        "conf": {"item_id": item_id, "bidang": "perpustakaan"},
    }
    forwards = [f for f in Inbox(ledger).forwards() if f.bidang == "perpustakaan"]
    assert len(forwards) == 1 and forwards[0].via == "teruskan:kearsipan"


# ---- a returned reply goes back to the same bidang (revision run) -----------------------------
def _answer(option: str, reason: str | None, who: str = "kasubag") -> dict[str, Any]:
    return {
        "chosen_options": [option],
        "params_input": {"alasan": reason},
        "responded_by_user": {"id": who, "name": who},
        "responded_at": datetime.now(UTC),
    }


@pytest.fixture
def approval_dag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ledger: Ledger) -> Any:
    dag = _parse(tmp_path, monkeypatch, approval=True)
    monkeypatch.setattr(fua, "get_ledger", lambda: ledger)
    monkeypatch.setattr(fua, "notify", lambda to, subject, text: None)  # no SMTP connection lookup
    return dag


def test_a_return_records_who_and_why_skips_step_9_and_starts_a_revision_run(ledger, approval_dag):
    item_id = _item(ledger, "perpustakaan")
    store = FollowUps(ledger)
    decide(store, item_id, "Kirim ke email pribadi saya", "run-a")
    op = approval_dag.task_dict[fua.APPROVE_TASK]
    ti = _FakeTI({"item_id": item_id, "bidang": "perpustakaan"})
    context = {"ti": ti, "dag_run": _FakeRun("run-a"), "task": op}
    with pytest.raises(DownstreamTasksSkipped) as skipped:
        op.execute_complete(context, _answer(fua.OPTION_RETURN, "Pakai alamat resmi dinas"))
    assert skipped.value.tasks == [fua.REPLY_TASK]  # the revision trigger runs, step 9 does not
    assert ti.pushed[fua.REVISION_XCOM] == {
        "run_id": f"tindak_lanjut__item{item_id}__perpustakaan__revisi1",
        "conf": {"item_id": item_id, "bidang": "perpustakaan"},
    }
    returned = [e for e in store.events(item_id) if e.event == fua.EVENT_RETURNED]
    assert [(e.actor, e.text, e.run_id) for e in returned] == [
        ("kasubag", "Pakai alamat resmi dinas", "run-a")
    ]
    assert store.decided(item_id, "perpustakaan") is None  # the returned reply no longer stands
    # a retry of the approval task carries the recorded return out again: same revision run id
    ti2 = _FakeTI({"item_id": item_id, "bidang": "perpustakaan"})
    with pytest.raises(DownstreamTasksSkipped):
        op.execute({"ti": ti2, "dag_run": _FakeRun("run-a"), "task": op})
    assert ti2.pushed[fua.REVISION_XCOM] == ti.pushed[fua.REVISION_XCOM]
    assert len([e for e in store.events(item_id) if e.event == fua.EVENT_RETURNED]) == 1


def test_the_revision_run_starts_asks_again_with_the_returned_reply_shown_inert(
    ledger, office_cfg, approval_dag, monkeypatch
):
    item_id = _item(ledger, "perpustakaan")
    store = FollowUps(ledger)
    evil = "Klik [di sini](https://evil.test) <b>sekarang</b>"
    decide(store, item_id, evil, "run-a")
    with pytest.raises(AirflowFailException, match="sudah ditindaklanjuti"):  # a standing reply
        fua.prepare({"item_id": item_id}, run_id="run-x", ledger=ledger, cfg=office_cfg)
    store.add(item_id, "perpustakaan", fua.EVENT_RETURNED, actor="kasubag", text="Jangan <i>tautan</i>")
    revision_run = fua.revision_run_id(item_id, "perpustakaan", 1)
    info = fua.prepare(
        {"item_id": item_id, "bidang": "perpustakaan"}, run_id=revision_run, ledger=ledger, cfg=office_cfg
    )
    assert info == {"item_id": item_id, "bidang": "perpustakaan", "channel": "website"}
    returned_reply = next(e for e in store.events(item_id) if e.event == "reply")
    opened = [e for e in store.events(item_id) if e.event == "opened"]
    assert opened[-1].run_id == revision_run and opened[-1].detail == {"revision_of": returned_reply.id}

    asked: list[Any] = []
    monkeypatch.setattr(HITLOperator, "execute", lambda self, context: asked.append(self))
    op = approval_dag.task_dict[fua.DECIDE_TASK]
    op.execute({"ti": _FakeTI(info), "dag_run": _FakeRun(revision_run)})
    assert asked == [op]  # asked again (nothing carried over from the returned reply)
    assert op.subject.startswith(f"Revisi tindak lanjut #{item_id}")
    assert "dikembalikan" in op.body and "`kasubag`" in op.body
    assert "~~~text\nJangan <i>tautan</i>\n~~~" in op.body  # the reason, inert
    assert f"~~~text\n{evil}\n~~~" in op.body  # the returned reply, inert
    assert op.body.count("https://evil.test") == 1
    assert [u["id"] for u in op.assigned_users] == ["bidang_perpustakaan"]


def test_only_the_revised_reply_once_approved_is_posted(
    ledger, office_cfg, approval_dag, monkeypatch, tmp_path
):
    from sop_tasks.channels import OutboxPublisher

    item_id = _item(ledger, "perpustakaan")
    store = FollowUps(ledger)
    cfg = _with_approval(office_cfg)
    decide(store, item_id, "Jawaban pertama", "run-a")
    store.add(
        item_id, "perpustakaan", fua.EVENT_RETURNED, actor="kasubag", text="Kurang sopan", run_id="run-a"
    )
    decide(store, item_id, "Jawaban kedua, sudah diperbaiki", "run-b")
    assert store.decided(item_id, "perpustakaan").text == "Jawaban kedua, sudah diperbaiki"
    with pytest.raises(AirflowFailException, match="belum disetujui"):  # the old return is not a verdict
        fua.post_reply(item_id, "perpustakaan", ledger=ledger, cfg=cfg)

    # the approval of the revision: requested once (for the reminders), four eyes, the new reply
    asked: list[Any] = []
    monkeypatch.setattr(HITLOperator, "execute", lambda self, context: asked.append(self))
    op = approval_dag.task_dict[fua.APPROVE_TASK]
    info = {"item_id": item_id, "bidang": "perpustakaan"}
    for _ in range(2):
        op.execute({"ti": _FakeTI(info), "dag_run": _FakeRun("run-b"), "task": op})
    assert len(asked) == 2 and "Jawaban kedua" in op.body and "Jawaban pertama" not in op.body
    requests = [e for e in store.events(item_id) if e.event == fu.EVENT_APPROVAL_REQUESTED]
    assert len(requests) == 1 and requests[0].run_id == "run-b"
    with pytest.raises(DownstreamTasksSkipped) as skipped:
        op.execute_complete(
            {"ti": _FakeTI(info), "dag_run": _FakeRun("run-b"), "task": op}, _answer(fua.OPTION_APPROVE, None)
        )
    assert skipped.value.tasks == [fua.REVISE_TASK]  # approved: no revision, step 9 goes on

    outbox = OutboxPublisher("website", tmp_path / "outbox")
    monkeypatch.setattr(fua, "replier_for", lambda channel, cfg: outbox)
    result = fua.post_reply(item_id, "perpustakaan", ledger=ledger, cfg=cfg)
    assert result["mode"] == "outbox"
    assert "Jawaban kedua" in "".join(p.read_text() for p in (tmp_path / "outbox").rglob("*") if p.is_file())
    assert fua.post_reply(item_id, "perpustakaan", ledger=ledger, cfg=cfg) == result  # exactly once
    row = next(r for r in store.summaries() if r["item_id"] == item_id)
    assert row["status_label"] == "dibalas (outbox, koneksi belum diatur) (revisi ke-1)"
    assert row["returned"][0]["by"] == "kasubag" and row["returned"][0]["reason"] == "Kurang sopan"
    assert row["approved"]["by"] == "kasubag" and row["reply_text"] == "Jawaban kedua, sudah diperbaiki"


def test_sop_pengingat_reminds_reply_approvals_too(monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(str(REPO / "dags" / "sop_reminders.py"))
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags["sop_pengingat"]
    assert {"kirim_pengingat", "pengingat_tindak_lanjut", "pengingat_persetujuan_balasan"} <= set(
        dag.task_dict
    )
    assert "5 menit" in dag.doc_md


def test_a_second_bidangs_answer_to_an_answered_message_is_not_posted_but_recorded(
    ledger, office_cfg, monkeypatch, tmp_path
):
    from sop_tasks.channels import OutboxPublisher

    item_id = _item(ledger, "perpustakaan")
    store = FollowUps(ledger)
    outbox = OutboxPublisher("website", tmp_path / "outbox")
    monkeypatch.setattr(fua, "replier_for", lambda channel, cfg: outbox)
    decide(store, item_id, "Buka jam 8, Kak", "run-a")
    first = fua.post_reply(item_id, "perpustakaan", ledger=ledger, cfg=office_cfg)
    decide(store, item_id, "Jawaban kedua dari arsip", "run-b", bidang="kearsipan")  # a run started by hand
    with pytest.raises(AirflowFailException, match="sudah dijawab oleh Bidang Perpustakaan") as exc:
        fua.post_reply(item_id, "kearsipan", ledger=ledger, cfg=office_cfg)
    assert first["url"] in str(exc.value)
    assert len(list((tmp_path / "outbox").glob("*/payload.json"))) == 1  # one answer for the citizen
    errors = [e for e in store.events(item_id) if e.event == "error" and e.bidang == "kearsipan"]
    assert errors and "tidak diunggah" in errors[0].text
    assert fua.post_reply(item_id, "perpustakaan", ledger=ledger, cfg=office_cfg) == first  # still settled


def test_a_second_bidang_cannot_take_over_a_reply_still_on_its_way(ledger, office_cfg, monkeypatch):
    item_id = _item(ledger, "perpustakaan")
    store = FollowUps(ledger)
    calls: list[str] = []
    monkeypatch.setattr(fua, "replier_for", lambda channel, cfg: calls.append(channel))
    decide(store, item_id, "Buka jam 8, Kak", "run-a")  # decided; its upload not done yet
    decide(store, item_id, "Jawaban kedua dari arsip", "run-b", bidang="kearsipan")
    with pytest.raises(AirflowFailException, match=r"Bidang Perpustakaan \(sedang diunggah\)"):
        fua.post_reply(item_id, "kearsipan", ledger=ledger, cfg=office_cfg)
    assert calls == [] and store.reply_results(item_id) == []  # nothing sent, nothing adopted


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (ActionRequiredError("instagram", "buka aplikasi Instagram"), AirflowFailException),
        (CredentialsError("instagram", "kata sandi salah"), AirflowFailException),
        (RateLimitedError("twitter", "429", datetime(2030, 1, 1, tzinfo=UTC)), AirflowRescheduleException),
        (TransientChannelError("website", "502"), TransientChannelError),
    ],
)
def test_the_reply_step_ends_like_an_upload_on_a_platform_refusal(tmp_path, monkeypatch, error, outcome):
    # No retry loop on a challenge or a bad password (repeated logins lock the account); a rate
    # limit reschedules; only a transient error is left for Airflow's retries.
    dag = _parse(tmp_path, monkeypatch, approval=False)

    def refuse(*a: Any, **k: Any) -> Any:
        raise error

    monkeypatch.setattr(fua, "post_reply", refuse)
    task = dag.task_dict[fua.REPLY_TASK]
    with pytest.raises(outcome):
        task.python_callable(ti=_FakeTI({"item_id": 1, "bidang": "perpustakaan"}))
