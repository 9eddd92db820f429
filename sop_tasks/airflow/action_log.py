"""Airflow's API action log, written off the api-server's event loop.

Every write through Airflow's REST API (an answer to a Required Action, a trigger, a mark or a
clear) first records an action-log row: ``airflow.api_fastapi.logging.decorators.action_logging``
is an ``async`` dependency that adds the row and calls the *synchronous* ``session.commit()`` —
on the event loop itself. On the embedded SQLite database that is a deadlock: a synchronous
endpoint that has already written (an answer moves its task to ``scheduled``) holds the write lock
in a worker thread until its session is committed when the request ends, which the event loop
has to schedule; the loop, meanwhile, is stuck in the next request's log commit waiting for that
lock. The whole api-server froze for SQLite's busy timeout (60 s) and then answered 500
"Database error" (measured with ``SOP_SQLITE_LOCK_LOG``, see :mod:`sop_tasks.airflow.sqlite`;
it made the execution API time out and tasks fail under a few simultaneous answers).

:class:`ActionLogOffLoop` (a root middleware of the SOP plugin) replaces that dependency in every
route, once, by one that lets Airflow build and add the same row and then commits it in a worker
thread, so the loop keeps serving the request that holds the lock. Nothing else changes: the row,
its fields and the commit-before-the-endpoint order are Airflow's own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from starlette.concurrency import run_in_threadpool

ORIGINAL = "action_logging.<locals>.log_action"
log = logging.getLogger(__name__)


def committing_off_the_loop(log_action: Callable[..., Any]) -> Callable[..., Any]:
    """``log_action`` with its ``session.commit()`` run in a worker thread."""

    async def log_action_off_the_loop(**kwargs: Any) -> None:
        session = kwargs["session"]
        commit = session.commit
        asked: list[bool] = []
        session.commit = lambda: asked.append(True)  # the instance attribute hides the method
        try:
            await log_action(**kwargs)
        finally:
            del session.commit
        if asked:  # Airflow skips the row (and the commit) for a dry-run clear
            await run_in_threadpool(commit)

    log_action_off_the_loop.__sop_off_loop__ = True  # type: ignore[attr-defined]
    return log_action_off_the_loop


def offload_action_logs(routes: Iterable[Any]) -> int:
    """Swap Airflow's action-log dependency in ``routes`` (and mounted apps); returns how many."""
    swapped = 0

    def walk(dependant: Any) -> None:
        nonlocal swapped
        for sub in dependant.dependencies:
            if getattr(sub.call, "__qualname__", "") == ORIGINAL:
                sub.call = committing_off_the_loop(sub.call)
                swapped += 1
            walk(sub)

    for route in routes:
        if getattr(route, "dependant", None) is not None:
            walk(route.dependant)
        inner = getattr(route, "routes", None) or getattr(getattr(route, "app", None), "routes", None)
        if inner and inner is not routes:
            swapped += offload_action_logs(inner)
    return swapped


class ActionLogOffLoop:
    """Root middleware: on the first call (the app's lifespan start-up) swap the dependency."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.swapped: int | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.swapped is None and scope.get("app") is not None:
            self.swapped = offload_action_logs(scope["app"].routes)
            if not self.swapped:  # an Airflow upgrade renamed it: the freeze would be back
                log.warning(
                    "Log aksi API Airflow tidak ditemukan (%s); periksa sop_tasks/airflow/action_log.py "
                    "setelah memperbarui Airflow, atau SQLite bisa macet 60 detik.",
                    ORIGINAL,
                )
        await self.app(scope, receive, send)
