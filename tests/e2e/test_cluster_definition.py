"""docker-compose.yaml and the native launcher (make run-cluster) run the same stack: both are
rendered from deploy/cluster.env, and the compose file is valid against the Compose Specification.

Fast (no stack is started); in tests/e2e because it is about the deployment, not the domain.
"""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import jsonschema
import pytest
import yaml

from sop_tasks.airflow.cluster import (
    SECRETS,
    ClusterError,
    NativeCluster,
    compose_environment,
    read_definition,
    render,
)
from sop_tasks.config import load_config
from tests.support.ports import free_ports

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yaml"
# Compose Specification schema, vendored from github.com/compose-spec/compose-spec
# (schema/compose-spec.json, Apache-2.0), so the check runs offline.
SCHEMA = REPO / "tests" / "data" / "compose-spec.json"
AIRFLOW_SERVICES = (
    "airflow-init",
    "api-server",
    "scheduler",
    "dag-processor",
    "triggerer",
    "worker-1",
    "worker-2",
)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def repo_cfg():
    return load_config(REPO / "config")


def test_compose_is_valid_against_the_compose_specification(compose):
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(compose, schema, cls=jsonschema.Draft7Validator)


def test_compose_schema_check_catches_a_broken_file(compose):
    broken = {
        **compose,
        "services": {**compose["services"], "redis": {**compose["services"]["redis"], "ports": 6379}},
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, json.loads(SCHEMA.read_text()), cls=jsonschema.Draft7Validator)


def test_compose_environment_is_rendered_from_the_definition(compose, repo_cfg):
    expected = compose_environment(repo_cfg)
    assert compose["x-airflow"]["environment"] == expected, (
        "docker-compose.yaml drifted from deploy/cluster.env; replace its environment block with "
        "`python -m sop_tasks.airflow.cluster compose-env`"
    )
    for name in AIRFLOW_SERVICES:
        env = compose["services"][name]["environment"]
        assert {k: env[k] for k in expected} == expected, name


def test_native_launcher_runs_every_process_with_the_same_settings(tmp_path, repo_cfg):
    native = NativeCluster(tmp_path / "c", ports=free_ports(), config_dir=REPO / "config")
    settings = native.settings()
    compose_env = compose_environment(repo_cfg)
    assert list(settings) == list(compose_env) == list(read_definition())
    # the values differ only where the definition has a placeholder (hosts, ports, paths, secrets)
    for key, template in read_definition().items():
        if "${" not in template:
            assert settings[key] == compose_env[key] == template, key
    env = native.env()
    assert {k: env[k] for k in settings} == settings
    assert settings["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert (
        settings["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
        == f"http://127.0.0.1:{native.ports.api}/execution/"
    )


def test_secrets_are_documented_never_committed_and_generated_private(tmp_path, compose):
    example = (REPO / ".env.example").read_text()
    for name in SECRETS:
        assert re.search(rf"^{name}=$", example, re.M), f".env.example must document {name} (empty)"
    text = COMPOSE.read_text()
    for name in SECRETS:
        assert f"${{{name}:?" in text
    assert ".env" in (REPO / ".gitignore").read_text().split()
    assert ".cluster/" in (REPO / ".gitignore").read_text().split()
    native = NativeCluster(tmp_path / "c", ports=free_ports(), config_dir=REPO / "config")
    first = native.secrets
    path = native.secrets_dir / "cluster.env"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(native.secrets_dir.stat().st_mode) == 0o700
    assert native.secrets == first  # generated once, kept
    from cryptography.fernet import Fernet

    Fernet(first["AIRFLOW__CORE__FERNET_KEY"].encode())  # a usable Fernet key
    assert len(set(first.values())) == len(SECRETS)


def test_every_service_has_a_health_check(compose):
    for name, svc in compose["services"].items():
        if name != "airflow-init":
            assert "healthcheck" in svc, name
    assert "/api/v2/monitor/health" in " ".join(compose["services"]["api-server"]["healthcheck"]["test"])
    assert ":8974/health" in " ".join(compose["services"]["scheduler"]["healthcheck"]["test"])
    assert "inspect ping" in " ".join(compose["services"]["worker-2"]["healthcheck"]["test"])
    for name in AIRFLOW_SERVICES[1:]:
        assert (
            compose["services"][name]["depends_on"]["airflow-init"]["condition"]
            == "service_completed_successfully"
        )


def test_a_placeholder_without_a_value_is_an_error():
    with pytest.raises(ClusterError, match="REDIS_PORT"):
        render({"X": "redis://h:${REDIS_PORT}/0"}, {})
