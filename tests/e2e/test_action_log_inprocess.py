"""Airflow's API action log on the embedded SQLite database (sop_tasks.airflow.action_log).

The real api-server app (``create_app()`` with the SOP plugin) on the suite's SQLite metadata DB,
one event loop for all requests as in ``airflow api-server``: while one request holds the write
lock in a worker thread, an API write from another staff member must not freeze the server.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from sop_tasks.airflow.action_log import committing_off_the_loop

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def app_and_client(airflow_db):  # type: ignore[no-untyped-def]
    import os

    from airflow.api_fastapi.app import create_app
    from airflow.api_fastapi.common.db.common import SessionDep
    from airflow.models.log import Log
    from fastapi.testclient import TestClient
    from sqlalchemy import text

    from tests.support.airflow_api import ApiClient

    app = create_app()
    held = threading.Event()

    def hold(session: SessionDep) -> dict[str, str]:
        """Like an answer to a Required Action: write, then finish while the write is pending
        (Airflow commits the session when the request ends, scheduled by the event loop)."""
        session.add(Log(event="sop_test_hold"))
        session.flush()  # the SQLite write lock is held from here to the commit
        held.set()
        time.sleep(1.5)
        return {"held": "yes"}

    reading = threading.Semaphore(0)

    def read(session: SessionDep) -> dict[str, str]:
        """A slow page: it has its metadata connection from the first query to the request's end."""
        session.execute(text("SELECT 1"))
        reading.release()
        time.sleep(3)
        return {"read": "yes"}

    for path, endpoint in (("/sop-test/hold", hold), ("/sop-test/read", read)):
        endpoint.__annotations__["session"] = SessionDep  # a local name: resolve it here
        app.add_api_route(path, endpoint, methods=["POST"])
        app.router.routes.insert(0, app.router.routes.pop())  # before Airflow's catch-all UI route
    with TestClient(app) as client:  # one portal: one event loop for every thread's requests

        def call(method: str, path: str, **kw: Any) -> Any:
            return client.request(method, path, **kw)

        api = ApiClient(call, Path(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]))
        yield app, client, api, held, reading


def _route(app: Any, path_end: str, method: str) -> Any:
    return next(r for r in app.routes if getattr(r, "path", "").endswith(path_end) and method in r.methods)


def test_every_logged_api_write_commits_its_log_off_the_event_loop(app_and_client):
    app = app_and_client[0]
    answer = _route(app, "/{map_index}/hitlDetails", "PATCH")
    calls = [d.call for d in answer.dependant.dependencies]
    assert any(getattr(c, "__sop_off_loop__", False) for c in calls), calls
    left = [
        (r.path, d.call)
        for r in app.routes
        if getattr(r, "dependant", None) is not None
        for d in r.dependant.dependencies
        if getattr(d.call, "__qualname__", "") == "action_logging.<locals>.log_action"
    ]
    assert left == []


def test_an_api_write_while_another_request_holds_the_write_lock(app_and_client):
    """Before the fix the variable's log commit blocked the loop for the 60 s busy timeout (the
    holder's commit could not be scheduled) and answered 500 "Database error"."""
    from airflow.models.log import Log
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    _, client, api, held, _ = app_and_client
    api.token("admin")  # log in first: only the two writes overlap
    key = f"sop_test_{uuid.uuid4().hex[:8]}"
    got: dict[str, Any] = {}
    holder = threading.Thread(target=lambda: got.update(hold=client.post("/sop-test/hold")))
    holder.start()
    assert held.wait(30)
    writer = threading.Thread(
        target=lambda: got.update(
            write=api.request("admin", "POST", "/api/v2/variables", json={"key": key, "value": "1"})
        )
    )
    writer.start()
    writer.join(45)
    holder.join(45)
    assert not writer.is_alive() and not holder.is_alive(), "the api-server froze"
    assert got["hold"].status_code == 200, got["hold"].text
    assert got["write"].status_code == 201, got["write"].text
    assert Variable.get(key) == "1"
    with create_session() as session:
        wanted = Log.event.in_(["sop_test_hold", "post_variable"])
        events = {e for (e,) in session.query(Log.event).filter(wanted)}
    assert events == {"sop_test_hold", "post_variable"}


def test_twenty_slow_requests_do_not_starve_the_token_check_on_the_event_loop(app_and_client):
    """Airflow checks every token against the revoked list with a synchronous query on the event
    loop. With a connection pool (5 + 10 overflow) lent out to slow requests, that check waited
    for a free connection, which only those requests' ends (scheduled by the blocked loop) could
    give back: the server froze for the pool's 30 s timeout and answered 500. The embedded default
    runs without a pool (sop_tasks.airflow.local)."""
    _, client, api, _, reading = app_and_client
    api.token("admin")
    got: list[Any] = []
    readers = [threading.Thread(target=lambda: got.append(client.post("/sop-test/read"))) for _ in range(20)]
    for t in readers:
        t.start()
    for _ in range(16):  # more connections lent out than a default pool has
        assert reading.acquire(timeout=30)
    checked = api.request("admin", "GET", "/api/v2/dags", params={"limit": 1})
    for t in readers:
        t.join(60)
    assert checked.status_code == 200, checked.text
    assert [r.status_code for r in got] == [200] * 20


def test_a_dry_run_that_airflow_does_not_log_commits_nothing():
    class Session:
        commits = 0

        def commit(self) -> None:
            Session.commits += 1

    async def log_action(request: Any, session: Any, user: Any) -> None:
        return None  # Airflow's early return for a dry-run clear

    import asyncio

    asyncio.run(committing_off_the_loop(log_action)(request=None, session=Session(), user=None))
    assert Session.commits == 0


def test_an_airflow_without_that_dependency_is_reported(caplog):
    """If an Airflow upgrade renames the action-log dependency, nothing is swapped: say so."""
    import asyncio

    from sop_tasks.airflow.action_log import ActionLogOffLoop

    class App:
        routes: tuple[Any, ...] = ()

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        return None

    guard = ActionLogOffLoop(inner)
    with caplog.at_level("WARNING", logger="sop_tasks.airflow.action_log"):
        asyncio.run(guard({"type": "lifespan", "app": App()}, None, None))
    assert guard.swapped == 0
    assert "Log aksi API Airflow tidak ditemukan" in caplog.text
