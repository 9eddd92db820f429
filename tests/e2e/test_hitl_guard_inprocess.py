"""The answer guard finds requests and users exactly as Airflow's own app does (in-process app;
the running-stack cases, sub-path included, are in test_roles_standalone.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sop_tasks.airflow.hitl_guard import authorized_user, hitl_target

pytestmark = pytest.mark.e2e
PATH = "/api/v2/dags/sop_publish/dagRuns/run%201/taskInstances/sop02_verifikasi_kasubag/{mi}/hitlDetails"


@pytest.fixture(scope="module")
def app(rest_api) -> Any:
    from airflow.api_fastapi.app import cached_app

    return cached_app()


def _scope(
    app: Any, path: str, *, method: str = "PATCH", headers: list[tuple[bytes, bytes]] | None = None
) -> Any:
    from urllib.parse import unquote

    return {
        "type": "http",
        "method": method,
        "path": unquote(path),
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers or [],
        "app": app,
    }


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [("-1", -1), ("-1.0", -1), ("-01", -1), ("%20-1", -1), ("-1%20", -1), ("-1.00", -1), ("+0", 0), ("0", 0)],
)
def test_every_spelling_the_router_takes_is_recognised(app, spelling, expected):
    assert hitl_target(_scope(app, PATH.format(mi=spelling))) == (
        "sop_publish",
        "run 1",
        "sop02_verifikasi_kasubag",
        expected,
    )


@pytest.mark.parametrize(
    ("path", "method"),
    [
        (PATH.format(mi="abc"), "PATCH"),  # Airflow's own 422
        (PATH.format(mi="-1"), "GET"),  # reading the question
        (PATH.format(mi="-1").removesuffix("/hitlDetails"), "PATCH"),  # marking the task: not an answer
        ("/api/v2/dags/sop_publish/dagRuns/r/taskInstances/t/hitlDetails", "PATCH"),  # no such route
    ],
)
def test_other_requests_are_not_the_answer_route(app, path, method):
    assert hitl_target(_scope(app, path, method=method)) is None


def test_the_user_is_whoever_airflow_sees_bearer_first_then_cookie(app, rest_api):
    target = hitl_target(_scope(app, PATH.format(mi="-1")))
    assert target is not None
    kasubag, kabid = rest_api.token("kasubag"), rest_api.token("kabid")

    def who(headers: list[tuple[bytes, bytes]]) -> str | None:
        user = asyncio.run(authorized_user(_scope(app, PATH.format(mi="-1"), headers=headers), target))
        return None if user is None else str(user.get_id())

    cookie = (b"cookie", f"_token={kasubag}".encode())
    assert who([cookie]) == "kasubag"
    assert who([(b"authorization", f"Bearer {kasubag}".encode())]) == "kasubag"
    assert who([(b"authorization", f"Bearer {kabid}".encode()), cookie]) == "kabid"
    assert who([(b"authorization", b"Bearer junk"), cookie]) is None  # Airflow: 403 invalid token
    assert who([]) is None  # Airflow: 401
    assert who([(b"cookie", b"_token=junk")]) is None


def test_an_answered_question_is_not_held(dagbag, rest_api, media_dir):
    """Once a question is answered, the guard's lookup says so (no request time): a second click
    or a retry is passed on at once for Airflow to answer 409, instead of polling the database
    for the whole hold."""
    from sop_tasks.airflow.hitl_guard import _lookup
    from tests.e2e.test_publish_inprocess import _form
    from tests.e2e.test_update_inprocess import YES
    from tests.support.airflow_api import run_answered

    dr, _ = run_answered(dagbag.dags["sop_publish"], rest_api, YES, _form(media_dir, channels=["twitter"]))
    for task in YES:
        state, created, _params, assignees, _job = _lookup("sop_publish", dr.run_id, task, -1)
        assert state == "success" and created is None and assignees, task


def test_an_answer_airflow_stored_is_recorded_and_a_retried_verification_takes_it(
    dagbag, rest_api, media_dir
):
    """Each answer Airflow accepts is recorded at once (``answered``). A verification retried
    after its answer never reached it (a broker restart, a lost worker: try 1 failed while
    resuming) takes that answer instead of asking the official again, and records the decision
    bound to the version the official was shown."""
    from types import SimpleNamespace

    from sop_tasks.airflow.ledger import get_ledger
    from sop_tasks.airflow.operators import VerifyOperator, answered_after_request
    from sop_tasks.approval import OPTION_YES
    from sop_tasks.approval_gate import HASH_KEY
    from sop_tasks.records.kinds import StepEventKind
    from tests.e2e.test_publish_inprocess import _form
    from tests.e2e.test_update_inprocess import YES
    from tests.support.airflow_api import run_answered

    dag = dagbag.dags["sop_publish"]
    dr, _ = run_answered(dag, rest_api, YES, _form(media_dir, channels=["twitter"]))
    ledger = get_ledger()
    sid = ledger.submission_id("sop_publish", dr.run_id)
    assert sid is not None
    events = ledger.events(sid)
    answered = {(e.step, e.actor): e.detail for e in events if e.event == StepEventKind.ANSWERED}
    assert answered == {
        (2, "kasubag"): {"chosen_options": [OPTION_YES], "run_id": dr.run_id},
        (3, "kabid"): {"chosen_options": [OPTION_YES], "run_id": dr.run_id},
        (4, "kadis"): {"chosen_options": [OPTION_YES], "run_id": dr.run_id},
    }

    # try 1 of step 2 asked and Airflow stored the answer, but the task never resumed with it
    sub = ledger.submission(sid)
    assert sub is not None
    shown = next(e.detail for e in events if e.step == 2 and e.event == StepEventKind.REQUESTED)
    retry = ledger.open_submission(
        dag_id="sop_publish",
        run_id=f"{dr.run_id}-coba-ulang",
        kind=sub.kind,
        title=sub.title,
        content=sub.content,
        content_hash=sub.content_hash,
        submitted_by=sub.submitted_by,
    )
    ledger.add_event(retry, 2, StepEventKind.REQUESTED, detail=shown)
    assert answered_after_request(ledger.events(retry), 2) is None  # asked, not answered yet
    yes = {"chosen_options": [OPTION_YES]}
    ledger.add_event(retry, 2, StepEventKind.ANSWERED, actor="kasubag", detail=yes)
    op = dag.get_task("sop02_verifikasi_kasubag")
    assert isinstance(op, VerifyOperator)
    ti = SimpleNamespace(xcom_pull=lambda task_ids: {"submission_id": retry, "channels": ["twitter"]})
    outcome = op.execute({"ti": ti, "task": op})  # try 2: no question is put (no defer)
    assert outcome == {"decision": "Ya", "by": "kasubag"}
    after = ledger.events(retry)
    approved = [e for e in after if e.step == 2 and e.event == StepEventKind.APPROVED]
    assert [(e.actor, (e.detail or {}).get(HASH_KEY)) for e in approved] == [("kasubag", shown[HASH_KEY])]
    assert [e.event for e in after if e.step == 2].count(StepEventKind.REQUESTED) == 1  # not asked again
    # a question put again after the answer (a new try that did ask) needs a new answer
    ledger.add_event(retry, 3, StepEventKind.ANSWERED, actor="kabid", detail=yes)
    ledger.add_event(retry, 3, StepEventKind.REQUESTED, detail=shown)
    assert answered_after_request(ledger.events(retry), 3) is None
