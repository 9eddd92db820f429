"""Monitor → follow-up → reply, in-process on real Airflow, against the real WordPress.

Every path of SOP step 8 is answered through the real REST app (with the plugin's guard) by the
users the office config names: Balas, Tidak perlu dibalas, Teruskan (and the new bidang's own
follow-up), and — with ``follow_up.replies_need_approval`` — the official's approval of a reply,
and a returned reply's revision run (the same bidang answers again; the revised reply is posted).

``dag.test()`` waits for a human answer without any limit of its own, so every run here goes
through ``_follow_up``: a watchdog fails whatever is still waiting after the deadline, and the
test fails saying so instead of hanging.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from sop_tasks.airflow import followup as fua
from sop_tasks.airflow.ledger import get_ledger
from sop_tasks.channels.website import WordPressCredentials, WordPressPublisher
from sop_tasks.content import PreparedContent
from sop_tasks.followup import OPTION_NO_REPLY, OPTION_REPLY, OPTION_REROUTE, FollowUps
from sop_tasks.records.inbox import Inbox
from tests.support.airflow_api import Answer, Answerer, follow_up_form, run_answered

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[2]
DECIDE, APPROVE = fua.DECIDE_TASK, fua.APPROVE_TASK


def _follow_up(
    dag: Any,
    rest_api: Any,
    answers: list[tuple[str, Answer]],
    *,
    run_conf: dict[str, Any],
    logical_date: datetime | None = None,
    deadline_s: float = 150,
) -> tuple[Any, Answerer]:
    """One ``dag.test()`` run answered by ``answers`` (task id, answer) in order, with a watchdog."""
    script: dict[str, list[Answer]] = {}
    for task_id, a in answers:
        script.setdefault(task_id, []).append(a)
    return run_answered(
        dag, rest_api, script, run_conf, deadline_s, params_for=follow_up_form, logical_date=logical_date
    )


def _states(dr: Any) -> dict[str, str]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as s:
        rows = s.execute(
            select(TaskInstance.task_id, TaskInstance.state).where(
                TaskInstance.dag_id == dr.dag_id, TaskInstance.run_id == dr.run_id
            )
        ).all()
    return {task_id: str(getattr(state, "value", state)) for task_id, state in rows}


def _replies_under(wordpress: Any, item: Any) -> int:
    """Comments under the citizen's comment, counted in WordPress's own database."""
    return int(
        wordpress.sql(f"SELECT COUNT(*) FROM wp_comments WHERE comment_parent={int(item.platform_id)}")
    )


def _events(item_id: int) -> list[Any]:
    return FollowUps(get_ledger()).events(item_id)


@pytest.fixture(scope="module")
def swept(dagbag, wordpress):
    """A post on the site, citizens' comments, and one real sop_monitor run."""
    os.environ["AIRFLOW_CONN_SOP_WEBSITE"] = wordpress.conn_json()
    pub = WordPressPublisher(
        WordPressCredentials(wordpress.url, wordpress.admin_user, wordpress.app_password)
    )
    post = pub.publish(
        PreparedContent(
            title=f"Layanan Desember {uuid.uuid4().hex[:4]}",
            body="Jadwal layanan.",
            channels=("website",),
            caption_instagram="",
            text_twitter="",
        ),
        f"sop0-website-{uuid.uuid4().hex[:12]}",
    )
    texts = {
        "perpus": f"Min perpus buka jam brp hari sabtu? mau pinjem buku {uuid.uuid4().hex[:4]}",
        "arsip": f"Saya mau cari arsip surat tanah desa tahun 1980, bisa? {uuid.uuid4().hex[:4]}",
        "terima": f"Terima kasih infonya min, sangat bermanfaat {uuid.uuid4().hex[:4]}",
        "kartu": f"Min mau tanya syarat bikin kartu anggota perpustakaan gimana ya {uuid.uuid4().hex[:4]}",
        "magang": f"Apakah ada lowongan magang di dinas? {uuid.uuid4().hex[:4]}",
        "serah": f"Bagaimana cara menyerahkan arsip keluarga yang lama ke dinas? {uuid.uuid4().hex[:4]}",
        "judol": "slot gacor maxwin hari ini depo 10rb wd cepat klik link",
    }
    for who, text in texts.items():
        wordpress.post_comment(post.post_id, who.title(), f"{who}@warga.test", text)
    dr = dagbag.dags["sop_monitor"].test()
    inbox = Inbox(get_ledger())
    items = {i.text: i for i in inbox.items() if i.text in texts.values()}
    yield {"post": post, "texts": texts, "items": items, "monitor_run": dr, "pub": pub}
    os.environ.pop("AIRFLOW_CONN_SOP_WEBSITE", None)


def test_sweep_recorded_routed_forwarded_and_follow_ups_started(swept):
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    items, texts = swept["items"], swept["texts"]
    assert set(items) == set(texts.values())
    routed = {k: items[t].bidang for k, t in texts.items()}
    assert routed == {
        "perpus": "perpustakaan",
        "arsip": "kearsipan",
        "terima": "sekretariat",
        "kartu": "perpustakaan",
        "magang": "sekretariat",
        "serah": "kearsipan",
        "judol": None,
    }
    assert items[texts["judol"]].spam
    inbox = Inbox(get_ledger())
    fwd = {f.item_id: f.bidang for f in inbox.forwards()}
    assert fwd[items[texts["perpus"]].id] == "perpustakaan"
    assert items[texts["judol"]].id not in fwd
    sweep = next(s for s in inbox.sweeps() if s.run_id == swept["monitor_run"].run_id)
    assert sweep.status == "ok" and sweep.counts["website"]["new"] >= 6
    with create_session() as s:
        runs = set(s.scalars(select(DagRun.run_id).where(DagRun.dag_id == "sop_follow_up")))
    for key in ("perpus", "arsip", "terima", "kartu", "magang", "serah"):
        assert fua.follow_up_run_id(items[texts[key]].id, routed[key]) in runs


def test_reply_posted_under_the_comment_and_other_bidang_refused(dagbag, rest_api, swept, wordpress):
    item = swept["items"][swept["texts"]["perpus"]]
    answer = f"Halo Kak, Sabtu buka 08.00–12.00. Salam, Perpustakaan {uuid.uuid4().hex[:4]}"
    dr, _ = _follow_up(
        dagbag.dags["sop_follow_up"],
        rest_api,
        [
            (DECIDE, Answer("bidang_kearsipan", OPTION_REPLY, reason=answer, expect_status=403)),
            (DECIDE, Answer("bidang_perpustakaan", OPTION_REPLY, expect_status=422)),  # empty reply
            (DECIDE, Answer("bidang_perpustakaan", OPTION_REPLY, reason=answer)),
        ],
        run_conf={"item_id": item.id},
    )
    assert dr.state == "success"
    fu = FollowUps(get_ledger())
    posted = [r for r in fu.reply_results(item.id) if r.status == "published"]
    assert len(posted) == 1 and posted[0].url
    page = requests.get(swept["post"].url, timeout=10).text
    assert "Sabtu buka 08.00" in page and swept["texts"]["perpus"].split(" mau")[0] in page
    assert _replies_under(wordpress, item) == 1
    row = next(r for r in fu.summaries() if r["item_id"] == item.id)
    assert row["answered_by"] == "bidang_perpustakaan" and row["posted"]["url"] == posted[0].url
    assert row["seconds_incoming_to_forwarded"] is not None and row["standard_post_seconds"] == 300


def test_no_reply_needs_a_reason_posts_nothing_and_is_recorded(dagbag, rest_api, swept, wordpress):
    item = swept["items"][swept["texts"]["terima"]]
    reason = "Ucapan terima kasih, tidak memerlukan jawaban"
    dr, answerer = _follow_up(
        dagbag.dags["sop_follow_up"],
        rest_api,
        [
            (DECIDE, Answer("bidang_perpustakaan", OPTION_NO_REPLY, reason=reason, expect_status=403)),
            (DECIDE, Answer("sekretariat", OPTION_NO_REPLY, reason="  ", expect_status=422)),  # no reason
            (DECIDE, Answer("sekretariat", OPTION_NO_REPLY, reason=reason)),
        ],
        run_conf={"item_id": item.id},
    )
    assert "Alasan wajib diisi" in answerer.log[1][3]
    assert dr.state == "success"
    states = _states(dr)
    assert states[fua.NO_REPLY_TASK] == "success"
    assert states[fua.REPLY_TASK] == "skipped" and states[fua.REROUTE_TASK] == "skipped"
    fu = FollowUps(get_ledger())
    assert fu.reply_results(item.id) == []
    decided = fu.decided(item.id, "sekretariat")
    assert decided is not None and decided.event == "no_reply"
    assert decided.text == reason and decided.actor == "sekretariat" and decided.run_id == dr.run_id
    row = next(r for r in fu.summaries() if r["item_id"] == item.id)
    assert row["status"] == "no_reply" and row["reason"] == reason and row["posted"] is None
    assert _replies_under(wordpress, item) == 0
    assert reason not in requests.get(swept["post"].url, timeout=10).text


def test_an_answer_that_cannot_be_used_is_refused_and_the_question_stays_open(dagbag, rest_api, swept):
    """Teruskan to a bidang name instead of its code: the API guard refuses it (422) like the form
    would, so the answer is never lost — the same question stays open (not failed, not asked again
    by a retry) and the right answer is still taken. (An unusable answer that gets past the guard
    fails the task once, recording nothing: tests/airflow/test_follow_up_shapes.py.)"""
    item = swept["items"][swept["texts"]["serah"]]
    reason = "Penyerahan arsip keluarga dijawab lewat surat resmi"
    dr, answerer = _follow_up(
        dagbag.dags["sop_follow_up"],
        rest_api,
        [
            (
                DECIDE,
                Answer("bidang_kearsipan", OPTION_REROUTE, reason="Bidang Perpustakaan", expect_status=422),
            ),
            (DECIDE, Answer("bidang_kearsipan", OPTION_NO_REPLY, reason=reason)),
        ],
        run_conf={"item_id": item.id},
        deadline_s=90,
    )
    assert "bukan pilihan yang tersedia" in answerer.log[0][3]
    assert dr.state == "success"
    assert _states(dr)[DECIDE] == "success"
    hitl = _hitl(rest_api, dr, DECIDE)
    assert hitl["task_instance"]["try_number"] == 1  # asked once, not again by a retry
    assert hitl["params"]["bidang_tujuan"]["schema"]["enum"] == [None, "perpustakaan", "sekretariat"]
    assert hitl["chosen_options"] == [OPTION_NO_REPLY]
    decided = FollowUps(get_ledger()).decided(item.id, "kearsipan")
    assert decided is not None and decided.event == "no_reply" and decided.text == reason


def test_reroute_starts_the_other_bidangs_follow_up_which_posts_the_reply(dagbag, rest_api, swept, wordpress):
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    item = swept["items"][swept["texts"]["arsip"]]
    dag = dagbag.dags["sop_follow_up"]
    dr, _ = _follow_up(
        dag,
        rest_api,
        [
            (DECIDE, Answer("bidang_perpustakaan", OPTION_REROUTE, reason="sekretariat", expect_status=403)),
            (DECIDE, Answer("bidang_kearsipan", OPTION_REROUTE, reason=None, expect_status=422)),  # no target
            (DECIDE, Answer("bidang_kearsipan", OPTION_REROUTE, reason="perpustakaan")),
        ],
        run_conf={"item_id": item.id},
    )
    assert dr.state == "success"
    states = _states(dr)
    assert states[fua.REROUTE_TASK] == "success" and states[fua.REPLY_TASK] == "skipped"
    rerouted = FollowUps(get_ledger()).decided(item.id, "kearsipan")
    assert rerouted is not None and rerouted.event == "reroute"
    assert rerouted.target_bidang == "perpustakaan" and rerouted.actor == "bidang_kearsipan"
    assert any(
        f.item_id == item.id and f.bidang == "perpustakaan" and f.via == "teruskan:kearsipan"
        for f in Inbox(get_ledger()).forwards()
    )
    new_run_id = fua.follow_up_run_id(item.id, "perpustakaan")
    with create_session() as s:
        new = s.scalars(
            select(DagRun).where(DagRun.dag_id == "sop_follow_up", DagRun.run_id == new_run_id)
        ).one()
        conf, logical_date = dict(new.conf), new.logical_date
        assert str(getattr(new.run_type, "value", new.run_type)) == "operator_triggered"
        assert str(getattr(new.state, "value", new.state)) == "queued"  # for the scheduler to start
    assert conf == {"item_id": item.id, "bidang": "perpustakaan"}

    # No scheduler runs in-process: dag.test() runs the new follow-up under its logical date and
    # conf (it replaces the queued run with its own). Its question goes to Perpustakaan only.
    answer = f"Halo Kak, arsip pertanahan desa dapat dilihat di ruang baca kami. {uuid.uuid4().hex[:4]}"
    dr2, _ = _follow_up(
        dag,
        rest_api,
        [
            (DECIDE, Answer("bidang_kearsipan", OPTION_REPLY, reason=answer, expect_status=403)),
            (DECIDE, Answer("bidang_perpustakaan", OPTION_REPLY, reason=answer)),
        ],
        run_conf=conf,
        logical_date=logical_date,
    )
    assert dr2.state == "success"
    fu = FollowUps(get_ledger())
    posted = [r for r in fu.reply_results(item.id) if r.status == "published"]
    assert len(posted) == 1 and posted[0].url
    assert _replies_under(wordpress, item) == 1
    assert "arsip pertanahan desa" in requests.get(swept["post"].url, timeout=10).text
    rows = {r["bidang"]: r for r in fu.summaries() if r["item_id"] == item.id}
    assert rows["kearsipan"]["status"] == "reroute" and rows["kearsipan"]["rerouted_to"] == "perpustakaan"
    assert rows["perpustakaan"]["status"] == "reply"
    assert rows["perpustakaan"]["answered_by"] == "bidang_perpustakaan"


# ---- follow_up.replies_need_approval: an official approves a reply before it is posted --------
@contextmanager
def _approval_dag(test_home: Path) -> Iterator[Any]:
    """sop_follow_up parsed from an office config with ``replies_need_approval: true``."""
    from airflow.dag_processing.dagbag import DagBag

    before = os.environ["SOP_CONFIG_DIR"]
    variant = test_home / "config-approval"
    if not variant.exists():
        shutil.copytree(before, variant)
        raw = yaml.safe_load((variant / "office.yaml").read_text())
        raw["follow_up"]["replies_need_approval"] = True
        (variant / "office.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True))
    os.environ["SOP_CONFIG_DIR"] = str(variant)
    try:
        bag = DagBag(str(REPO / "dags" / "sop_follow_up.py"))
        assert not bag.import_errors, bag.import_errors
        dag = bag.dags["sop_follow_up"]
        assert APPROVE in dag.task_dict
        yield dag
    finally:
        os.environ["SOP_CONFIG_DIR"] = before


def _hitl(rest_api: Any, dr: Any, task_id: str) -> dict[str, Any]:
    from urllib.parse import quote

    run = quote(dr.run_id, safe="")
    path = f"/api/v2/dags/{dr.dag_id}/dagRuns/{run}/taskInstances/{task_id}/-1/hitlDetails"
    r = rest_api.request("admin", "GET", path)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_approved_reply_is_posted(rest_api, swept, wordpress, test_home, office_cfg):
    item = swept["items"][swept["texts"]["kartu"]]
    answer = f"Halo Kak, cukup bawa KTP ke layanan sirkulasi. <b>Gratis</b> {uuid.uuid4().hex[:4]}"
    with _approval_dag(test_home) as dag:
        dr, _ = _follow_up(
            dag,
            rest_api,
            [
                (DECIDE, Answer("bidang_perpustakaan", OPTION_REPLY, reason=answer)),
                (APPROVE, Answer("bidang_perpustakaan", fua.OPTION_APPROVE, expect_status=403)),  # author
                (APPROVE, Answer("kasubag", fua.OPTION_APPROVE)),
            ],
            run_conf={"item_id": item.id},
        )
    assert dr.state == "success"
    states = _states(dr)
    assert states[APPROVE] == "success" and states[fua.REPLY_TASK] == "success"
    hitl = _hitl(rest_api, dr, APPROVE)
    assert [u["id"] for u in hitl["assigned_users"]] == office_cfg.verifier("kasubag").users
    assert f"~~~text\n{answer}\n~~~" in hitl["body"]  # the reply shown inert, exactly as posted
    assert hitl["chosen_options"] == [fua.OPTION_APPROVE]
    evs = [e for e in _events(item.id) if e.bidang == "perpustakaan"]
    kinds = [e.event for e in evs]
    assert kinds.index("reply") < kinds.index("reply_approved") < kinds.index("posted")
    assert next(e for e in evs if e.event == "reply_approved").actor == "kasubag"
    posted = [r for r in FollowUps(get_ledger()).reply_results(item.id) if r.status == "published"]
    assert len(posted) == 1 and posted[0].url
    assert _replies_under(wordpress, item) == 1


def _queued_run(run_id: str) -> tuple[dict[str, Any], Any]:
    """conf and logical date of a run a TriggerDagRunOperator queued for the scheduler."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as s:
        run = s.scalars(select(DagRun).where(DagRun.dag_id == "sop_follow_up", DagRun.run_id == run_id)).one()
        assert str(getattr(run.run_type, "value", run.run_type)) == "operator_triggered"
        assert str(getattr(run.state, "value", run.state)) == "queued"  # for the scheduler to start
        return dict(run.conf), run.logical_date


def test_returned_reply_is_not_posted_and_the_revised_one_is(rest_api, swept, wordpress, test_home):
    item = swept["items"][swept["texts"]["magang"]]
    answer = f"Ada, silakan kirim lamaran ke email pribadi saya. {uuid.uuid4().hex[:4]}"
    reason = "Jangan arahkan ke email pribadi; sebutkan pengumuman resmi di situs dinas"
    with _approval_dag(test_home) as dag:
        dr, answerer = _follow_up(
            dag,
            rest_api,
            [
                (DECIDE, Answer("sekretariat", OPTION_REPLY, reason=answer)),
                (APPROVE, Answer("kasubag", fua.OPTION_RETURN, reason=None, expect_status=422)),  # no reason
                (APPROVE, Answer("kasubag", fua.OPTION_RETURN, reason=reason)),
            ],
            run_conf={"item_id": item.id},
        )
    assert "Alasan wajib diisi" in answerer.log[1][3]
    assert dr.state == "success"  # a returned reply is an outcome, not a failure
    states = _states(dr)
    assert states[APPROVE] == "success" and states[fua.REPLY_TASK] == "skipped"
    returned = [e for e in _events(item.id) if e.event == "reply_returned"]
    assert len(returned) == 1 and returned[0].actor == "kasubag" and returned[0].text == reason
    assert returned[0].bidang == "sekretariat" and returned[0].run_id == dr.run_id
    assert not [e for e in _events(item.id) if e.event in ("reply_approved", "posted")]
    assert FollowUps(get_ledger()).reply_results(item.id) == []
    assert _replies_under(wordpress, item) == 0
    assert "email pribadi" not in requests.get(swept["post"].url, timeout=10).text
    assert states[fua.REVISE_TASK] == "success"
    row = next(r for r in FollowUps(get_ledger()).summaries() if r["item_id"] == item.id)
    assert row["status"] == "reply_returned" and "dikembalikan oleh kasubag" in row["status_label"]

    # Sent back to the same bidang: a revision run of sop_follow_up, queued like the reroute's.
    # dag.test() runs it under its logical date and conf; Sekretariat sees what was returned and
    # why, answers again, the Kasubag approves, and the revised reply is posted — once.
    conf, logical_date = _queued_run(fua.revision_run_id(item.id, "sekretariat", 1))
    assert conf == {"item_id": item.id, "bidang": "sekretariat"}
    revised = f"Informasi magang diumumkan resmi di situs dinas. {uuid.uuid4().hex[:4]}"
    with _approval_dag(test_home) as dag:
        dr2, _ = _follow_up(
            dag,
            rest_api,
            [
                (DECIDE, Answer("bidang_perpustakaan", OPTION_REPLY, reason=revised, expect_status=403)),
                (DECIDE, Answer("sekretariat", OPTION_REPLY, reason=revised)),
                (APPROVE, Answer("kasubag", fua.OPTION_APPROVE)),
            ],
            run_conf=conf,
            logical_date=logical_date,
        )
    assert dr2.state == "success"
    states2 = _states(dr2)
    assert states2[APPROVE] == "success" and states2[fua.REPLY_TASK] == "success"
    assert states2[fua.REVISE_TASK] == "skipped"
    question = _hitl(rest_api, dr2, DECIDE)
    assert question["subject"].startswith(f"Revisi tindak lanjut #{item.id}")
    assert f"~~~text\n{answer}\n~~~" in question["body"]  # the returned reply, inert
    assert f"~~~text\n{reason}\n~~~" in question["body"]  # and why it was returned
    approval = _hitl(rest_api, dr2, APPROVE)
    assert f"~~~text\n{revised}\n~~~" in approval["body"] and answer not in approval["body"]
    fu = FollowUps(get_ledger())
    posted = [r for r in fu.reply_results(item.id) if r.status == "published"]
    assert len(posted) == 1 and posted[0].url
    assert _replies_under(wordpress, item) == 1
    page = requests.get(swept["post"].url, timeout=10).text
    assert "diumumkan resmi di situs dinas" in page and "email pribadi" not in page
    row = next(r for r in fu.summaries() if r["item_id"] == item.id)
    assert row["status"] == "reply" and row["reply_text"] == revised and row["posted"]["url"] == posted[0].url
    assert [(r["by"], r["reason"]) for r in row["returned"]] == [("kasubag", reason)]
    assert row["approved"]["by"] == "kasubag" and "revisi ke-1" in row["status_label"]
