"""The approval gate on the real running stack (``airflow standalone``) with the real WordPress.

Every shortcut Airflow's REST API leaves to an account that keeps the right to change task state
(the officer ``pengelola_ti`` and ``admin``) is tried: mark the three verifications "success",
clear after a "Tidak", trigger with a forged conf, edit the step-1 XCom, mark an update's
verifications, mark a follow-up decision. Each ends with exactly zero new posts or comments on
the real WordPress, nothing in the outbox, and the refusal in the records and the run note.
Clearing or marking an approved upload still waiting for its publish time is not a refusal: the
write waits again or never happens, and nothing is posted either.
One stack for every scenario; runs that do not depend on each other run at the same time.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from sop_tasks.airflow import followup as fua
from sop_tasks.approval import OPTION_NO, OPTION_YES
from sop_tasks.cli import main as sop_main
from sop_tasks.config import load_config
from sop_tasks.followup import FollowUps
from sop_tasks.incoming import IncomingItem
from sop_tasks.records.inbox import Inbox
from sop_tasks.records.ledger import STATUS_REFUSED, Ledger
from tests.support.follow_up import Routed
from tests.support.shortcuts import Marker, clear, mark, set_xcom, ti_path
from tests.support.standalone import Stack, standalone

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]
VERIFY = ["sop02_verifikasi_kasubag", "sop03_verifikasi_kabid", "sop04_verifikasi_kadis"]
WHO = dict(zip(VERIFY, ["kasubag", "kabid", "kadis"], strict=True))
UPLOAD = "sop05_unggah_website"


@pytest.fixture(scope="module")
def stack(wordpress):
    home = Path(tempfile.mkdtemp(prefix="sop-gate-"))
    extra = {"AIRFLOW_CONN_SOP_WEBSITE": wordpress.conn_json(timeout=60)}
    # a loaded CI machine is slow; an answer is held up to 45 s (hitl_guard) before it is handled
    with standalone(home, timeout=600, extra_env=extra, request_timeout=180) as s:
        yield s
    shutil.rmtree(home, ignore_errors=True)


def _ledger(stack: Stack) -> Ledger:
    return Ledger(f"sqlite:///{stack.home / 'sop_ledger.db'}")


def _posts(wordpress: Any, tag: str) -> int:
    """Posts whose title carries ``tag``, in WordPress's own database (any status)."""
    out = wordpress.sql(f"SELECT COUNT(*) FROM wp_posts WHERE post_type='post' AND post_title LIKE '%{tag}%'")
    return int(out.strip())


def _outbox(sid: int, title: str) -> list[Path]:
    """Outbox files of submission ``sid`` titled ``title``. The stack shares the tests' office
    config, so its outbox also holds other tests' submissions of the same number (their own
    records databases count from 1 too): the payload's title tells them apart."""
    outbox = load_config().path("outbox")
    folders = [
        d
        for d in (outbox.glob(f"sop{sid}-*") if outbox.exists() else [])
        if not (d / "payload.json").exists()  # a half-written folder counts as written
        or title in (d / "payload.json").read_text(encoding="utf-8", errors="replace")
    ]
    return [p for d in folders for p in (d, *d.rglob("*"))]


def _ti(stack: Stack, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
    try:
        r = stack.api.request("admin", "GET", ti_path(dag_id, run_id, task_id))
    except requests.RequestException:  # a slow, loaded api-server: the caller asks again
        return {}
    return dict(r.json()) if r.status_code == 200 else {}


def _wait_run(
    stack: Stack, dag_id: str, run_id: str, timeout: float = 420, markers: tuple[Marker, ...] = ()
) -> str:
    """The run's final state; a slow answer of a loaded api-server is asked again. A marker that
    failed ends the wait at once (its runs would only wait for a mark that never comes)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for m in markers:
            assert not m.errors, m.errors
        try:
            state = stack.run_state(dag_id, run_id)
        except requests.RequestException:
            continue
        if state in ("success", "failed"):
            return state
        time.sleep(1)
    raise TimeoutError(f"{dag_id} {run_id} not finished in {timeout}s\n{stack.log_tail()}")


def _wait_all(
    stack: Stack, dag_id: str, run_ids: list[str], markers: tuple[Marker, ...] = ()
) -> dict[str, str]:
    return {r: _wait_run(stack, dag_id, r, markers=markers) for r in run_ids}


def _answer(stack: Stack, dag_id: str, run_id: str, answers: list[tuple[str, str, str, str | None]]) -> None:
    """Answer this run's questions: (task, user, option, reason) each, until the records hold every
    answer. A question asked again (an answer lost to Airflow 3.3.2's HITL race, see DESIGN.md)
    is answered again; only settled questions (``awaiting_input``) are answered."""
    steps = {task: int(task[3:5]) for task, *_ in answers}
    by_task = {task: (user, option, reason) for task, user, option, reason in answers}
    ledger = _ledger(stack)
    end = time.monotonic() + 400

    def answered() -> set[str]:
        sid = ledger.submission_id(dag_id, run_id)
        evs = ledger.events(sid) if sid is not None else []
        decided = {e.step for e in evs if e.event in ("approved", "returned")}
        return {t for t, n in steps.items() if n in decided}

    while answered() != set(steps):
        assert time.monotonic() < end, f"answered {answered()} of {steps}\n{stack.log_tail()}"
        try:
            pending = stack.api.pending(dag_id, run_id)
        except requests.RequestException:  # a slow, loaded api-server: ask again
            continue
        for d in pending:
            ti = d["task_instance"]
            if ti["task_id"] in by_task and ti.get("state") == "awaiting_input":
                user, option, reason = by_task[ti["task_id"]]
                try:
                    r = stack.api.respond(user, dag_id, run_id, ti["task_id"], option, {"alasan": reason})
                except requests.RequestException:  # it may have landed: the records tell
                    continue
                assert r.status_code in (200, 409), r.text  # 409: already answered
        time.sleep(1)


def _refused(stack: Stack, dag_id: str, run_id: str) -> dict[str, Any]:
    summary = _ledger(stack).summary_for_run(dag_id, run_id)
    assert summary is not None
    assert summary["status"] == STATUS_REFUSED, summary
    return summary


def _records_list(stack: Stack) -> str:
    import contextlib

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        sop_main(["records", "list", "--db", f"sqlite:///{stack.home / 'sop_ledger.db'}"])
    return buf.getvalue()


def test_marks_forged_conf_and_clear_after_tidak_never_reach_wordpress(stack, wordpress):
    tag = uuid.uuid4().hex[:6]
    form = {"body": "Konten yang tidak pernah disetujui.", "channels": ["website"]}
    by_officer = stack.trigger("sop_publish", {**form, "title": f"Tandai petugas {tag}"})
    by_admin = stack.trigger("sop_publish", {**form, "title": f"Tandai admin {tag}"})
    forged = stack.trigger(
        "sop_publish",
        {**form, "title": f"Conf palsu {tag}", "approved": True, "submission_id": 1, "kadis": "Ya"},
    )
    returned = stack.trigger("sop_publish", {**form, "title": f"Dikembalikan {tag}"})
    markers = [
        Marker(stack.api, "sop_publish", VERIFY, "pengelola_ti", 400, {by_officer, forged}),
        Marker(stack.api, "sop_publish", VERIFY, "admin", 400, {by_admin}),
    ]
    threads = [m.start() for m in markers]
    _answer(
        stack,
        "sop_publish",
        returned,
        [
            ("sop02_verifikasi_kasubag", "kasubag", OPTION_YES, None),
            ("sop03_verifikasi_kabid", "kabid", OPTION_NO, "Tanggal salah"),
        ],
    )
    states = _wait_all(stack, "sop_publish", [by_officer, by_admin, forged, returned], tuple(markers))
    for m, t in zip(markers, threads, strict=True):
        m.stop()
        t.join(5)
        assert not m.errors, m.errors
    assert states[returned] == "success"  # a "Tidak" is an outcome: the uploads were skipped
    for run_id in (by_officer, by_admin, forged):
        assert states[run_id] == "failed", stack.log_tail()
        assert all(_ti(stack, "sop_publish", run_id, t)["state"] == "success" for t in VERIFY)
        ti = _ti(stack, "sop_publish", run_id, UPLOAD)
        assert (ti["state"], ti["try_number"]) == ("failed", 1)  # no retry
        summary = _refused(stack, "sop_publish", run_id)
        assert "langkah 2 (Kasubag Umum dan Kepegawaian) belum disetujui" in summary["steps"]["5"]["reason"]
        assert (
            _outbox(summary["id"], summary["title"]) == []
            and _ledger(stack).channel_results(summary["id"]) == []
        )
        note = stack.run_info("sop_publish", run_id).get("note") or ""
        assert "ditolak: persetujuan tidak lengkap" in note
    assert _ledger(stack).summary_for_run("sop_publish", by_officer)["steps"]["5"]["actor"] == "pengelola_ti"

    # clear after the "Tidak": Kadis's step marked success and the upload cleared by the officer
    assert (
        mark(stack.api, "pengelola_ti", "sop_publish", returned, "sop04_verifikasi_kadis").status_code == 200
    )
    r = clear(stack.api, "pengelola_ti", "sop_publish", returned, [UPLOAD])
    assert r.status_code == 200, r.text
    end = time.monotonic() + 300
    while _ti(stack, "sop_publish", returned, UPLOAD).get("state") not in ("failed", "success"):
        assert time.monotonic() < end, stack.log_tail()
        time.sleep(1)
    assert _ti(stack, "sop_publish", returned, UPLOAD)["state"] == "failed"
    summary = _refused(stack, "sop_publish", returned)
    reason = summary["steps"]["5"]["reason"]
    assert "langkah 3 (Kepala Bidang) dikembalikan (Tidak) oleh kabid" in reason
    assert "langkah 4 (Kepala Dinas) belum disetujui" in reason

    assert _posts(wordpress, tag) == 0  # exactly zero posts on the real WordPress
    listing = _records_list(stack)
    assert listing.count("[ditolak: persetujuan tidak lengkap]") >= 4


def test_edited_xcom_marked_update_and_marked_reply_change_nothing_on_wordpress(stack, wordpress):
    tag = uuid.uuid4().hex[:6]
    # one legitimate upload: three officials answer "Ya" in turn
    legit = stack.trigger(
        "sop_publish", {"title": f"Disetujui {tag}", "body": "Jadwal layanan.", "channels": ["website"]}
    )
    _answer(stack, "sop_publish", legit, [(t, WHO[t], OPTION_YES, None) for t in VERIFY])
    assert _wait_run(stack, "sop_publish", legit, timeout=400) == "success", stack.log_tail()
    ledger = _ledger(stack)
    legit_summary = ledger.summary_for_run("sop_publish", legit)
    post = legit_summary["channels"]["website"]
    assert post["status"] == "published" and _posts(wordpress, tag) == 1

    # a new run whose step-1 XCom is edited to name the approved submission, then marked through
    edited = stack.trigger(
        "sop_publish",
        {"title": f"XCom diubah {tag}", "body": "Isi lain yang tidak disetujui.", "channels": ["website"]},
    )

    def edit(run_id: str) -> None:
        value = {"submission_id": legit_summary["id"], "channels": ["website"]}
        # the officer may not edit an XCom at all (least privilege); the admin may
        r = set_xcom(stack.api, "pengelola_ti", "sop_publish", run_id, "sop01_identifikasi", value)
        assert r.status_code == 403, r.text
        r = set_xcom(stack.api, "admin", "sop_publish", run_id, "sop01_identifikasi", value)
        assert r.status_code == 200, r.text

    marker = Marker(stack.api, "sop_publish", VERIFY, "pengelola_ti", 400, {edited}, before=edit)
    # an update of the approved post with its three verifications marked success
    update_run = stack.trigger(
        "sop_update",
        {
            "submission_id": legit_summary["id"],
            "reason": "Jadwal berubah",
            "title": f"Diubah tanpa izin {tag}",
        },
    )
    up_marker = Marker(stack.api, "sop_update", VERIFY, "admin", 400, {update_run})
    # a citizen's comment under the post, forwarded; the bidang's decision marked success
    wordpress.post_comment(post["post_id"], "Warga", "warga@warga.test", f"Buka hari Sabtu? {tag}")
    cid = wordpress.sql(f"SELECT comment_ID FROM wp_comments WHERE comment_content LIKE '%{tag}%'").strip()
    inbox = Inbox(ledger)
    sweep = inbox.start_sweep(run_id="uji", slot=None, sop_sweep=False, channels=["website"])
    inbox.record_items(
        [
            IncomingItem(
                "website",
                cid,
                "comment",
                "Warga",
                f"Buka hari Sabtu? {tag}",
                datetime.now(UTC),
                post_ref=post["post_id"],
            )
        ],
        [Routed("perpustakaan")],
        sweep,
    )
    item = next(i for i in inbox.items() if i.platform_id == cid)
    inbox.record_forwards([item.id], "perpustakaan", sweep, "uji")
    reply_run = stack.trigger("sop_follow_up", {"item_id": item.id, "bidang": "perpustakaan"})
    fu_marker = Marker(stack.api, "sop_follow_up", [fua.DECIDE_TASK], "pengelola_ti", 400, {reply_run})
    markers = (marker, up_marker, fu_marker)
    threads = [m.start() for m in markers]
    states = {
        "edited": _wait_run(stack, "sop_publish", edited, markers=markers),
        "update": _wait_run(stack, "sop_update", update_run, markers=markers),
        "reply": _wait_run(stack, "sop_follow_up", reply_run, markers=markers),
    }
    for m, t in zip((marker, up_marker, fu_marker), threads, strict=True):
        m.stop()
        t.join(5)
        assert not m.errors, m.errors
    assert states == {"edited": "failed", "update": "failed", "reply": "failed"}, stack.log_tail()

    # edited XCom: refused on the run's own submission; the approved one is untouched
    summary = _refused(stack, "sop_publish", edited)
    assert any("XCom" in (s.get("reason") or "") for s in summary["steps"].values()), summary["steps"]
    assert ledger.summary_of(legit_summary["id"])["status"] == "diunggah"
    # update: refused, the live post still shows the approved version
    up = _refused(stack, "sop_update", update_run)
    assert "langkah 4 (Kepala Dinas) belum disetujui" in up["steps"]["10"]["reason"]
    assert ledger.channel_results(up["id"]) == []
    title = wordpress.sql(f"SELECT post_title FROM wp_posts WHERE ID={int(post['post_id'])}").strip()
    assert title == f"Disetujui {tag}"
    # reply: refused in record 3; no comment under the citizen's
    ti = _ti(stack, "sop_follow_up", reply_run, fua.REPLY_TASK)
    assert (ti["state"], ti["try_number"]) == ("failed", 1)
    store = FollowUps(ledger)
    assert store.reply_results(item.id) == []
    assert any(e.event == "refused" for e in store.events(item.id))
    children = wordpress.sql(f"SELECT COUNT(*) FROM wp_comments WHERE comment_parent={int(cid)}").strip()
    assert children == "0"
    assert _posts(wordpress, tag) == 1  # only the approved one, exactly once


def test_an_upload_waiting_for_its_publish_time_cleared_or_marked_posts_nothing(stack, wordpress):
    """The publish time is enforced at the write: an approved upload whose ``publish_at`` is three
    hours ahead waits deferred; the officer's *Clear* runs it again before the time — the write
    refuses and it waits again — and his *Mark as success* ends the run with nothing written and
    nothing left waiting to write at the publish time."""
    tag = uuid.uuid4().hex[:6]
    at = (datetime.now(load_config().tz) + timedelta(hours=3)).replace(microsecond=0, tzinfo=None)
    form = {"title": f"Terjadwal {tag}", "body": "Pengumuman jam layanan.", "channels": ["website"]}
    run_id = stack.trigger("sop_publish", {**form, "publish_at": at.isoformat()})
    _answer(stack, "sop_publish", run_id, [(t, WHO[t], OPTION_YES, None) for t in VERIFY])
    ledger = _ledger(stack)
    sid = ledger.submission_id("sop_publish", run_id)
    assert sid is not None

    def step5() -> list[str]:
        return [e.event for e in ledger.events(sid) if e.step == 5]

    def upload() -> dict[str, Any]:
        return _ti(stack, "sop_publish", run_id, UPLOAD)

    def waiting(after: int) -> int:
        """Wait until the upload waits (deferred), refused by the write more than ``after`` times
        (each refusal is recorded ``scheduled``); return how many times."""
        end = time.monotonic() + 300
        while (n := step5().count("scheduled")) <= after or upload().get("state") != "deferred":
            assert time.monotonic() < end, f"{step5()}\n{stack.log_tail()}"
            time.sleep(1)
        return n

    refused = waiting(0)
    r = clear(stack.api, "pengelola_ti", "sop_publish", run_id, [UPLOAD])
    assert r.status_code == 200, r.text
    waiting(refused)  # ran again before the time: refused at the write, waiting again
    assert set(step5()) == {"scheduled"} and ledger.channel_results(sid) == []
    assert upload()["trigger"] is not None  # what would resume the write at the publish time

    assert mark(stack.api, "pengelola_ti", "sop_publish", run_id, UPLOAD).status_code == 200
    assert _wait_run(stack, "sop_publish", run_id) == "success"  # a mark runs no code ...
    end = time.monotonic() + 120
    while (ti := upload()).get("state") != "success" or ti.get("trigger", "?") is not None:
        assert time.monotonic() < end, f"{ti}\n{stack.log_tail()}"  # ... nor can resume later
        time.sleep(1)
    assert set(step5()) == {"scheduled"} and ledger.channel_results(sid) == []
    assert ledger.summary_of(sid)["status"] == "disetujui"  # approved, never uploaded
    assert _outbox(sid, form["title"]) == []
    assert _posts(wordpress, tag) == 0
