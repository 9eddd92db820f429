"""Logins against salted hashes (``[sop] password_hashes_file``): the production stack needs no
plaintext password file. The login app is the auth manager's own; the token it issues is then
used on the real API app."""

from __future__ import annotations

import pytest

from sop_tasks import passwords

pytestmark = pytest.mark.e2e


def test_hashed_login_issues_working_tokens_and_refuses_everything_else(rest_api, tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from sop_tasks.airflow.auth import SopAuthManager

    path = tmp_path / "hashes.json"
    passwords.set_password(path, "kadis", "sandi-kadis-panjang")
    passwords.set_password(path, "pengelola_ti", "sandi-pengelola-ti")
    passwords.set_password(path, "orang_lama", "sandi-orang-lama")  # hashed, but not in office.yaml
    monkeypatch.setenv(passwords.ENV_FILE, str(path))
    plain_file = tmp_path / "plain.json"
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(plain_file))
    manager = SopAuthManager()
    manager.init()
    assert not plain_file.exists()  # no plaintext passwords generated in hash mode
    login = TestClient(manager.get_fastapi_app())

    def token(user: str, password: str, *, form: bool = False, cli: bool = False) -> int | str:
        url = "/token/cli" if cli else "/token"
        body = {"username": user, "password": password}
        r = login.post(url, data=body) if form else login.post(url, json=body)
        return r.json()["access_token"] if r.status_code == 201 else r.status_code

    assert token("kadis", "sandi-kadis-salah") == 401
    assert token("orang_lama", "sandi-orang-lama") == 401
    assert token("kabid", rest_api._passwords["kabid"]) == 401  # no hash: the plaintext file is not used
    assert token("kadis", "") == 400
    kadis = token("kadis", "sandi-kadis-panjang")
    officer = token("pengelola_ti", "sandi-pengelola-ti", form=True)
    assert isinstance(token("kadis", "sandi-kadis-panjang", cli=True), str)
    assert isinstance(kadis, str) and isinstance(officer, str)

    def call(tok: str, method: str, path: str, **kw: object) -> int:
        return int(rest_api._call(method, path, headers={"Authorization": f"Bearer {tok}"}, **kw).status_code)

    trigger = {"logical_date": None, "conf": {"title": "", "body": "", "channels": ["twitter"]}}
    assert call(kadis, "GET", "/api/v2/dags") == 200
    assert call(kadis, "POST", "/api/v2/dags/sop_publish/dagRuns", json=trigger) == 403
    assert call(officer, "GET", "/api/v2/connections") == 200
    assert (
        call(officer, "POST", "/api/v2/connections", json={"connection_id": "x", "conn_type": "http"}) == 403
    )
