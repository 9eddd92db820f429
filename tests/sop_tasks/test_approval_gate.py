"""The approval gate (SOP warning 1) at every channel write, from the records alone.

Every way the chain can be incomplete — a step missing, answered by someone not assigned, out of
order, for another content version, returned, or the run or content swapped — refuses the write
with an Indonesian message naming the gap; the refusal is recorded and nothing reaches a channel.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import update

from sop_tasks import approval_gate as gate
from sop_tasks.airflow.publish import identify, publish_channel, safe_name
from sop_tasks.approval_gate import HASH_KEY, TEXT_HASH_KEY, text_hash
from sop_tasks.cli import cmd_records_follow_ups, cmd_records_list
from sop_tasks.content import PreparedContent
from sop_tasks.errors import ApprovalMissingError
from sop_tasks.followup import EVENT_APPROVED, EVENT_RETURNED, FollowUps
from sop_tasks.notes import run_note
from sop_tasks.records.kinds import ResultStatus
from sop_tasks.records.ledger import STATUS_REFUSED, Ledger
from sop_tasks.records.models import Submission
from tests.support.approvals import approve_all
from tests.support.follow_up import decide, record_item
from tests.support.media import make_jpeg

CONNS = ("AIRFLOW_CONN_SOP_WEBSITE", "AIRFLOW_CONN_SOP_TWITTER", "AIRFLOW_CONN_SOP_INSTAGRAM")


@pytest.fixture
def ledger(tmp_path):
    return Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")


@pytest.fixture(autouse=True)
def no_connections(monkeypatch):
    for name in CONNS:
        monkeypatch.delenv(name, raising=False)


def _submit(ledger: Ledger, cfg, title: str = "Jam layanan") -> tuple[int, str]:
    run_id = f"manual__{uuid.uuid4().hex}"
    out = identify(
        {"title": f"{title} {uuid.uuid4().hex[:4]}", "body": "Buka pukul 08.00.", "channels": ["website"]},
        dag_id="sop_publish",
        run_id=run_id,
        submitted_by="pengelola_ti",
        run_started=None,
        ledger=ledger,
        cfg=cfg,
    )
    return int(out["submission_id"]), run_id


def _problems(ledger: Ledger, cfg, sid: int, run: tuple[str, str] | None = None) -> list[str]:
    sub = ledger.submission(sid)
    assert sub is not None
    content = PreparedContent.from_json(sub.content)
    return gate.submission_problems(sub, ledger.events(sid), cfg, content=content, run=run, submission_id=sid)


def _ask(ledger: Ledger, sid: int, step: int, h: str | None = None) -> None:
    sub = ledger.submission(sid)
    ledger.add_event(sid, step, "requested", detail={HASH_KEY: h or sub.content_hash})


def _yes(ledger: Ledger, sid: int, step: int, who: str, h: str | None = None) -> None:
    sub = ledger.submission(sid)
    ledger.add_event(sid, step, "approved", actor=who, detail={HASH_KEY: h or sub.content_hash})


WHO = {2: "kasubag", 3: "kabid", 4: "kadis"}


def test_three_approvals_in_order_for_this_content_pass(ledger, office_cfg):
    sid, run_id = _submit(ledger, office_cfg)
    approve_all(ledger, sid, office_cfg)
    assert _problems(ledger, office_cfg, sid, ("sop_publish", run_id)) == []


def test_an_acting_official_named_in_the_config_may_approve(ledger, office_cfg):
    sid, _ = _submit(ledger, office_cfg)
    for step in (2, 3, 4):
        _ask(ledger, sid, step)
        _yes(ledger, sid, step, "plt_kabid" if step == 3 else WHO[step])
    assert _problems(ledger, office_cfg, sid) == []


@pytest.mark.parametrize(
    ("missing", "label"),
    [(2, "Kasubag Umum dan Kepegawaian"), (3, "Kepala Bidang"), (4, "Kepala Dinas")],
)
def test_each_missing_step_is_named(ledger, office_cfg, missing, label):
    sid, _ = _submit(ledger, office_cfg)
    for step in (2, 3, 4):
        _ask(ledger, sid, step)
        if step != missing:
            _yes(ledger, sid, step, WHO[step])
    problems = _problems(ledger, office_cfg, sid)
    assert f"langkah {missing} ({label}) belum disetujui" in problems
    if missing == 3:
        assert str(ApprovalMissingError(problems)).startswith(
            "Ditolak: persetujuan tidak lengkap — langkah 3 (Kepala Bidang) belum disetujui"
        )


def test_only_requests_no_answers_as_when_tasks_are_marked_success(ledger, office_cfg):
    sid, _ = _submit(ledger, office_cfg)
    for step in (2, 3, 4):
        _ask(ledger, sid, step)
    problems = _problems(ledger, office_cfg, sid)
    assert [p.split(" (")[0] for p in problems] == ["langkah 2", "langkah 3", "langkah 4"]
    assert all(p.endswith("belum disetujui") for p in problems)


@pytest.mark.parametrize("intruder", ["pengelola_ti", "kabid", "bidang_perpustakaan", None])
def test_an_approval_by_a_user_not_assigned_to_that_step_does_not_count(ledger, office_cfg, intruder):
    sid, _ = _submit(ledger, office_cfg)
    for step in (2, 3, 4):
        _ask(ledger, sid, step)
        _yes(ledger, sid, step, intruder if step == 2 else WHO[step])
    problems = _problems(ledger, office_cfg, sid)
    assert any(p.startswith("langkah 2 (") and "tidak ditugaskan" in p for p in problems), problems


def test_approvals_out_of_order_do_not_count(ledger, office_cfg):
    sid, _ = _submit(ledger, office_cfg)
    for step in (2, 3, 4):
        _ask(ledger, sid, step)
    _yes(ledger, sid, 4, "kadis")  # the Kadis answered first
    _yes(ledger, sid, 3, "kabid")
    _yes(ledger, sid, 2, "kasubag")
    problems = _problems(ledger, office_cfg, sid)
    assert any(p.startswith("langkah 3") and "tidak berurutan" in p for p in problems), problems
    assert any(p.startswith("langkah 4") and "tidak berurutan" in p for p in problems), problems


def test_an_approval_before_its_own_request_does_not_count(ledger, office_cfg):
    sid, _ = _submit(ledger, office_cfg)
    _ask(ledger, sid, 2)
    _yes(ledger, sid, 2, "kasubag")
    _yes(ledger, sid, 3, "kabid")  # no request for step 3 before it
    _ask(ledger, sid, 3)
    _ask(ledger, sid, 4)
    _yes(ledger, sid, 4, "kadis")
    problems = _problems(ledger, office_cfg, sid)
    assert any(p.startswith("langkah 3") and "tanpa permintaan" in p for p in problems), problems


def test_an_approval_of_another_content_version_does_not_count(ledger, office_cfg):
    sid, _ = _submit(ledger, office_cfg)
    for step in (2, 3, 4):
        _ask(ledger, sid, step)
        _yes(ledger, sid, step, WHO[step], h="0" * 64 if step == 4 else None)
    problems = _problems(ledger, office_cfg, sid)
    assert problems == ["langkah 4 (Kepala Dinas) disetujui untuk versi isi yang lain (bukan isi ini)"]


def test_an_approval_without_a_recorded_hash_does_not_count(ledger, office_cfg):
    sid, _ = _submit(ledger, office_cfg)
    approve_all(ledger, sid, office_cfg, steps=(2, 3))
    _ask(ledger, sid, 4)
    ledger.add_event(sid, 4, "approved", actor="kadis")  # as recorded before the gate existed
    assert any("versi isi yang lain" in p for p in _problems(ledger, office_cfg, sid))


def test_content_changed_in_the_records_after_approval_is_refused(ledger, office_cfg):
    sid, _ = _submit(ledger, office_cfg)
    approve_all(ledger, sid, office_cfg)
    sub = ledger.submission(sid)
    changed = {**sub.content, "body": "Isi yang tidak pernah diverifikasi."}
    with ledger.session() as s:
        s.execute(update(Submission).where(Submission.id == sid).values(content=changed))
        s.commit()
    assert "isi yang akan diunggah berbeda dari isi yang diajukan dan diverifikasi" in _problems(
        ledger, office_cfg, sid
    )
    # ... and the hash column too: the approvals were for the old hash
    with ledger.session() as s:
        new_hash = PreparedContent.from_json(changed).content_hash()
        s.execute(update(Submission).where(Submission.id == sid).values(content_hash=new_hash))
        s.commit()
    problems = _problems(ledger, office_cfg, sid)
    assert len([p for p in problems if "versi isi yang lain" in p]) == 3


def test_content_about_to_be_written_must_be_the_recorded_one(ledger, office_cfg):
    sid, _ = _submit(ledger, office_cfg)
    approve_all(ledger, sid, office_cfg)
    sub = ledger.submission(sid)
    other = PreparedContent.from_json({**sub.content, "title": "Lain"})
    problems = gate.submission_problems(sub, ledger.events(sid), office_cfg, content=other)
    assert "isi yang akan diunggah berbeda dari isi yang diajukan dan diverifikasi" in problems


@pytest.mark.parametrize("returned_step", [2, 3, 4])
def test_a_tidak_anywhere_refuses_even_with_later_approvals(ledger, office_cfg, returned_step):
    sid, _ = _submit(ledger, office_cfg)
    for step in (2, 3, 4):
        _ask(ledger, sid, step)
        if step == returned_step:
            ledger.add_event(sid, step, "returned", actor=WHO[step], reason="foto buram")
        _yes(ledger, sid, step, WHO[step])  # e.g. written after a cleared task
    problems = _problems(ledger, office_cfg, sid)
    assert any(f"langkah {returned_step}" in p and "dikembalikan (Tidak)" in p for p in problems)


def test_another_runs_submission_is_refused(ledger, office_cfg):
    sid, _ = _submit(ledger, office_cfg)
    approve_all(ledger, sid, office_cfg)
    problems = _problems(ledger, office_cfg, sid, ("sop_publish", "manual__lain"))
    assert problems and "bukan pengajuan run ini" in problems[0]


def test_a_channel_the_verified_submission_did_not_choose_is_refused(ledger, office_cfg):
    sid, run_id = _submit(ledger, office_cfg)  # website only
    approve_all(ledger, sid, office_cfg)
    with pytest.raises(ApprovalMissingError, match="kanal twitter tidak termasuk kanal pengajuan"):
        publish_channel("twitter", sid, ledger=ledger, cfg=office_cfg, run=("sop_publish", run_id))
    assert ledger.channel_results(sid) == []


def test_an_unknown_or_invalid_submission_is_refused(ledger, office_cfg):
    assert gate.submission_problems(None, [], office_cfg, content=None, submission_id=42) == [
        "pengajuan 42 tidak ada di catatan"
    ]


# ---------------------------------------------------------------- the gate at the write


def test_a_refused_upload_writes_nothing_and_the_refusal_shows_everywhere(ledger, office_cfg, tmp_path):
    sid, run_id = _submit(ledger, office_cfg, "Tanpa persetujuan")
    approve_all(ledger, sid, office_cfg, steps=(2, 4))
    outbox = office_cfg.path("outbox")
    before = set(outbox.glob("*")) if outbox.exists() else set()  # other tests' payloads share it
    with pytest.raises(ApprovalMissingError) as exc:
        publish_channel("website", sid, ledger=ledger, cfg=office_cfg, run=("sop_publish", run_id))
    assert str(exc.value) == "Ditolak: persetujuan tidak lengkap — langkah 3 (Kepala Bidang) belum disetujui"
    assert ledger.channel_results(sid) == []  # not even an intent: the platform was never called
    assert (set(outbox.glob("*")) if outbox.exists() else set()) == before
    summary = ledger.summary_of(sid)
    assert summary["status"] == STATUS_REFUSED == "ditolak: persetujuan tidak lengkap"
    assert summary["channels"]["website"]["status"] == STATUS_REFUSED
    assert summary["steps"]["5"]["outcome"] == "refused" and summary["steps"]["5"]["actor"] == "pengelola_ti"
    assert "langkah 3 (Kepala Bidang) belum disetujui" in summary["steps"]["5"]["reason"]
    note = run_note(summary)
    assert "ditolak: persetujuan tidak lengkap" in note and "Kepala Bidang" in note
    out = _cli_list(ledger, tmp_path)
    assert f"#{sid} [ditolak: persetujuan tidak lengkap]" in out and "langkah 3 (Kepala Bidang)" in out


def test_the_refusal_goes_to_the_runs_own_submission_not_the_one_an_edited_xcom_names(ledger, office_cfg):
    victim, _ = _submit(ledger, office_cfg, "Sudah disetujui")
    approve_all(ledger, victim, office_cfg)
    mine, my_run = _submit(ledger, office_cfg, "Belum disetujui")
    with pytest.raises(ApprovalMissingError, match="bukan pengajuan run ini"):
        publish_channel("website", victim, ledger=ledger, cfg=office_cfg, run=("sop_publish", my_run))
    assert ledger.channel_results(victim) == [] and ledger.channel_results(mine) == []
    assert ledger.summary_of(victim)["status"] == "disetujui"  # its records untouched
    assert ledger.summary_of(mine)["status"] == STATUS_REFUSED


def test_an_approved_upload_goes_through_once_recorded_as_the_triggering_user(ledger, office_cfg):
    sid, run_id = _submit(ledger, office_cfg)
    approve_all(ledger, sid, office_cfg)
    first = publish_channel("website", sid, ledger=ledger, cfg=office_cfg, run=("sop_publish", run_id))
    assert first["status"] == ResultStatus.OUTBOX
    assert publish_channel("website", sid, ledger=ledger, cfg=office_cfg)["url"] == first["url"]
    assert [r.status for r in ledger.channel_results(sid)] == ["intent", "outbox"]
    step5 = [e for e in ledger.events(sid) if e.step == 5]
    assert [(e.event, e.actor) for e in step5] == [("outbox", "pengelola_ti")]


def test_without_a_triggering_user_the_step_is_the_configured_officers(ledger, office_cfg):
    out = identify(
        {"title": "Tanpa pemicu", "body": "Isi.", "channels": ["website"]},
        dag_id="sop_publish",
        run_id=f"scheduled__{uuid.uuid4().hex}",
        submitted_by=None,
        run_started=None,
        ledger=ledger,
        cfg=office_cfg,
    )
    sid = int(out["submission_id"])
    approve_all(ledger, sid, office_cfg)
    publish_channel("website", sid, ledger=ledger, cfg=office_cfg)
    assert [e.actor for e in ledger.events(sid) if e.step == 5] == [office_cfg.officers.users[0]]


def _cli_list(ledger: Ledger, tmp_path: Path) -> str:
    import io
    from argparse import Namespace

    buf = io.StringIO()
    cmd_records_list(Namespace(db=str(ledger.engine.url), json=False), buf)
    return buf.getvalue()


# ---------------------------------------------------------------- replies (step 9)


def _reply_problems(ledger: Ledger, cfg, item_id: int, bidang: str = "perpustakaan", text: str = "Jam 8"):
    store = FollowUps(ledger)
    forwarded = {f.bidang for f in store.inbox.forwards() if f.item_id == item_id}
    return gate.reply_problems(
        store.events(item_id),
        cfg,
        item_id=item_id,
        bidang=bidang,
        text=text,
        forwarded_to=forwarded,
        approver_role="kasubag",
    )


def _with_approval(cfg):
    return cfg.model_copy(
        update={"follow_up": cfg.follow_up.model_copy(update={"replies_need_approval": True})}
    )


def test_a_reply_decided_by_the_forwarded_bidang_may_go(ledger, office_cfg):
    item = record_item(ledger, 1)
    decide(FollowUps(ledger), item.id, "Jam 8")
    assert _reply_problems(ledger, office_cfg, item.id) == []


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("nothing", "belum memutuskan 'Balas'"),
        ("other_user", "yang bukan pengguna bidang perpustakaan"),
        ("other_text", "berbeda dari jawaban yang diputuskan"),
        ("not_forwarded", "tidak pernah diteruskan ke kearsipan"),
    ],
)
def test_a_reply_without_the_bidangs_own_decision_is_refused(ledger, office_cfg, setup, expected):
    item = record_item(ledger, 2)
    store = FollowUps(ledger)
    bidang = "kearsipan" if setup == "not_forwarded" else "perpustakaan"
    if setup != "nothing":
        who = "pengelola_ti" if setup == "other_user" else None
        decide(store, item.id, "Jam 9" if setup == "other_text" else "Jam 8", bidang=bidang, actor=who)
    problems = _reply_problems(ledger, office_cfg, item.id, bidang)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("verdict", "expected"),
    [
        (None, "belum disetujui Kasubag Umum dan Kepegawaian"),
        ((EVENT_RETURNED, "kasubag", "Jam 8"), "dikembalikan"),
        ((EVENT_APPROVED, "kabid", "Jam 8"), "yang tidak ditugaskan menyetujui balasan"),
        ((EVENT_APPROVED, "kasubag", "Jam 7"), "untuk teks yang lain"),
        ((EVENT_APPROVED, "kasubag", None), "untuk teks yang lain"),
    ],
)
def test_with_replies_need_approval_only_the_approved_text_may_go(ledger, office_cfg, verdict, expected):
    cfg = _with_approval(office_cfg)
    item = record_item(ledger, 3)
    store = FollowUps(ledger)
    decide(store, item.id, "Jam 8")
    if verdict is not None:
        event, who, approved_text = verdict
        detail = {TEXT_HASH_KEY: text_hash(approved_text)} if approved_text else None
        store.add(item.id, "perpustakaan", event, actor=who, text="alasan", detail=detail)
    problems = _reply_problems(ledger, cfg, item.id)
    assert any(expected in p for p in problems), problems
    store.add(
        item.id, "perpustakaan", EVENT_APPROVED, actor="kasubag", detail={TEXT_HASH_KEY: text_hash("Jam 8")}
    )
    if verdict is None:  # the approval of this very text by the assigned approver is enough
        assert _reply_problems(ledger, cfg, item.id) == []


def test_a_refused_reply_posts_nothing_and_record_3_shows_it(ledger, office_cfg, tmp_path, monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    from sop_tasks.airflow import followup as fua
    from sop_tasks.channels import OutboxPublisher

    calls: list[str] = []

    def outbox(channel, cfg):
        calls.append(channel)
        return OutboxPublisher(channel, tmp_path / "outbox")

    monkeypatch.setattr(fua, "replier_for", outbox)
    item = record_item(ledger, 4)
    store = FollowUps(ledger)
    decide(store, item.id, "Jam 8", actor="sekretariat")  # not a user of bidang perpustakaan
    with pytest.raises(AirflowFailException, match="Ditolak: persetujuan tidak lengkap") as exc:
        fua.post_reply(item.id, "perpustakaan", ledger=ledger, cfg=office_cfg)
    assert "bukan pengguna bidang perpustakaan" in str(exc.value)
    assert calls == [] and store.reply_results(item.id) == []
    assert [e.text for e in store.events(item.id) if e.event == "refused"] == [str(exc.value)]
    row = next(r for r in store.summaries() if r["item_id"] == item.id)
    assert row["status_label"] == "ditolak: persetujuan tidak lengkap"
    import io
    from argparse import Namespace

    buf = io.StringIO()
    cmd_records_follow_ups(Namespace(db=str(ledger.engine.url), json=False), buf)
    assert "ditolak: persetujuan tidak lengkap" in buf.getvalue()


def test_a_staged_file_changed_after_approval_is_refused_for_every_channel(ledger, office_cfg, media_dir):
    """Attacker (d): the officer swaps the source image and re-runs step 1 of an approved run.

    Step 1 staged the form's media again into the run's folder, over the file the verifiers saw,
    while the recorded submission (and its approvals) kept the old checksum; the website and the
    outbox read the file from disk without checking it. Now a re-run of step 1 keeps the recorded
    content, and the gate checks every staged file (a run whose id maps to the same staging folder
    could still overwrite it).
    """
    name = f"gate-{uuid.uuid4().hex[:8]}.jpg"
    source = make_jpeg(media_dir / name, color="navy")
    run_id = f"manual__{uuid.uuid4().hex}"
    form = {"title": f"Foto {uuid.uuid4().hex[:4]}", "body": "Isi.", "channels": ["website"], "media": [name]}

    def step1() -> int:
        out = identify(
            form,
            dag_id="sop_publish",
            run_id=run_id,
            submitted_by="pengelola_ti",
            run_started=None,
            ledger=ledger,
            cfg=office_cfg,
        )
        return int(out["submission_id"])

    try:
        sid = step1()
        approve_all(ledger, sid, office_cfg)
        assert _problems(ledger, office_cfg, sid, ("sop_publish", run_id)) == []
        make_jpeg(source, color="red")  # not what the three verifiers saw
        assert step1() == sid  # re-running step 1 of the approved run keeps the approved file
        assert _problems(ledger, office_cfg, sid, ("sop_publish", run_id)) == []
        staged = Path(PreparedContent.from_json(ledger.submission(sid).content).media[0].path)
        make_jpeg(staged, color="red")  # swapped in the staging folder itself (another run's folder)
        with pytest.raises(ApprovalMissingError) as exc:
            publish_channel("website", sid, ledger=ledger, cfg=office_cfg, run=("sop_publish", run_id))
    finally:
        source.unlink(missing_ok=True)
    assert f"Berkas media '{name}' berubah setelah diverifikasi" in str(exc.value)
    assert "kirim ulang formulir" in str(exc.value)
    assert ledger.channel_results(sid) == []  # nothing written, not even an intent
    assert ledger.summary_of(sid)["status"] == STATUS_REFUSED


def test_run_ids_that_differ_only_in_unsafe_characters_stage_in_different_folders():
    """A run triggered by hand with ``+``/``:``/``~`` in its id must not stage over another run's media."""
    victim = "manual__2026-11-30T07_00_00_00_00"
    names = {
        safe_name(r)
        for r in (victim, "manual__2026-11-30T07:00:00+00:00", "manual__2026-11-30T07~00~00~00~00")
    }
    assert len(names) == 3 and safe_name(victim) == victim  # plain ids keep their folder name
    assert safe_name("a" * 130) != safe_name("a" * 121)  # nor do long ids cut to the same prefix
    assert all(len(n) <= 120 and "/" not in n for n in names)


def test_every_refusal_of_an_upload_says_what_to_do(ledger, office_cfg):
    """An approval recorded before the hash existed is refused (intended) — and staff read how to go on."""
    sid, _ = _submit(ledger, office_cfg)
    approve_all(ledger, sid, office_cfg, steps=(2, 3))
    _ask(ledger, sid, 4)
    ledger.add_event(sid, 4, "approved", actor="kadis")  # as recorded before the gate existed
    [old] = _problems(ledger, office_cfg, sid)
    assert "persetujuan lama" in old and gate.RESUBMIT in old
    other, _ = _submit(ledger, office_cfg)
    for step in (2, 3, 4):
        _ask(ledger, other, step)
    ledger.add_event(other, 2, "returned", actor="kasubag", reason="foto buram")
    _yes(ledger, other, 3, "pengelola_ti")
    ledger.add_event(
        other, 4, "approved", actor="kadis", detail={HASH_KEY: ledger.submission(other).content_hash}
    )
    problems = _problems(ledger, office_cfg, other)
    assert len(problems) == 3, problems
    assert gate.RESUBMIT in problems[0]  # the 'Tidak'
    assert problems[1].endswith("belum disetujui")  # no valid Ya after the 'Tidak' either
    assert "verifiers.kabid di config/office.yaml" in problems[2]  # the user not assigned
