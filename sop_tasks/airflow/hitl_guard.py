"""ASGI middleware on the API server guarding human-in-the-loop answers.

1. An answer must fill the field its option needs — a reason for "Tidak …", the reply for
   "Balas …", the target bidang for "Teruskan …" — and every value must fit the stored form
   (a bidang on offer, the right type): refused with 422 and an Indonesian message otherwise,
   before Airflow stores anything.
2. Airflow 3.3.2 loses an answer that lands before the scheduler has taken in the end of the
   task's first attempt (the worker parks the task in ``awaiting_input`` and exits; if the answer
   re-queues the task before the scheduler has read that exit, the stale "success" fails the
   task: apache/airflow#67287, #72716). A fast API client or a double click must not lose an
   official's decision, so an answer is held until the task is parked, its request is at least
   ``SETTLE_SECONDS`` old and the scheduler that runs it has finished a whole loop that began
   after that (its job heartbeat moved on twice), then passed on.

Nothing here re-implements Airflow's routing or login, so it cannot drift from them:

- the route is found by Airflow's own router (``route.matches`` on the root app, in order, with
  the ``root_path`` of a sub-path ``[api] base_url`` stripped as Starlette does), and its path
  parameters are converted by FastAPI's own validator (``-1.0``, ``+0``, `` -1`` are all -1);
- the user is resolved by Airflow's own ``get_user`` (bearer header, else the ``_token``
  cookie), and the DAG permission by Airflow's own ``requires_access_dag`` — before any read of
  the body or any lookup; a request that Airflow would refuse (401/403/404/422) is passed
  straight on, unread, so Airflow answers it;
- the body of a guarded request is bounded (``MAX_BODY_BYTES``, 413 beyond).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sop_tasks.approval import REASON_PARAM
from sop_tasks.followup import PARAM_REPLY, PARAM_TARGET
from sop_tasks.records.kinds import StepEventKind
from sop_tasks.sop import VERIFY_STEPS

log = logging.getLogger(__name__)

SETTLE_SECONDS = 2.0
MAX_HOLD_SECONDS = 45.0
LOOP_ALLOWANCE_SECONDS = 10.0
POLL_SECONDS = 0.25
MAX_BODY_BYTES = 256 * 1024  # an answer is a choice and a few lines of text
PARKED = ("awaiting_input", "deferred")
WAITING = (None, "running", "queued", "scheduled", "awaiting_input", "deferred", "up_for_reschedule")

Scope = dict[str, Any]


def _lookup(
    dag_id: str, run_id: str, task_id: str, map_index: int
) -> tuple[str | None, datetime | None, dict[str, Any], list[str], int | None]:
    """(TI state, request created_at, request params, assigned user ids, queued_by_job_id).

    created_at is None for a question already answered: nothing to hold for (a second click,
    a retry), Airflow answers 409 at once."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        row = session.execute(
            select(
                TaskInstance.state,
                HITLDetail.created_at,
                HITLDetail.responded_at,
                HITLDetail.params,
                HITLDetail.assignees,
                TaskInstance.queued_by_job_id,
            )
            .join(HITLDetail, HITLDetail.ti_id == TaskInstance.id)
            .where(
                TaskInstance.dag_id == dag_id,
                TaskInstance.run_id == run_id,
                TaskInstance.task_id == task_id,
                TaskInstance.map_index == map_index,
            )
        ).first()
    if row is None:
        return None, None, {}, [], None
    state, created, responded, params, assignees, job_id = row
    ids = [str(a.get("id")) for a in assignees or []]
    state_s = str(getattr(state, "value", state)) if state else None
    return state_s, None if responded else created, dict(params or {}), ids, job_id


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


def _scheduler_heartbeat(job_id: int | None) -> datetime | None:
    """The latest heartbeat of the scheduler that queued the task, if it is alive (else None:
    no scheduler loop to wait for, e.g. ``dag.test()`` in-process)."""
    from airflow.jobs.job import Job
    from airflow.utils.session import create_session
    from sqlalchemy import select

    if job_id is None:
        return None
    with create_session() as session:
        row = session.execute(select(Job.latest_heartbeat, Job.state).where(Job.id == job_id)).first()
    if row is None or row[0] is None:
        return None
    beat, state = _utc(row[0]), row[1]
    if str(getattr(state, "value", state)) != "running" or datetime.now(UTC) - beat > timedelta(seconds=60):
        return None
    return beat


# (option label prefix, the form field it needs, what to tell the person) — first match wins.
REQUIRED_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("Tidak", REASON_PARAM, "Alasan wajib diisi bila memilih '{option}': tulis di kolom 'alasan'."),
    ("Balas", PARAM_REPLY, "Jawaban wajib diisi bila memilih 'Balas': tulis di kolom 'reply'."),
    ("Teruskan", PARAM_TARGET, "Pilih bidang tujuan di kolom 'bidang_tujuan' bila memilih 'Teruskan'."),
)


def missing_required(payload: dict[str, Any], params: dict[str, Any]) -> str | None:
    """The message for a chosen option whose required field is empty, else None."""
    chosen = payload.get("chosen_options") or []
    if not chosen:
        return None
    for prefix, field, message in REQUIRED_FIELDS:
        if str(chosen[0]).startswith(prefix):
            if field not in params:
                return None
            value = (payload.get("params_input") or {}).get(field)
            return None if isinstance(value, str) and value.strip() else message.format(option=chosen[0])
    return None


def invalid_values(given: dict[str, Any], params: dict[str, Any]) -> str | None:
    """The message for a value the stored form would refuse (a bidang not offered, a wrong type).

    Airflow stores such an answer anyway and the task then fails on it; refusing it here keeps
    the question open so the person can correct it.
    """
    import jsonschema

    for key, value in given.items():
        spec = params.get(key)
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            continue
        try:
            jsonschema.validate(value, schema)
        except jsonschema.ValidationError as exc:
            title = schema.get("title") or key
            if "enum" in schema:
                shown = schema.get("values_display") or {}
                allowed = ", ".join(f"{v} ({shown.get(v, v)})" for v in schema["enum"] if v is not None)
                return f"Isian '{title}' tidak sah: {value!r} bukan pilihan yang tersedia: {allowed}."
            return f"Isian '{title}' tidak sah ({exc.message}); perbaiki lalu kirim lagi."
    return None


def hitl_target(scope: Scope) -> tuple[str, str, str, int] | None:
    """(dag_id, run_id, task_id, map_index) if Airflow's router sends this request to the HITL
    answer endpoint, else None. Airflow's routes are matched in order, as Starlette does, and the
    path parameters are converted by FastAPI's own validator."""
    from airflow.api_fastapi.core_api.routes.public import hitl
    from fastapi.dependencies.utils import request_params_to_args
    from starlette.routing import Match

    router = getattr(scope.get("app"), "router", None)
    for route in getattr(router, "routes", ()):
        match, child = route.matches(scope)
        if match != Match.FULL:
            continue
        if getattr(route, "endpoint", None) is not hitl.update_hitl_detail:
            return None
        values, errors = request_params_to_args(route.dependant.path_params, child.get("path_params", {}))
        if errors:
            return None  # Airflow answers 422 itself
        return (
            str(values["dag_id"]),
            str(values["dag_run_id"]),
            str(values["task_id"]),
            int(values.get("map_index", -1)),
        )
    return None


async def authorized_user(scope: Scope, target: tuple[str, str, str, int]) -> Any | None:
    """The user Airflow would see for this request, if Airflow lets them answer on this DAG.

    Airflow's own dependencies do the work (bearer header, else ``_token`` cookie; the auth
    manager's DAG permission), so the guard and Airflow cannot disagree about who is asking.
    None: Airflow will refuse the request itself (401/403), so the guard stays out of it.
    """
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import bearer_scheme, get_user, requires_access_dag
    from fastapi import HTTPException
    from starlette.requests import Request

    dag_id, run_id, task_id, map_index = target
    path_params = {"dag_id": dag_id, "dag_run_id": run_id, "task_id": task_id, "map_index": map_index}
    request = Request({**scope, "path_params": path_params})
    try:
        credentials = await bearer_scheme(request)
        user = await get_user(request, None, credentials)
        check = requires_access_dag(method="PUT", access_entity=DagAccessEntity.HITL_DETAIL)
        await asyncio.to_thread(check, request, user)
    except HTTPException:
        return None
    return user


def _may_answer(user: Any, assignees: list[str]) -> bool:
    from airflow.api_fastapi.app import get_auth_manager

    return not assignees or bool(
        get_auth_manager().is_authorized_hitl_task(assigned_users=set(assignees), user=user)
    )


class HitlResponseGuard:
    def __init__(self, app: Any, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("method") != "PATCH":
            await self.app(scope, receive, send)
            return
        target = hitl_target(scope)
        if target is None:
            await self.app(scope, receive, send)
            return
        user = await authorized_user(scope, target)
        if user is None:
            await self.app(scope, receive, send)  # Airflow answers 401/403, body unread
            return
        body = await _read_bounded(scope, receive, self.max_body)
        if body is None:
            await _reply(
                send,
                413,
                {"detail": f"Jawaban terlalu besar (lebih dari {self.max_body // 1024} KB); persingkat."},
            )
            return
        state, created, params, assignees, job_id = await asyncio.to_thread(_lookup, *target)
        if not _may_answer(user, assignees):
            await self.app(scope, _replay(body, receive), send)  # Airflow answers 403
            return
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            await self.app(scope, _replay(body, receive), send)  # Airflow answers 422
            return
        problem = missing_required(payload, params)
        given = payload.get("params_input") or {}
        if not problem and params and isinstance(given, dict) and set(given) != set(params):
            missing = ", ".join(sorted(set(params) - set(given))) or "-"
            extra = ", ".join(sorted(set(given) - set(params))) or "-"
            problem = f"Isian formulir tidak cocok: kolom yang kurang: {missing}; kolom tak dikenal: {extra}"
        if not problem and isinstance(given, dict):
            problem = invalid_values(given, params)
        if problem:
            await _reply(send, 422, {"detail": problem})
            return
        await _settle(target, state, created, job_id)
        captured = _Captured(send)
        await self.app(scope, _replay(body, receive), captured)
        if captured.status == 200:
            await asyncio.to_thread(record_answer, target, captured.json())


class _Captured:
    """An ASGI ``send`` that passes everything on and keeps the status and body it saw."""

    def __init__(self, send: Any) -> None:
        self.send, self.status, self.body = send, 0, bytearray()

    async def __call__(self, message: dict[str, Any]) -> None:
        if message.get("type") == "http.response.start":
            self.status = int(message.get("status") or 0)
        elif message.get("type") == "http.response.body" and len(self.body) <= MAX_BODY_BYTES:
            self.body += message.get("body", b"")
        await self.send(message)

    def json(self) -> dict[str, Any]:
        try:
            doc = json.loads(bytes(self.body) or b"{}")
        except ValueError:
            return {}
        return doc if isinstance(doc, dict) else {}


def record_answer(target: tuple[str, str, str, int], response: dict[str, Any]) -> None:
    """Record a verification answer Airflow has just stored (record 1, ``answered``).

    The decision is recorded by the task when it resumes (``VerifyOperator.execute_complete``).
    If it never resumes with it — the broker restarted, the worker was lost, and the task is
    retried — the retry takes this answer instead of asking the official a second time
    (``VerifyOperator.execute``). Only after Airflow accepted the answer (the user is assigned,
    the question open), so nothing here can approve anything Airflow refused. A failure to record
    is logged and the answer stands in Airflow (the task records it as usual)."""
    dag_id, run_id, task_id, _ = target
    step = next((s.number for s in VERIFY_STEPS if s.task_id == task_id), None)
    who = (response.get("responded_by") or {}).get("id")
    chosen = response.get("chosen_options")
    if step is None or not who or not isinstance(chosen, list):
        return
    try:
        from sop_tasks.airflow.ledger import ledger_url_in_server
        from sop_tasks.records.ledger import Ledger

        ledger = Ledger(ledger_url_in_server())  # a server process: not the task SDK's look-up
        sid = ledger.submission_id(dag_id, run_id)
        if sid is None:
            return
        given = response.get("params_input") or {}
        reason = given.get(REASON_PARAM) if isinstance(given, dict) else None
        at = response.get("responded_at")
        ledger.add_event(
            sid,
            step,
            StepEventKind.ANSWERED,
            actor=str(who),
            ended_at=datetime.fromisoformat(at) if isinstance(at, str) else None,
            reason=(str(reason).strip() or None) if reason else None,
            detail={"chosen_options": [str(c) for c in chosen], "run_id": run_id},
        )
    except Exception:  # the answer is stored in Airflow; the task records it as usual
        log.exception("Jawaban %s/%s/%s tidak tercatat sebagai 'answered'", dag_id, run_id, task_id)


async def _settle(
    target: tuple[str, str, str, int], state: str | None, created: datetime | None, job_id: int | None
) -> None:
    """Hold until the question is safe to answer, at most ``MAX_HOLD_SECONDS``; a finished or
    failed task is passed on at once (Airflow answers 409 or the like).

    Safe: the task is parked, ``SETTLE_SECONDS`` have passed since the request was written (and
    since the guard saw the task park, if it saw that happen), and the scheduler that queued it
    has drained its executor since then. The scheduler heartbeats at the end of a loop, after
    reading its executor's events, so a heartbeat later than the first one seen after that moment
    closes a loop that began after it; a heartbeat ``LOOP_ALLOWANCE_SECONDS`` later than that
    moment does too unless one loop took that long (a question answered minutes after it
    appeared passes at once). No live scheduler (``dag.test()``): nothing to race with.
    """
    deadline = time.monotonic() + MAX_HOLD_SECONDS
    first_beat: datetime | None = None
    was_parked = state in PARKED
    parked_seen: datetime | None = None  # when the guard saw the task park, if it saw that
    while created is not None and time.monotonic() < deadline:
        if state not in WAITING:
            return
        if state in PARKED and not was_parked:
            was_parked, parked_seen = True, datetime.now(UTC)
        ready_at = _utc(created) + timedelta(seconds=SETTLE_SECONDS)
        if parked_seen is not None:
            ready_at = max(ready_at, parked_seen + timedelta(seconds=SETTLE_SECONDS))
        if state in PARKED and datetime.now(UTC) >= ready_at:
            beat = await asyncio.to_thread(_scheduler_heartbeat, job_id)
            if beat is None or beat >= ready_at + timedelta(seconds=LOOP_ALLOWANCE_SECONDS):
                return
            if beat >= ready_at:
                if first_beat is None:
                    first_beat = beat
                elif beat > first_beat:
                    return
        await asyncio.sleep(POLL_SECONDS)
        state, created, _, _, job_id = await asyncio.to_thread(_lookup, *target)


async def _read_bounded(scope: Scope, receive: Any, limit: int) -> bytes | None:
    """The request body, or None when it is (or says it is) larger than ``limit``."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                if int(value) > limit:
                    return None
            except ValueError:
                return None
    body = bytearray()
    while True:
        msg = await receive()
        if msg.get("type") == "http.disconnect":
            break
        body += msg.get("body", b"")
        if len(body) > limit:
            return None
        if not msg.get("more_body"):
            break
    return bytes(body)


def _replay(body: bytes, receive: Any) -> Any:
    """An ASGI ``receive`` that hands the already-read body to the app once."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return dict(await receive())
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _reply(send: Any, status: int, doc: dict[str, Any]) -> None:
    data = json.dumps(doc, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": data})
