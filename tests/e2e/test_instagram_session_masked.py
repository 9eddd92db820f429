"""The Instagram session Variable is masked like a secret by Airflow itself (REST API = the UI's
data, and task logs), and a session kept under the first, unmasked name moves over on first use."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from sop_tasks.airflow.hooks import INSTAGRAM_SESSION_VARIABLE, VariableSessionStore

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

SESSION = {
    "authorization_data": {"ds_user_id": "4242", "sessionid": "4242%3Arahasia-sesi-kantor%3A7"},
    "cookies": {"csrftoken": "token-csrf-kantor"},
    "uuids": {"phone_id": "11111111-2222-3333-4444-555555555555"},
}


def _variable(rest_api, key: str) -> dict:
    r = rest_api.request("admin", "GET", f"/api/v2/variables/{key}")
    assert r.status_code == 200, r.text
    return r.json()


def test_airflow_masks_the_session_variable_in_its_api(rest_api):
    for key in (INSTAGRAM_SESSION_VARIABLE, "sop_instagram_session"):
        r = rest_api.request(
            "admin", "POST", "/api/v2/variables", json={"key": key, "value": json.dumps(SESSION)}
        )
        assert r.status_code == 201, r.text
    try:
        shown = _variable(rest_api, INSTAGRAM_SESSION_VARIABLE)["value"]
        assert "rahasia-sesi-kantor" not in shown and "token-csrf-kantor" not in shown
        assert json.loads(shown)["authorization_data"]["sessionid"] == "***"
        listed = rest_api.request("admin", "GET", "/api/v2/variables", params={"limit": 100}).json()
        (entry,) = [v for v in listed["variables"] if v["key"] == INSTAGRAM_SESSION_VARIABLE]
        assert "rahasia-sesi-kantor" not in entry["value"]  # the list the UI shows, too
        # why the Variable was renamed: Airflow masks by the key's name, and the first name had
        # no sensitive word in it (its value was shown in clear in the UI and the API)
        from airflow._shared.secrets_masker import should_hide_value_for_key

        assert should_hide_value_for_key(INSTAGRAM_SESSION_VARIABLE)
        assert not should_hide_value_for_key("sop_instagram_session")
    finally:
        for key in (INSTAGRAM_SESSION_VARIABLE, "sop_instagram_session"):
            rest_api.request("admin", "DELETE", f"/api/v2/variables/{key}")


def _serialize(dag) -> None:
    """Write a DAG defined in this test to the metadata DB, as the dag-processor would
    (``dag.test()`` only writes the DAGs of the configured bundles)."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=str(Path(__file__).parent / "tidak-ada"))
    bag.bag_dag(dag)
    sync_bag_to_db(bag, "dags-folder", None)


def test_a_session_under_the_old_name_moves_to_the_masked_one_in_a_task(rest_api):
    from airflow.sdk import DAG, task

    r = rest_api.request(
        "admin",
        "POST",
        "/api/v2/variables",
        json={"key": "sop_instagram_session", "value": json.dumps(SESSION)},
    )
    assert r.status_code == 201, r.text
    try:

        @task
        def load_session() -> str:
            settings = VariableSessionStore().load()
            assert settings is not None
            return str(settings["authorization_data"]["ds_user_id"])

        with DAG(f"uji_sesi_instagram_{uuid.uuid4().hex[:6]}", schedule=None) as dag:
            load_session()
        _serialize(dag)
        dr = dag.test()
        assert str(getattr(dr.state, "value", dr.state)) == "success"
        # the session is kept under the masked name (no new login needed) and the old one is gone
        moved = _variable(rest_api, INSTAGRAM_SESSION_VARIABLE)
        assert json.loads(moved["value"])["authorization_data"]["sessionid"] == "***"
        assert rest_api.request("admin", "GET", "/api/v2/variables/sop_instagram_session").status_code == 404
        from airflow.models.variable import Variable

        assert json.loads(Variable.get(INSTAGRAM_SESSION_VARIABLE)) == SESSION  # intact, just masked
    finally:
        for key in (INSTAGRAM_SESSION_VARIABLE, "sop_instagram_session"):
            rest_api.request("admin", "DELETE", f"/api/v2/variables/{key}")
