"""Who may do what, over the real REST API of ``airflow standalone`` (the ``make run`` stack),
and the HITL answer guard in front of it. One stack, served under a sub-path (``/sop``) as behind
a reverse proxy, runs the whole matrix."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from sop_tasks.approval import OPTION_NO, OPTION_YES
from sop_tasks.records.ledger import Ledger
from tests.support.standalone import Stack, standalone

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(3000)]

ADMIN, OFFICER = "admin", "pengelola_ti"
VERIFIERS = ("kasubag", "kabid", "plt_kabid", "kadis")  # plt_kabid: an acting official (tests/conftest.py)
BIDANG = "bidang_perpustakaan"
EVERYONE = (ADMIN, OFFICER, *VERIFIERS, BIDANG)
SUB = "/sop"
DAG = "sop_publish"
STEP1 = "sop01_identifikasi"
STEP2, STEP3, STEP4 = "sop02_verifikasi_kasubag", "sop03_verifikasi_kabid", "sop04_verifikasi_kadis"
UPLOAD = "sop05_unggah_twitter"
GUARD_REASON = "Alasan wajib diisi"  # the guard's own 422 (Airflow's 422 is a list of errors)


@pytest.fixture(scope="module")
def stack(wordpress):
    home = Path(tempfile.mkdtemp(prefix="sop-roles-"))
    extra = {
        "AIRFLOW_CONN_SOP_WEBSITE": wordpress.conn_json(timeout=60),
        # parsing sop_publish.py took over 50 s on a loaded machine; the DAG then went missing (404)
        "AIRFLOW__CORE__DAG_FILE_PROCESSOR_TIMEOUT": "300",
    }
    try:
        with standalone(home, extra_env=extra, base_path=SUB, timeout=600, request_timeout=180) as s:
            yield s
    finally:
        if (home / "standalone.log").exists():  # kept for a failure's post-mortem
            shutil.copyfile(home / "standalone.log", Path(tempfile.gettempdir()) / "sop-roles-last.log")
        shutil.rmtree(home, ignore_errors=True)


def _call(stack: Stack, user: str, method: str, path: str, **kw: Any) -> requests.Response:
    """One API call as ``user`` (a rolled-back 500 "Database error" is sent again, see
    ``ApiClient.request_retried``: it is neither an allow nor a deny)."""
    return stack.api.request_retried(user, method, path, **kw)


def _root(stack: Stack) -> str:
    return stack.base_url.removesuffix(SUB)


def _ti_path(run_id: str, task_id: str) -> str:
    return f"/api/v2/dags/{DAG}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}"


def _ti_state(stack: Stack, run_id: str, task_id: str) -> str | None:
    """The task's state; None when unknown (also when a loaded api-server answered too late)."""
    try:
        r = stack.api.request(ADMIN, "GET", _ti_path(run_id, task_id))
    except requests.RequestException:
        return None
    return r.json().get("state") if r.status_code == 200 else None


def _wait(pred: Callable[[], Any], timeout: float, what: str, stack: Stack) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = pred()
        if value:
            return value
        time.sleep(0.3)
    raise TimeoutError(f"{what} after {timeout}s\n{stack.log_tail()}")


def _trigger(stack: Stack, conf: dict[str, Any], user: str = OFFICER) -> str:
    r = _call(stack, user, "POST", f"/api/v2/dags/{DAG}/dagRuns", json={"logical_date": None, "conf": conf})
    assert r.status_code in (200, 201), r.text
    return str(r.json()["dag_run_id"])


def _trigger_refused_run(stack: Stack, user: str = ADMIN) -> str:
    """A run that step 1 refuses at once (empty title): a target for state changes, no load."""
    return _trigger(stack, {"title": "", "body": "", "channels": ["twitter"]}, user=user)


def _trigger_content(stack: Stack, title: str) -> str:
    return _trigger(stack, {"title": title, "body": "Uji peran.", "channels": ["twitter"]})


def _waiting(stack: Stack, run_id: str, task_id: str) -> bool:
    return _ti_state(stack, run_id, task_id) == "awaiting_input"


def _answer_path(run_id: str, task_id: str, map_index: str = "-1") -> str:
    return f"{_ti_path(run_id, task_id)}/{map_index}/hitlDetails"


def _answer(
    stack: Stack, user: str, run_id: str, task_id: str, option: str, reason: str | None = None
) -> requests.Response:
    body = {"chosen_options": [option], "params_input": {"alasan": reason}}
    return _call(stack, user, "PATCH", _answer_path(run_id, task_id), json=body)


def _answered(stack: Stack, run_id: str, task_id: str) -> bool:
    r = stack.api.request(ADMIN, "GET", f"{_answer_path(run_id, task_id)}")
    assert r.status_code == 200, r.text
    return bool(r.json()["response_received"])


# --- the role × action matrix ---------------------------------------------------------------

Action = Callable[[Stack, str, dict[str, str]], requests.Response]


def _req(method: str, path: Callable[[dict[str, str], str], str], body: Any = None) -> Action:
    def act(stack: Stack, user: str, ctx: dict[str, str]) -> requests.Response:
        payload = body(ctx, user) if callable(body) else body
        return _call(stack, user, method, path(ctx, user), json=payload)

    return act


def _mark(state: str) -> Action:
    return _req("PATCH", lambda c, u: _ti_path(c["run"], UPLOAD), {"new_state": state})


def _uid(user: str) -> str:
    return f"{user.replace('.', '_')}_{uuid.uuid4().hex[:6]}"


ACTIONS: dict[str, Action] = {
    "trigger": _req(
        "POST",
        lambda c, u: f"/api/v2/dags/{DAG}/dagRuns",
        {"logical_date": None, "conf": {"title": "", "body": "", "channels": ["twitter"]}},
    ),
    "mark success": _mark("success"),
    "mark failed": _mark("failed"),
    "mark skipped": _mark("skipped"),
    "clear": _req(
        "POST",
        lambda c, u: f"/api/v2/dags/{DAG}/clearTaskInstances",
        lambda c, u: {"dry_run": True, "dag_run_id": c["run"], "task_ids": [UPLOAD]},
    ),
    "patch run state": _req(
        "PATCH", lambda c, u: f"/api/v2/dags/{DAG}/dagRuns/{quote(c['run'], safe='')}", {"state": "failed"}
    ),
    "edit xcom": _req(
        "POST",
        lambda c, u: f"{_ti_path(c['run'], UPLOAD)}/xcomEntries",
        lambda c, u: {"key": _uid(u), "value": {"status": "published"}},
    ),
    "pause dag": _req("PATCH", lambda c, u: f"/api/v2/dags/{DAG}", {"is_paused": False}),
    "delete run": _req("DELETE", lambda c, u: f"/api/v2/dags/{DAG}/dagRuns/{quote(c['victim'], safe='')}"),
    "read dag, runs, logs": _req(
        "GET", lambda c, u: f"{_ti_path(c['run'], 'sop01_identifikasi')}/logs/{c['try']}?full_content=true"
    ),
    "read connections": _req("GET", lambda c, u: "/api/v2/connections/sop_matrik"),
    "edit connection": _req(
        "PATCH",
        lambda c, u: "/api/v2/connections/sop_matrik",
        {"connection_id": "sop_matrik", "conn_type": "http"},
    ),
    "add connection": _req(
        "POST",
        lambda c, u: "/api/v2/connections",
        lambda c, u: {"connection_id": _uid(u), "conn_type": "http"},
    ),
    "test connection": _req(
        "POST",
        lambda c, u: "/api/v2/connections/test",
        lambda c, u: {"connection_id": _uid(u), "conn_type": "http", "host": "http://127.0.0.1:9"},
    ),
    "read variables": _req("GET", lambda c, u: "/api/v2/variables/sop_matrik"),
    "edit variable": _req(
        "PATCH", lambda c, u: "/api/v2/variables/sop_matrik", {"key": "sop_matrik", "value": "diubah"}
    ),
    "add variable": _req(
        "POST", lambda c, u: "/api/v2/variables", lambda c, u: {"key": _uid(u), "value": "x"}
    ),
    "read pools": _req("GET", lambda c, u: "/api/v2/pools"),
    "add pool": _req("POST", lambda c, u: "/api/v2/pools", lambda c, u: {"name": _uid(u), "slots": 1}),
}

# Who may do it (everyone else gets 403). The README's role table says the same.
ALLOWED: dict[str, set[str]] = {
    "trigger": {ADMIN, OFFICER},
    "mark success": {ADMIN, OFFICER},
    "mark failed": {ADMIN, OFFICER},
    "mark skipped": {ADMIN, OFFICER},
    "clear": {ADMIN, OFFICER},
    "patch run state": {ADMIN, OFFICER},
    "edit xcom": {ADMIN},
    "pause dag": {ADMIN},
    "delete run": {ADMIN},
    "read dag, runs, logs": set(EVERYONE),
    "read connections": {ADMIN, OFFICER},
    "edit connection": {ADMIN},
    "add connection": {ADMIN},
    "test connection": {ADMIN},
    "read variables": {ADMIN, OFFICER},
    "edit variable": {ADMIN},
    "add variable": {ADMIN},
    "read pools": {ADMIN, OFFICER},
    "add pool": {ADMIN},
}


def test_role_action_matrix(stack):
    assert set(ACTIONS) == set(ALLOWED)
    r = _call(
        stack, ADMIN, "POST", "/api/v2/connections", json={"connection_id": "sop_matrik", "conn_type": "http"}
    )
    assert r.status_code == 201, r.text
    r = _call(stack, ADMIN, "POST", "/api/v2/variables", json={"key": "sop_matrik", "value": "awal"})
    assert r.status_code == 201, r.text
    run = _trigger_refused_run(stack)
    victim = _trigger_refused_run(stack)
    assert stack.wait_run(DAG, run) == "failed"
    # Airflow 3.3 refuses (409) to delete a run still running: the admin's delete below must find
    # the victim finished, or the matrix would test the run's timing instead of the admin's right
    assert stack.wait_run(DAG, victim) == "failed"
    r = stack.api.request(ADMIN, "GET", _ti_path(run, "sop01_identifikasi"))
    ctx = {"run": run, "victim": victim, "try": str(r.json()["try_number"])}
    got: dict[tuple[str, str], tuple[int, str]] = {}
    # the admin last, so that its delete of the victim run comes after every refusal
    for user in (*EVERYONE[1:], ADMIN):
        for name, act in ACTIONS.items():
            r = act(stack, user, ctx)
            got[(name, user)] = (r.status_code, r.text[:200])
    wrong = []
    for (name, user), (status, text) in got.items():
        allowed = user in ALLOWED[name]
        if (allowed and not 200 <= status < 300) or (not allowed and status != 403):
            wrong.append(f"{name} by {user}: {status} (expected {'2xx' if allowed else '403'}) {text}")
    assert not wrong, "\n".join(wrong)
    # the refusals changed nothing: the victim run lived until the admin deleted it
    r = stack.api.request(ADMIN, "GET", f"/api/v2/dags/{DAG}/dagRuns/{quote(victim, safe='')}")
    assert r.status_code == 404
    r = stack.api.request(ADMIN, "GET", "/api/v2/variables/sop_matrik")
    assert r.json()["value"] == "diubah"  # the admin's edit, no one else's


def test_staff_cannot_see_admin_menus_and_only_admin_may_test_a_wordpress_connection(stack, wordpress):
    def menu(user: str) -> set[str]:
        r = stack.api.request(user, "GET", "/ui/auth/menus")
        assert r.status_code == 200, r.text
        return {m["text"] if isinstance(m, dict) else m for m in r.json()["authorized_menu_items"]}

    assert {"Connections", "Variables"} <= menu(ADMIN)
    assert {"Connections", "Variables"} <= menu(OFFICER)
    assert not {"Connections", "Variables", "Pools", "Config"} & menu("kadis")
    assert "Required Actions" in menu("kadis")

    good = {
        "connection_id": "sop_website",
        "conn_type": "wordpress",
        "host": wordpress.url,
        "login": wordpress.admin_user,
        "password": wordpress.app_password,
    }
    r = stack.api.request(ADMIN, "POST", "/api/v2/connections/test", json=good)
    assert r.status_code == 200, r.text
    assert r.json()["status"] is True, r.json()
    bad = {**good, "password": "salah salah salah salah"}
    r = stack.api.request(ADMIN, "POST", "/api/v2/connections/test", json=bad)
    assert r.status_code == 200 and r.json()["status"] is False, r.text
    for user in (OFFICER, "kasubag", "kadis", BIDANG):
        r = stack.api.request(user, "POST", "/api/v2/connections/test", json=good)
        assert r.status_code == 403, (user, r.status_code, r.text)


# --- answering: own and someone else's question, and the guard ------------------------------


def test_only_the_assigned_official_answers_and_the_guard_cannot_be_walked_around(stack):
    run = _trigger_content(stack, f"Uji jawaban {uuid.uuid4().hex[:6]}")
    _wait(lambda: _waiting(stack, run, STEP2), 240, "step 2 not asked", stack)

    for user in (ADMIN, OFFICER, "kabid", "plt_kabid", "kadis", BIDANG):
        r = _answer(stack, user, run, STEP2, OPTION_YES)
        assert r.status_code == 403, (user, r.status_code, r.text)
    assert not _answered(stack, run, STEP2)

    root = _root(stack)
    kasubag, kabid = stack.api.token("kasubag"), stack.api.token("kabid")
    no_reason = {"chosen_options": [OPTION_NO], "params_input": {"alasan": None}}

    # Every spelling of map_index that Airflow's router takes to the same task, with and
    # without the sub-path: the guard sees each one (its own 422 for a "Tidak" with no reason).
    for map_index in ("-1", "-1.0", "-01", "%20-1", "-1%20", "%20-1.0%20"):
        for base in (stack.base_url, root):
            url = base + _answer_path(run, STEP2, map_index)
            r = requests.patch(
                url, json=no_reason, headers={"Authorization": f"Bearer {kasubag}"}, timeout=180
            )
            assert r.status_code == 422 and GUARD_REASON in str(r.json().get("detail")), (url, r.text)
    assert not _answered(stack, run, STEP2)

    url = stack.base_url + _answer_path(run, STEP2)
    # The cookie alone is Airflow's login: the guard sees it too.
    r = requests.patch(url, json=no_reason, cookies={"_token": kasubag}, timeout=180)
    assert r.status_code == 422 and GUARD_REASON in str(r.json()["detail"]), r.text
    # A bearer header wins over the cookie, in Airflow and in the guard: a junk or someone
    # else's bearer with kasubag's cookie is refused by Airflow, and nothing is stored.
    yes = {"chosen_options": [OPTION_YES], "params_input": {"alasan": None}}
    for header in ("Bearer not-a-jwt", f"Bearer {kabid}"):
        r = requests.patch(
            url, json=yes, headers={"Authorization": header}, cookies={"_token": kasubag}, timeout=180
        )
        assert r.status_code == 403, (header[:20], r.status_code, r.text)
    assert not _answered(stack, run, STEP2)

    # Unauthenticated: straight to Airflow's 401 (and Airflow's own, not the guard's 413).
    r = requests.patch(url, json=yes, timeout=180)
    assert r.status_code == 401, r.text
    r = requests.patch(url, data=b"x" * (2 * 1024 * 1024), timeout=180)
    assert r.status_code == 401, r.text
    # Authenticated but oversized: 413 with an Indonesian message; nothing stored.
    big = {"chosen_options": [OPTION_NO], "params_input": {"alasan": "a" * (300 * 1024)}}
    r = requests.patch(url, json=big, headers={"Authorization": f"Bearer {kasubag}"}, timeout=180)
    assert r.status_code == 413 and "terlalu besar" in r.json()["detail"], r.text
    assert not _answered(stack, run, STEP2)

    # The assigned official answers — through the sub-path, with the cookie only.
    r = requests.patch(url, json=yes, cookies={"_token": kasubag}, timeout=180)
    assert r.status_code == 200, r.text
    _wait(lambda: _waiting(stack, run, STEP3), 240, "step 3 not asked", stack)
    assert _ti_state(stack, run, STEP2) == "success"
    # the acting Kabid answers step 3 (the Kabid's own question for them too)
    r = _answer(stack, "kasubag", run, STEP3, OPTION_YES)
    assert r.status_code == 403, r.text
    r = _answer(stack, "plt_kabid", run, STEP3, OPTION_YES)
    assert r.status_code == 200, r.text
    _wait(lambda: _waiting(stack, run, STEP4), 240, "step 4 not asked", stack)
    r = _answer(stack, "kadis", run, STEP4, OPTION_NO, "Foto kurang jelas.")
    assert r.status_code == 200, r.text
    assert stack.wait_run(DAG, run, timeout=240) == "success"  # a "Tidak" is an outcome
    events = _ledger(stack).events(_ledger(stack).submission_id(DAG, run) or 0)
    decided = [(e.step, e.event, e.actor) for e in events if e.event in ("approved", "returned")]
    assert decided == [(2, "approved", "kasubag"), (3, "approved", "plt_kabid"), (4, "returned", "kadis")]


def _ledger(stack: Stack) -> Ledger:
    return Ledger(f"sqlite:///{stack.home / 'sop_ledger.db'}")


def test_twenty_answers_sent_the_instant_each_question_appears_are_all_kept(stack):
    """The 3.3.2 race (DESIGN.md): an answer landing as the question appears used to fail the
    approval task. Each answer here is sent the moment the request is visible — before the task
    is even parked — and every one must end as a recorded approval.

    The runs start in waves of five (the next wave once every question of the last one was
    answered): twenty runs triggered in the same second are a load test of the embedded SQLite
    database, not of the race — on two loaded cores that burst failed step-1 tasks (the write lock
    held past the 60 s busy timeout), see the note of issue 10."""
    n, wave = 20, 5
    runs: list[str] = []
    results: dict[str, int] = {}
    threads: list[threading.Thread] = []

    def send(run_id: str) -> None:
        for attempt in range(5):
            try:
                code = _answer(stack, "kasubag", run_id, STEP2, OPTION_YES).status_code
            except requests.RequestException:
                # the loaded api-server answered later than the client waited; the answer may
                # have landed: send it again, as the official would click again
                continue
            # 409 to a repeated answer: the first one was stored (the records say so below)
            results[run_id] = 200 if code == 409 and attempt > 0 else code
            return

    end = time.monotonic() + 1500  # 20 step-1 tasks on a loaded two-core machine take a while
    polls = 0
    while len(threads) < n and time.monotonic() < end:
        polls += 1
        if polls % 100 == 0:  # a run whose step 1 failed never asks: say so now, not at the end
            failed = [r for r in runs if r not in results and _ti_state(stack, r, STEP1) == "failed"]
            assert not failed, f"step 1 failed in {failed}\n{stack.log_tail()}"
        if len(threads) == len(runs):  # every question of this wave answered: the next wave
            runs += [
                _trigger_content(stack, f"Serbu jawab {i} {uuid.uuid4().hex[:4]}")
                for i in range(len(runs), len(runs) + wave)
            ]
        try:
            r = _call(
                stack,
                ADMIN,
                "GET",
                f"/api/v2/dags/{DAG}/dagRuns/~/hitlDetails",
                params={"limit": 100, "task_id": STEP2},
            )
        except requests.RequestException:  # 20 held answers on two cores: the list is slow
            continue
        assert r.status_code == 200, r.text
        for d in r.json()["hitl_details"]:
            run_id = d["task_instance"]["dag_run_id"]
            if (
                d["task_instance"]["task_id"] == STEP2
                and run_id in runs
                and run_id not in results
                and not d["response_received"]
            ):
                results[run_id] = 0
                t = threading.Thread(target=send, args=(run_id,), daemon=True)
                t.start()
                threads.append(t)
        time.sleep(0.1)  # well inside the half second in which an answer used to be lost
    for t in threads:
        t.join(300)  # each answer is held until its question has settled
    assert sorted(results.values()) == [200] * n, results

    def settled() -> bool:
        return all(
            _ti_state(stack, r, STEP2) not in (None, "awaiting_input", "scheduled", "queued", "running")
            for r in runs
        )

    _wait(settled, 900, "step 2 tasks not finished", stack)
    states = {r: _ti_state(stack, r, STEP2) for r in runs}
    assert set(states.values()) == {"success"}, states
    ledger = _ledger(stack)
    approvals = [
        e
        for r in runs
        for e in ledger.events(ledger.submission_id(DAG, r) or 0)
        if e.step == 2 and e.event == "approved" and e.actor == "kasubag"
    ]
    assert len(approvals) == n
