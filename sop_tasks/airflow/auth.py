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

from typing import TYPE_CHECKING, Any

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from airflow.api_fastapi.common.types import MenuItem

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


class SopAuthManager(SimpleAuthManager):
    """SimpleAuthManager's users, passwords and login page with the SOP's role matrix."""

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
