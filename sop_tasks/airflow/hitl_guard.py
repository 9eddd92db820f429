"""ASGI middleware on the API server guarding human-in-the-loop answers.

1. An answer must fill the field its option needs — a reason for "Tidak …", the reply for
   "Balas …", the target bidang for "Teruskan …" — and every value must fit the stored form
   (a bidang on offer, the right type): refused with 422 and an Indonesian message otherwise,
   before Airflow stores anything.
2. Airflow 3.3.2 loses an answer that lands within about half a second of the request appearing
   (the scheduler marks the approval task failed). A fast API client or a double click must not
   lose an official's decision, so an answer is held until the task is parked in
   ``awaiting_input`` and its request is at least ``SETTLE_SECONDS`` old, then passed on.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from datetime import UTC, datetime
from typing import Any

from sop_tasks.approval import REASON_PARAM
from sop_tasks.followup import PARAM_REPLY, PARAM_TARGET

SETTLE_SECONDS = 2.0
MAX_HOLD_SECONDS = 20.0
_PATH = re.compile(
    r"^/api/v2/dags/(?P<dag>[^/]+)/dagRuns/(?P<run>[^/]+)/taskInstances/(?P<task>[^/]+)"
    r"(?:/(?P<mi>-?\d+))?/hitlDetails$"
)

Scope = dict[str, Any]


def _lookup(
    dag_id: str, run_id: str, task_id: str, map_index: int
) -> tuple[str | None, datetime | None, dict[str, Any], list[str]]:
    """(TI state, request created_at, request params, assigned user ids) from the metadata DB."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        row = session.execute(
            select(TaskInstance.state, HITLDetail.created_at, HITLDetail.params, HITLDetail.assignees)
            .join(HITLDetail, HITLDetail.ti_id == TaskInstance.id)
            .where(
                TaskInstance.dag_id == dag_id,
                TaskInstance.run_id == run_id,
                TaskInstance.task_id == task_id,
                TaskInstance.map_index == map_index,
            )
        ).first()
    if row is None:
        return None, None, {}, []
    state, created, params, assignees = row
    ids = [str(a.get("id")) for a in assignees or []]
    return (str(getattr(state, "value", state)) if state else None), created, dict(params or {}), ids


def _requester(scope: Scope) -> str | None:
    """The user named in the bearer token, unverified: only used to let Airflow answer 403 first
    to a user who is not assigned. Airflow itself still verifies the token and the assignment."""
    for name, value in scope.get("headers", []):
        if name == b"authorization" and value.lower().startswith(b"bearer "):
            parts = value.split(b" ", 1)[1].split(b".")
            if len(parts) == 3:
                try:
                    pad = b"=" * (-len(parts[1]) % 4)
                    claims = json.loads(base64.urlsafe_b64decode(parts[1] + pad))
                except ValueError:
                    return None
                sub = claims.get("sub") if isinstance(claims, dict) else None
                return str(sub) if sub is not None else None
    return None


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


class HitlResponseGuard:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        m = _PATH.match(scope.get("path", "")) if scope.get("type") == "http" else None
        if m is None or scope.get("method") != "PATCH":
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        key = (m["dag"], m["run"], m["task"], int(m["mi"] or -1))
        state, created, params, assignees = await asyncio.to_thread(_lookup, *key)
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = {}
        requester = _requester(scope)
        if assignees and requester is not None and requester not in assignees:
            await self.app(scope, _replay(body, receive), send)  # Airflow answers 403
            return
        problem = missing_required(payload, params) if isinstance(payload, dict) else None
        given = (payload.get("params_input") or {}) if isinstance(payload, dict) else {}
        if not problem and params and isinstance(given, dict) and set(given) != set(params):
            missing = ", ".join(sorted(set(params) - set(given))) or "-"
            extra = ", ".join(sorted(set(given) - set(params))) or "-"
            problem = f"Isian formulir tidak cocok: kolom yang kurang: {missing}; kolom tak dikenal: {extra}"
        if not problem and isinstance(given, dict):
            problem = invalid_values(given, params)
        if problem:
            await _reply(send, 422, {"detail": problem})
            return
        deadline = time.monotonic() + MAX_HOLD_SECONDS
        while created is not None and time.monotonic() < deadline:
            age = (datetime.now(UTC) - created.astimezone(UTC)).total_seconds()
            if state in ("awaiting_input", "deferred") and age >= SETTLE_SECONDS:
                break
            if state not in (None, "running", "queued", "scheduled", "awaiting_input", "deferred"):
                break  # finished or failed: let Airflow answer (409 etc.)
            await asyncio.sleep(0.25)
            state, created, params, assignees = await asyncio.to_thread(_lookup, *key)
        await self.app(scope, _replay(body, receive), send)


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
