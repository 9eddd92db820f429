"""The embedded (``make run``) deployment: Airflow settings, users and their passwords.

``python -m sop_tasks.airflow.local env`` prints ``export`` lines for the shell;
``python -m sop_tasks.airflow.local users`` creates missing passwords and prints the file path;
``python -m sop_tasks.airflow.local standalone`` starts the stack (``airflow standalone`` with the
SOP auth manager kept, see :func:`run_standalone`).
Tests use the same functions, so what they run is what staff run.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import sys
import time
from pathlib import Path

from sop_tasks.config import PROJECT_ROOT, OfficeConfig, load_config

PASSWORDS_FILE = "passwords.json"
AUTH_MANAGER = "sop_tasks.airflow.auth.SopAuthManager"
# The roles of sop_tasks.airflow.auth (defined here: this module must not import Airflow, whose
# configuration is read from the environment this module builds).
ADMIN, OFFICER, STAFF = "admin", "op", "viewer"


def users(cfg: OfficeConfig) -> dict[str, str]:
    """Every local user and its role in :mod:`sop_tasks.airflow.auth` (admin, op, viewer).

    The officers are ``op``; every other staff user named in the config (verifiers, acting
    officials, bidang) is ``viewer``: they see and answer what is assigned to them, nothing else.
    """
    roles = {"op": OFFICER}
    return {"admin": ADMIN, **{u: roles.get(r, STAFF) for u, r in cfg.all_users().items()}}


WORKER_LOG_PORT = "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"
TRIGGER_LOG_PORT = "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT"


def log_server_ports(port: int) -> tuple[int, int]:
    """The scheduler's and the triggerer's log-server ports of a stack whose UI is on ``port``.

    Airflow's are fixed (8793, 8794), so a second ``make run`` on ``SOP_PORT=8081`` beside the
    first one shared them: its log servers could not bind and the live log of its running tasks
    did not load. Each UI port has its own pair: 8080 keeps Airflow's, 8081 gets 8795/8796, 8082
    8797/8798, … (wrapped into 1024–65534 for very high ports). Set either variable in the
    environment to choose it yourself.
    """
    worker = 1024 + (8793 - 1024 + 2 * (port - 8080)) % (65534 - 1024)
    return worker, worker + 1


def airflow_env(
    home: Path, cfg: OfficeConfig, *, root: Path = PROJECT_ROOT, port: int = 8080
) -> dict[str, str]:
    """Environment for ``airflow standalone`` and tests: SQLite, WIB, our DAGs, plugins and users."""
    worker_log, trigger_log = log_server_ports(port)
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": cfg.timezone,
        "AIRFLOW__CORE__AUTH_MANAGER": AUTH_MANAGER,
        # The Test button of the Connections form; Airflow lets only those who may create a
        # connection (the admin, see sop_tasks.airflow.auth) use it.
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, r in users(cfg).items()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / PASSWORDS_FILE),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        # WAL and a 60 s busy timeout on every metadata connection (see sop_tasks/airflow/sqlite.py)
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS": "sop_tasks.airflow.sqlite.CONNECT_ARGS",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC": "sop_tasks.airflow.sqlite.CONNECT_ARGS_ASYNC",
        # No connection pool: opening a SQLite file costs well under a millisecond, and a pool's
        # checkout WAITS when every connection is lent out. Airflow checks a token on the
        # api-server's event loop (revoked tokens); with the pool lent to requests that need that
        # loop to finish, the whole server froze for the pool's 30 s timeout and answered 500.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_ENABLED": "False",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
        WORKER_LOG_PORT: os.environ.get(WORKER_LOG_PORT) or str(worker_log),
        TRIGGER_LOG_PORT: os.environ.get(TRIGGER_LOG_PORT) or str(trigger_log),
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


def standalone_command() -> list[str]:
    """The command that starts the embedded stack (use it instead of ``airflow standalone``)."""
    return [sys.executable, "-m", "sop_tasks.airflow.local", "standalone"]


def write_airflow_cfg() -> None:
    """Write ``$AIRFLOW_HOME/airflow.cfg`` with its generated Fernet key and JWT secret, once,
    before any component starts. Only the ``airflow`` command writes it; ``standalone`` starts four
    of them at once, and on a fresh home each generated its own secrets: the scheduler signed the
    tasks' tokens with a key the api-server rejected ("Signature verification failed"), so every
    task of the first ``make run`` failed, and connections could be encrypted with a key the
    workers do not have. Later starts read the file and keep its keys."""
    from airflow.configuration import write_default_airflow_configuration_if_needed

    write_default_airflow_configuration_if_needed()


def run_standalone() -> None:
    """Airflow's ``standalone`` (scheduler, dag-processor, triggerer, api-server) with this
    project's auth manager kept: ``airflow standalone`` itself replaces any configured auth
    manager by SimpleAuthManager in its components' environment, which would give every officer
    SimpleAuthManager's "op" rights (connections, variables) and every verifier its viewer rights
    (pools) instead of the SOP's roles."""
    write_airflow_cfg()
    from airflow.cli.commands.standalone_command import StandaloneCommand, SubCommand

    wanted = os.environ.get("AIRFLOW__CORE__AUTH_MANAGER") or AUTH_MANAGER

    class _Standalone(StandaloneCommand):
        def __init__(self) -> None:
            super().__init__()
            self.keeper = Restarts()

        def calculate_env(self) -> dict[str, str]:
            env = dict(super().calculate_env())
            env["AIRFLOW__CORE__AUTH_MANAGER"] = wanted
            os.environ["AIRFLOW__CORE__AUTH_MANAGER"] = wanted
            return env

        def update_output(self) -> None:  # called every 0.1 s by the main loop
            super().update_output()
            for name, cmd in list(self.subcommands.items()):
                code = None if cmd.process is None else cmd.process.poll()
                verdict = self.keeper.check(name, code, time.monotonic())
                if verdict == RESTART:
                    self.print_error("standalone", f"{name} berhenti (kode {code}); dijalankan ulang")
                    again = SubCommand(self, name=name, command=cmd.command, env=cmd.env)
                    again.start()
                    self.subcommands[name] = again
                elif verdict == GIVE_UP:
                    self.print_error(
                        "standalone",
                        f"{name} berhenti {MAX_RESTARTS} kali dalam {int(RESTART_WINDOW_S / 60)} menit; "
                        "tidak dijalankan ulang lagi. Baca pesan di atas, lalu hentikan (Ctrl-C) dan "
                        "jalankan make run lagi.",
                    )

    _Standalone().run()


RESTART, GIVE_UP = "restart", "give_up"
RESTART_DELAY_S = 10.0
MAX_RESTARTS = 5
RESTART_WINDOW_S = 600.0


class Restarts:
    """When a component of the embedded stack that exited is started again.

    ``airflow standalone`` never restarts a component: a scheduler that exits (on SQLite it does
    when a write waited past the busy timeout, "database is locked", under a burst of runs) left
    ``make run`` up but nothing scheduled — no sweeps, no reminders, no uploads — until someone
    noticed. A component that exited is started again after ``RESTART_DELAY_S`` (a stop by Ctrl-C
    or SIGTERM ends this process first, so nothing is restarted while stopping), at most
    ``MAX_RESTARTS`` times in ``RESTART_WINDOW_S``; then it is given up on, loudly.
    """

    def __init__(self) -> None:
        self.exited: dict[str, float] = {}
        self.history: dict[str, list[float]] = {}
        self.given_up: set[str] = set()

    def check(self, name: str, code: int | None, now: float) -> str | None:
        if code is None or name in self.given_up:
            return None
        since = self.exited.setdefault(name, now)
        if now - since < RESTART_DELAY_S:
            return None
        recent = [t for t in self.history.get(name, []) if now - t < RESTART_WINDOW_S]
        del self.exited[name]
        if len(recent) >= MAX_RESTARTS:
            self.given_up.add(name)
            return GIVE_UP
        self.history[name] = [*recent, now]
        return RESTART


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
    if argv[:1] == ["standalone"]:
        run_standalone()
        return 0
    print("pakai: python -m sop_tasks.airflow.local env|users|standalone", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
