"""Fixtures that run the real Airflow: metadata DB, DagBag, the REST app as staff use it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.airflow_api import ApiClient

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Migrate the (session-private, SQLite) Airflow metadata DB once."""
    subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
        check=True,
        env=os.environ.copy(),
        capture_output=True,
    )


@pytest.fixture(scope="session")
def dagbag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(str(REPO / "dags"))
    assert not bag.import_errors, bag.import_errors
    return bag


@pytest.fixture(scope="session")
def rest_api(airflow_db) -> ApiClient:
    """The real Airflow API app (with our plugin's middleware), called in-process."""
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    client = TestClient(create_app())

    def call(method: str, path: str, **kw):
        return client.request(method, path, **kw)

    return ApiClient(call, Path(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]))
