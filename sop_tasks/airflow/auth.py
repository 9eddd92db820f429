"""Least-privilege roles for the SOP deployment: a small auth manager on Airflow's SimpleAuthManager.

Set it with ``AIRFLOW__CORE__AUTH_MANAGER=sop_tasks.airflow.auth.SopAuthManager`` (the embedded
``make run`` does; the production stack uses the same class and the same user list from
``config/office.yaml``, see :func:`sop_tasks.airflow.local.users`). Users and their role come
from ``[core] simple_auth_manager_users`` (``name:role,…``); three roles exist:

``admin``  administrator: everything (connections, variables, pools, config, deleting runs).
``op``     the Pengelola TI (officer): sees everything (connections and variables only as the
           API shows them: passwords and secret values masked) and runs the SOP DAGs — triggers
           them, marks and clears tasks, sets run state, answers questions assigned to them. No
           deleting, no XCom edits, no pausing/deleting DAGs, no connections/variables/pools/config
           changes, so no connection test either (Airflow tests a connection only for those who
           may create one).
``viewer`` verifiers and bidang staff: see the DAGs, runs, tasks and logs and answer the
           questions assigned to them (Airflow checks the assignment). Nothing else: no trigger,
           clear, mark, delete, run-state change, XCom, and no connections/variables/pools/config.

The role is looked up in the *current* user list on every request, not taken from the token: a
user removed from the office config loses every permission at the next restart, even with a
token issued before. The approval chain itself does not rest on these permissions: the channel
write checks the recorded approvals (see the gate), so even a wrongly allowed click cannot publish.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from airflow.api_fastapi.auth.managers.base_auth_manager import BaseAuthManager
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.auth.managers.simple.datamodels.login import LoginBody, LoginResponse
from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from airflow.api_fastapi.auth.managers.simple.utils import parse_login_body
from airflow.api_fastapi.common.types import MenuItem
from fastapi import APIRouter, Depends, HTTPException, status

from sop_tasks.airflow.local import ADMIN, OFFICER, STAFF

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.resource_details import (
        AccessView,
        AssetAliasDetails,
        AssetDetails,
        ConfigurationDetails,
        ConnectionDetails,
        DagDetails,
        PoolDetails,
        TeamDetails,
        VariableDetails,
    )

ROLES = (ADMIN, OFFICER, STAFF)

# The officer runs the project's DAGs (ids ``sop_…``): sop_publish, sop_update, sop_follow_up,
# sop_monitor, sop_pengingat and any the project adds.
OFFICER_DAG_PREFIX = "sop_"
# What the officer may change on those DAGs: start runs and set their state, mark/clear tasks.
OFFICER_DAG_WRITES: frozenset[tuple[str, DagAccessEntity]] = frozenset(
    {
        ("POST", DagAccessEntity.RUN),
        ("PUT", DagAccessEntity.RUN),
        ("PUT", DagAccessEntity.TASK_INSTANCE),
    }
)
# Admin-only menu entries (the officer may still read them; staff may not).
STAFF_HIDDEN_MENU = frozenset({MenuItem.CONFIG, MenuItem.CONNECTIONS, MenuItem.POOLS, MenuItem.VARIABLES})


def role_of(username: str) -> str | None:
    """The role configured for ``username`` now, or None (not a user: no permission at all)."""
    for user in SimpleAuthManager.get_users():
        if user.username == username:
            role = (user.role or "").lower()
            return role if role in ROLES else None
    return None


def _role(user: SimpleAuthManagerUser) -> str | None:
    role = (user.role or "").lower()
    return role if role in ROLES else None


def may_dag(role: str | None, method: str, access_entity: DagAccessEntity | None, dag_id: str | None) -> bool:
    """The DAG part of the matrix, as a plain function (the tests and the README table use it)."""
    if role == ADMIN:
        return True
    if role not in (OFFICER, STAFF):
        return False
    if method == "GET":
        return True
    if method == "PUT" and access_entity == DagAccessEntity.HITL_DETAIL:
        return True  # answering; Airflow then allows only the users the question is assigned to
    if role == OFFICER and dag_id and dag_id.startswith(OFFICER_DAG_PREFIX):
        return (method, access_entity) in OFFICER_DAG_WRITES
    return False


def may_admin_resource(role: str | None, method: str) -> bool:
    """Connections, variables, pools, configuration: the admin changes, the officer reads."""
    if role == ADMIN:
        return True
    return role == OFFICER and method == "GET"


def hashes_path() -> str | None:
    """``[sop] password_hashes_file``: when set, logins are checked against salted hashes there
    (see :mod:`sop_tasks.passwords`) and no plaintext password file is made or read."""
    from airflow.configuration import conf

    return conf.get("sop", "password_hashes_file", fallback=None) or None


def check_login(username: str, password: str) -> SimpleAuthManagerUser | None:
    """The configured user if ``password`` matches their stored hash, else None."""
    from pathlib import Path

    from sop_tasks import passwords

    path = hashes_path()
    stored = passwords.load(Path(path)).get(username) if path else None
    role = role_of(username)
    ok = passwords.verify_password(password, stored if role is not None else None)
    return SimpleAuthManagerUser(username=username, role=role) if ok and role is not None else None


class SopAuthManager(SimpleAuthManager):
    """SimpleAuthManager's users, passwords and login page with the SOP's role matrix."""

    def init(self) -> None:
        if hashes_path():
            BaseAuthManager.init(self)  # no plaintext passwords generated or printed
            return
        super().init()

    def get_fastapi_app(self) -> Any:
        app = super().get_fastapi_app()
        if app is not None and hashes_path():
            _use_hashed_login(app)
        return app

    def deserialize_user(self, token: dict[str, Any]) -> SimpleAuthManagerUser:
        username = str(token["sub"])
        return SimpleAuthManagerUser(username=username, role=role_of(username), teams=token.get("teams"))

    def is_authorized_configuration(
        self,
        *,
        method: Any,
        user: SimpleAuthManagerUser,
        details: ConfigurationDetails | None = None,
    ) -> bool:
        return may_admin_resource(_role(user), str(method))

    def is_authorized_connection(
        self,
        *,
        method: Any,
        user: SimpleAuthManagerUser,
        details: ConnectionDetails | None = None,
    ) -> bool:
        return may_admin_resource(_role(user), str(method))

    def is_authorized_variable(
        self,
        *,
        method: Any,
        user: SimpleAuthManagerUser,
        details: VariableDetails | None = None,
    ) -> bool:
        return may_admin_resource(_role(user), str(method))

    def is_authorized_pool(
        self,
        *,
        method: Any,
        user: SimpleAuthManagerUser,
        details: PoolDetails | None = None,
    ) -> bool:
        return may_admin_resource(_role(user), str(method))

    def is_authorized_dag(
        self,
        *,
        method: Any,
        user: SimpleAuthManagerUser,
        access_entity: DagAccessEntity | None = None,
        details: DagDetails | None = None,
    ) -> bool:
        return may_dag(_role(user), str(method), access_entity, details.id if details else None)

    def is_authorized_asset(
        self, *, method: Any, user: SimpleAuthManagerUser, details: AssetDetails | None = None
    ) -> bool:
        role = _role(user)
        return role == ADMIN or (role is not None and str(method) == "GET")

    def is_authorized_asset_alias(
        self, *, method: Any, user: SimpleAuthManagerUser, details: AssetAliasDetails | None = None
    ) -> bool:
        role = _role(user)
        return role == ADMIN or (role is not None and str(method) == "GET")

    def is_authorized_team(
        self, *, method: Any, user: SimpleAuthManagerUser, details: TeamDetails | None = None
    ) -> bool:
        return _role(user) == ADMIN

    def is_authorized_view(self, *, access_view: AccessView, user: SimpleAuthManagerUser) -> bool:
        return _role(user) is not None

    def is_authorized_custom_view(
        self, *, method: Any, resource_name: str, user: SimpleAuthManagerUser
    ) -> bool:
        role = _role(user)
        return role == ADMIN or (role is not None and str(method) in ("GET", "MENU"))

    def filter_authorized_menu_items(
        self, menu_items: list[MenuItem], *, user: SimpleAuthManagerUser
    ) -> list[MenuItem]:
        role = _role(user)
        if role is None:
            return []
        if role == STAFF:
            return [m for m in menu_items if m not in STAFF_HIDDEN_MENU]
        return menu_items


# Password guessing against the hashed login: a user name that failed this many times in the
# last LOGIN_WINDOW_SECONDS is refused (429) until the window has passed, and at most
# LOGIN_CHECKS_AT_ONCE scrypt checks (~16 MB, tens of ms each) run at once per API worker, so a
# flood of logins queues instead of filling the server's memory and threads.
LOGIN_FAILURES_ALLOWED = 10
LOGIN_WINDOW_SECONDS = 60.0
LOGIN_CHECKS_AT_ONCE = 2
TOO_MANY_LOGINS = (
    "Terlalu banyak percobaan masuk yang gagal untuk pengguna ini; tunggu satu menit lalu coba lagi."
)


class LoginThrottle:
    """Failed logins per user name in a sliding window. Unknown names are counted like real ones,
    so a refusal tells nothing about which users exist. Bounded: expired names are dropped, and
    past ``max_names`` the oldest name goes."""

    def __init__(
        self,
        allowed: int = LOGIN_FAILURES_ALLOWED,
        window: float = LOGIN_WINDOW_SECONDS,
        max_names: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allowed, self.window, self.max_names, self.clock = allowed, window, max_names, clock
        self._failures: dict[str, list[float]] = {}

    def _recent(self, name: str) -> list[float]:
        now = self.clock()
        recent = [t for t in self._failures.get(name, ()) if now - t < self.window]
        if recent:
            self._failures[name] = recent
        else:
            self._failures.pop(name, None)
        return recent

    def blocked(self, name: str) -> bool:
        return len(self._recent(name)) >= self.allowed

    def failed(self, name: str) -> None:
        if name not in self._failures and len(self._failures) >= self.max_names:
            for old in list(self._failures):
                self._recent(old)
            if len(self._failures) >= self.max_names:
                del self._failures[next(iter(self._failures))]
        self._failures.setdefault(name, []).append(self.clock())


def _use_hashed_login(app: Any) -> None:
    """Put hash-checking ``POST /token`` and ``POST /token/cli`` in front of SimpleAuthManager's
    (same bodies and answers, so its login page and ``airflow`` CLI work unchanged), with
    :class:`LoginThrottle` and at most ``LOGIN_CHECKS_AT_ONCE`` hash checks at a time."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.configuration import conf

    router = APIRouter()
    throttle = LoginThrottle()
    checks = asyncio.Semaphore(LOGIN_CHECKS_AT_ONCE)

    async def token(body: LoginBody, expires: int) -> LoginResponse:
        if not body.username or not body.password:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "Username and password must be provided")
        if throttle.blocked(body.username):
            raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, TOO_MANY_LOGINS)
        async with checks:
            user = await asyncio.to_thread(check_login, body.username, body.password)
        if user is None:
            throttle.failed(body.username)
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Invalid credentials")
        return LoginResponse(
            access_token=get_auth_manager().generate_jwt(user=user, expiration_time_in_seconds=expires)
        )

    @router.post("/token", status_code=status.HTTP_201_CREATED)
    async def create_token(body: LoginBody = Depends(parse_login_body)) -> LoginResponse:  # noqa: B008
        return await token(body, conf.getint("api_auth", "jwt_expiration_time"))

    @router.post("/token/cli", status_code=status.HTTP_201_CREATED)
    async def create_token_cli(body: LoginBody) -> LoginResponse:
        return await token(body, conf.getint("api_auth", "jwt_cli_expiration_time"))

    app.router.routes[0:0] = router.routes
