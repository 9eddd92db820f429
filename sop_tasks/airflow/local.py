"""The embedded (``make run``) deployment: Airflow settings, users and their passwords.

``python -m sop_tasks.airflow.local env`` prints ``export`` lines for the shell;
``python -m sop_tasks.airflow.local users`` creates missing passwords and prints the file path.
Tests use the same functions, so what they run is what staff run.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import sys
from pathlib import Path

from sop_tasks.config import PROJECT_ROOT, OfficeConfig, load_config

PASSWORDS_FILE = "passwords.json"


def users(cfg: OfficeConfig) -> dict[str, str]:
    """Every local user and its SimpleAuthManager role (admin, op, user)."""
    return {"admin": "admin", **cfg.all_users()}


def airflow_env(
    home: Path, cfg: OfficeConfig, *, root: Path = PROJECT_ROOT, port: int = 8080
) -> dict[str, str]:
    """Environment for ``airflow standalone`` and tests: SQLite, WIB, our DAGs, plugins and users."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": cfg.timezone,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, r in users(cfg).items()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / PASSWORDS_FILE),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        # WAL and a 60 s busy timeout on every metadata connection (see sop_tasks/airflow/sqlite.py)
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS": "sop_tasks.airflow.sqlite.CONNECT_ARGS",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC": "sop_tasks.airflow.sqlite.CONNECT_ARGS_ASYNC",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
        "AIRFLOW__WEBSERVER__DEFAULT_UI_TIMEZONE": cfg.timezone,
        "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "10",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
    }


def ensure_passwords(home: Path, cfg: OfficeConfig) -> Path:
    """Give every configured user a generated password, keeping the ones already there."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / PASSWORDS_FILE
    current: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    changed = False
    for name in users(cfg):
        if name not in current:
            current[name] = secrets.token_urlsafe(12)
            changed = True
    if changed or not path.exists():
        path.write_text(json.dumps(current, indent=2) + "\n")
    path.chmod(0o600)
    return path


def main(argv: list[str]) -> int:
    cfg = load_config()
    home = Path(os.environ.get("AIRFLOW_HOME") or PROJECT_ROOT / ".airflow").resolve()
    port = int(os.environ.get("SOP_PORT", "8080"))
    if argv[:1] == ["env"]:
        for k, v in airflow_env(home, cfg, port=port).items():
            print(f"export {k}={shlex.quote(v)}")
        return 0
    if argv[:1] == ["users"]:
        print(ensure_passwords(home, cfg))
        return 0
    print("pakai: python -m sop_tasks.airflow.local env|users", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
