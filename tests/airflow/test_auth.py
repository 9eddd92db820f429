"""The role matrix of the SOP auth manager, called as Airflow calls it (no running server)."""

from __future__ import annotations

import pytest
from airflow.api_fastapi.auth.managers.models.resource_details import (
    ConnectionDetails,
    DagAccessEntity,
    DagDetails,
    VariableDetails,
)
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from airflow.api_fastapi.common.types import MenuItem

from sop_tasks.airflow import auth, local

E = DagAccessEntity


@pytest.fixture(scope="module")
def manager() -> auth.SopAuthManager:
    return auth.SopAuthManager()


def _user(manager: auth.SopAuthManager, name: str, claimed: str = "admin") -> SimpleAuthManagerUser:
    """The user as Airflow rebuilds it from a token — whatever role the token claims."""
    return manager.deserialize_user({"sub": name, "role": claimed})


def test_embedded_env_uses_the_sop_auth_manager_and_enables_the_connection_test(office_cfg, tmp_path):
    env = local.airflow_env(tmp_path, office_cfg)
    assert env["AIRFLOW__CORE__AUTH_MANAGER"] == "sop_tasks.airflow.auth.SopAuthManager"
    assert env["AIRFLOW__CORE__TEST_CONNECTION"] == "Enabled"
    roles = dict(pair.split(":") for pair in env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].split(","))
    assert roles["admin"] == "admin" and roles["pengelola_ti"] == "op"
    for staff in ("kasubag", "kabid", "plt_kabid", "kadis", "bidang_perpustakaan", "sekretariat"):
        assert roles[staff] == "viewer", staff


def test_airflow_cfg_with_its_keys_is_written_once_before_any_component_starts(office_cfg, tmp_path):
    """On a fresh home the four components of ``standalone`` each generated their own JWT secret
    (only the ``airflow`` command writes airflow.cfg): every task of the first ``make run`` failed
    with "Signature verification failed". The launcher writes the file first; later starts keep it."""
    import os
    import subprocess
    import sys

    env = {**os.environ, **local.airflow_env(tmp_path, office_cfg)}
    env.pop("AIRFLOW__API_AUTH__JWT_SECRET", None)  # as `make run`: the test suite sets one
    env.pop("AIRFLOW_CONFIG", None)
    code = "from sop_tasks.airflow.local import write_airflow_cfg; write_airflow_cfg()"

    def keys() -> dict[str, str]:
        subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
        lines = (tmp_path / "airflow.cfg").read_text().splitlines()
        wanted = ("jwt_secret =", "fernet_key =")
        found = dict(line.split(" = ", 1) for line in lines if line.startswith(wanted))
        assert all(found.get(k, "").strip() for k in ("jwt_secret", "fernet_key")), found
        return found

    first = keys()
    assert keys() == first  # a restart keeps the keys (tokens and encrypted connections stay valid)
    assert oct((tmp_path / "airflow.cfg").stat().st_mode & 0o077) == "0o0"  # not for group/others


def test_the_role_comes_from_the_current_user_list_not_from_the_token(manager):
    assert _user(manager, "kadis").role == "viewer"  # a forged/old "admin" claim counts for nothing
    assert _user(manager, "pengelola_ti", "viewer").role == "op"
    gone = _user(manager, "mantan_pegawai")
    assert gone.role is None
    assert not manager.is_authorized_dag(method="GET", user=gone, details=DagDetails(id="sop_publish"))
    assert manager.filter_authorized_menu_items(list(MenuItem), user=gone) == []


# (method, entity) → who may, on sop_publish. The e2e matrix checks the same over HTTP.
DAG_CASES = [
    ("GET", None, {"admin", "op", "viewer"}),
    ("GET", E.TASK_LOGS, {"admin", "op", "viewer"}),
    ("GET", E.HITL_DETAIL, {"admin", "op", "viewer"}),
    ("PUT", E.HITL_DETAIL, {"admin", "op", "viewer"}),  # then only if assigned (Airflow checks)
    ("POST", E.RUN, {"admin", "op"}),  # trigger
    ("PUT", E.RUN, {"admin", "op"}),  # run state
    ("PUT", E.TASK_INSTANCE, {"admin", "op"}),  # mark, clear
    ("DELETE", E.RUN, {"admin"}),
    ("DELETE", E.TASK_INSTANCE, {"admin"}),
    ("POST", E.XCOM, {"admin"}),
    ("PUT", E.XCOM, {"admin"}),
    ("PUT", None, {"admin"}),  # pause, edit the DAG
    ("DELETE", None, {"admin"}),
]


@pytest.mark.parametrize(("method", "entity", "who"), DAG_CASES)
def test_dag_matrix(manager, method, entity, who):
    users = {"admin": "admin", "op": "pengelola_ti", "viewer": "kasubag"}
    for role, name in users.items():
        ok = manager.is_authorized_dag(
            method=method,
            access_entity=entity,
            details=DagDetails(id="sop_publish"),
            user=_user(manager, name),
        )
        assert ok == (role in who), (method, entity, role)


def test_the_officer_runs_only_the_projects_dags(manager):
    officer = _user(manager, "pengelola_ti")
    for dag_id, expected in (("sop_update", True), ("sop_follow_up", True), ("lain", False), (None, False)):
        ok = manager.is_authorized_dag(
            method="POST", access_entity=E.RUN, details=DagDetails(id=dag_id), user=officer
        )
        assert ok is expected, dag_id


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_connections_variables_pools_config(manager, method):
    for name, may in (
        ("admin", True),
        ("pengelola_ti", method == "GET"),
        ("kadis", False),
        ("sekretariat", False),
    ):
        user = _user(manager, name)
        assert (
            manager.is_authorized_connection(method=method, user=user, details=ConnectionDetails("x")) is may
        )
        assert manager.is_authorized_variable(method=method, user=user, details=VariableDetails("x")) is may
        assert manager.is_authorized_pool(method=method, user=user) is may
        assert manager.is_authorized_configuration(method=method, user=user) is may


def test_staff_menus_leave_out_admin_pages(manager):
    staff = manager.filter_authorized_menu_items(list(MenuItem), user=_user(manager, "bidang_kearsipan"))
    assert MenuItem.REQUIRED_ACTIONS in staff and MenuItem.DAGS in staff
    assert not {MenuItem.CONNECTIONS, MenuItem.VARIABLES, MenuItem.POOLS, MenuItem.CONFIG} & set(staff)
    assert set(
        manager.filter_authorized_menu_items(list(MenuItem), user=_user(manager, "pengelola_ti"))
    ) == set(MenuItem)


def test_login_throttle_counts_failures_per_name_in_a_window():
    now = [0.0]
    throttle = auth.LoginThrottle(allowed=3, window=60, max_names=2, clock=lambda: now[0])
    for _ in range(3):
        assert not throttle.blocked("kadis")
        throttle.failed("kadis")
    assert throttle.blocked("kadis") and not throttle.blocked("kabid")
    now[0] = 61.0
    assert not throttle.blocked("kadis")  # the window has passed
    throttle.failed("a")
    throttle.failed("b")
    throttle.failed("c")  # past max_names the oldest name goes: memory stays bounded
    assert set(throttle._failures) == {"b", "c"}


def test_hashed_login_refuses_guessing_without_telling_which_users_exist(tmp_path, monkeypatch):
    """Eleven wrong passwords for a name in a minute: the next try is refused (429, Indonesian)
    even with the right password, and an unknown name is treated exactly the same way."""
    from fastapi.testclient import TestClient

    from sop_tasks import passwords

    path = tmp_path / "hashes.json"
    passwords.set_password(path, "kadis", "sandi-kadis-panjang")
    monkeypatch.setenv(passwords.ENV_FILE, str(path))
    login = TestClient(auth.SopAuthManager().get_fastapi_app())
    for name in ("kadis", "tidak_ada"):
        codes = [
            login.post("/token", json={"username": name, "password": f"salah-{i}"}).status_code
            for i in range(auth.LOGIN_FAILURES_ALLOWED)
        ]
        assert codes == [401] * auth.LOGIN_FAILURES_ALLOWED
        r = login.post("/token/cli", json={"username": name, "password": "sandi-kadis-panjang"})
        assert r.status_code == 429 and r.json()["detail"] == auth.TOO_MANY_LOGINS
    r = login.post("/token", json={"username": "kabid", "password": "salah"})
    assert r.status_code == 401  # other names are not affected
