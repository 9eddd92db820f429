"""The production stack (CeleryExecutor, PostgreSQL, Redis), run natively or rendered for compose.

One definition, ``deploy/cluster.env``, holds every setting of the stack. It is rendered two ways:

- for ``docker-compose.yaml`` (``python -m sop_tasks.airflow.cluster compose-env`` prints the
  block; a test fails when the compose file drifts from it), with service names as hosts and the
  secrets left as ``${NAME:?…}`` for compose to take from ``.env``;
- for this machine (``make run-cluster``): a private PostgreSQL cluster (Debian's
  ``postgresql`` binaries, its own data dir, port and socket dir), ``redis-server`` with a
  password, ``airflow api-server``, ``scheduler``, ``dag-processor``, ``triggerer`` and two
  ``airflow celery worker``\\ s, all on 127.0.0.1, each in its own process group so that
  ``make stop-cluster`` or Ctrl-C stops everything it started.

``python -m sop_tasks.airflow.cluster init`` is the init step both use: it creates the records
database and its role, runs ``airflow db migrate`` and the records' Alembic migrations, and gives
the office's users (``config/office.yaml``) their passwords file.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sop_tasks.config import PROJECT_ROOT, OfficeConfig, load_config

DEFINITION = PROJECT_ROOT / "deploy" / "cluster.env"
DEFAULT_ROOT = PROJECT_ROOT / ".cluster"
SECRETS = (
    "POSTGRES_PASSWORD",
    "SOP_LEDGER_PASSWORD",
    "REDIS_PASSWORD",
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY",
)
# Where things are, as compose sees them (service names, the image's paths).
COMPOSE_PLACES = {
    "POSTGRES_HOST": "postgres",
    "POSTGRES_PORT": "5432",
    "REDIS_HOST": "redis",
    "REDIS_PORT": "6379",
    "API_HOST": "api-server",
    "API_PORT": "8080",
    "API_BIND": "0.0.0.0",  # noqa: S104 - inside its container, published by compose
    "API_WORKERS": "2",
    "SCHEDULER_HEALTH_PORT": "8974",
    "SOP_ROOT": "/opt/sop",
    "SOP_CONFIG_DIR": "/opt/sop/config",
    "SOP_SECRETS_DIR": "/opt/sop/secrets",
}
# The Airflow processes of the stack, in start order (workers are added by count).
SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")
_VAR = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


class ClusterError(RuntimeError):
    """The native stack could not be prepared or started (message in Indonesian)."""


# ---- the definition ----------------------------------------------------------------------------
def read_definition(path: Path = DEFINITION) -> dict[str, str]:
    """``KEY=VALUE`` lines of the definition, in order (comments and blank lines skipped)."""
    out: dict[str, str] = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ClusterError(f"{path}:{n}: baris harus berbentuk NAMA=nilai")
        out[key.strip()] = value.strip()
    return out


def render(template: Mapping[str, str], values: Mapping[str, str]) -> dict[str, str]:
    """Fill every ``${NAME}``; a name without a value is an error, never an empty string."""
    missing: set[str] = set()

    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in values:
            missing.add(m.group(1))
            return ""
        return values[m.group(1)]

    out = {k: _VAR.sub(sub, v) for k, v in template.items()}
    if missing:
        raise ClusterError(f"nilai untuk {', '.join(sorted(missing))} belum ada ({DEFINITION.name})")
    return out


def users_value(cfg: OfficeConfig) -> str:
    from sop_tasks.airflow.local import users

    return ",".join(f"{u}:{r}" for u, r in users(cfg).items())


def compose_environment(cfg: OfficeConfig, definition: Path = DEFINITION) -> dict[str, str]:
    """The ``environment`` every Airflow service of docker-compose.yaml must have."""
    values = dict(COMPOSE_PLACES)
    values.update({s: f"${{{s}:?isi {s} di .env (lihat .env.example)}}" for s in SECRETS})
    values["SOP_USERS"] = users_value(cfg)
    return render(read_definition(definition), values)


def generate_secrets() -> dict[str, str]:
    from cryptography.fernet import Fernet

    out = {s: secrets.token_urlsafe(32) for s in SECRETS}
    out["AIRFLOW__API_AUTH__JWT_SECRET"] = secrets.token_urlsafe(64)  # HS512 wants 64 bytes or more
    out["AIRFLOW__CORE__FERNET_KEY"] = Fernet.generate_key().decode()
    return out


def load_or_create_secrets(path: Path) -> dict[str, str]:
    """The native stack's secrets: generated once, kept in ``path`` (mode 0600), never printed."""
    current: dict[str, str] = {}
    if path.exists():
        current = {k: v for k, v in read_definition(path).items() if k in SECRETS}
    fresh = generate_secrets()
    if any(s not in current for s in SECRETS):
        current = {s: current.get(s) or fresh[s] for s in SECRETS}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("# Rahasia tumpukan produksi lokal (make run-cluster). Jangan dibagikan.\n")
            fh.writelines(f"{k}={v}\n" for k, v in current.items())
    path.chmod(0o600)
    return current


# ---- the native stack ------------------------------------------------------------------------
def pg_bindir() -> Path:
    """Debian's PostgreSQL server binaries (``$SOP_PG_BINDIR`` overrides)."""
    if os.environ.get("SOP_PG_BINDIR"):
        return Path(os.environ["SOP_PG_BINDIR"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("postgres")
    if on_path:
        return Path(on_path).parent
    raise ClusterError(
        "PostgreSQL tidak ditemukan; pasang paket Debian 'postgresql' (atau atur SOP_PG_BINDIR)"
    )


def redis_server() -> str:
    found = shutil.which("redis-server")
    if not found:
        raise ClusterError("redis-server tidak ditemukan; pasang paket Debian 'redis-server'")
    return found


@dataclass
class Ports:
    api: int = 8080
    postgres: int = 55432
    redis: int = 56379
    scheduler_health: int = 58974
    triggerer_log: int = 58794
    worker_log: list[int] = field(default_factory=lambda: [58793, 58795])


def _as_postgres_user() -> Callable[[], None] | None:
    """PostgreSQL refuses to run as root: when we are root, its processes run as ``postgres``."""
    if os.geteuid() != 0:
        return None
    import pwd

    pw = pwd.getpwnam("postgres")

    def demote() -> None:
        os.setgid(pw.pw_gid)
        os.setgroups([])
        os.setuid(pw.pw_uid)

    return demote


class NativeCluster:
    """The stack of deploy/cluster.env on loopback, under ``root`` (default ``.cluster/``)."""

    def __init__(
        self,
        root: Path = DEFAULT_ROOT,
        *,
        ports: Ports | None = None,
        workers: int = 2,
        project: Path = PROJECT_ROOT,
        config_dir: Path | None = None,
        extra_env: Mapping[str, str] | None = None,
        pg_options: tuple[str, ...] = (),
    ) -> None:
        self.root = root.resolve()
        self.project = project
        self.config_dir = (
            config_dir or Path(os.environ.get("SOP_CONFIG_DIR") or project / "config")
        ).resolve()
        self.workers = workers
        self.ports = ports or self._saved_ports() or Ports()
        self.extra_env = dict(extra_env or {})
        self.pg_options = pg_options
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.launcher = False  # set by `up`: `down` then asks this process to stop the stack
        self.bin = Path(sys.executable).parent
        self.pgdata = self.root / "postgres" / "data"
        self.pgsock = self.root / "postgres" / "run"
        self.logs = self.root / "logs"
        self.home = self.root / "airflow"
        self.secrets_dir = self.root / "secrets"

    # -- settings
    def _saved_ports(self) -> Ports | None:
        state = self.root / "state.json"
        if state.exists():
            return Ports(**json.loads(state.read_text())["ports"])
        return None

    @property
    def secrets(self) -> dict[str, str]:
        return load_or_create_secrets(self.secrets_dir / "cluster.env")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}"

    def values(self) -> dict[str, str]:
        cfg = load_config(self.config_dir)
        return {
            **self.secrets,
            "POSTGRES_HOST": "127.0.0.1",
            "POSTGRES_PORT": str(self.ports.postgres),
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": str(self.ports.redis),
            "API_HOST": "127.0.0.1",
            "API_PORT": str(self.ports.api),
            "API_BIND": "127.0.0.1",
            "API_WORKERS": "1",
            "SCHEDULER_HEALTH_PORT": str(self.ports.scheduler_health),
            "SOP_ROOT": str(self.project),
            "SOP_CONFIG_DIR": str(self.config_dir),
            "SOP_SECRETS_DIR": str(self.secrets_dir),
            "SOP_USERS": users_value(cfg),
        }

    def settings(self) -> dict[str, str]:
        """deploy/cluster.env rendered for this machine (what every Airflow process gets)."""
        return render(read_definition(), self.values())

    def env(self, **more: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(self.settings())
        env.update(self.extra_env)
        env.update(
            AIRFLOW_HOME=str(self.home),
            PATH=f"{self.bin}:{os.environ.get('PATH', '')}",
            AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(self.ports.triggerer_log),
        )
        env.update(more)
        return env

    # -- processes
    def _spawn(
        self, name: str, argv: list[str], env: Mapping[str, str], **kw: Any
    ) -> subprocess.Popen[bytes]:
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen(
                argv, env=dict(env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **kw
            )
        self.procs[name] = proc
        self._save_state()
        return proc

    def _save_state(self) -> None:
        state: dict[str, Any] = {
            "ports": self.ports.__dict__,
            "pids": {n: p.pid for n, p in self.procs.items() if p.poll() is None},
        }
        if self.launcher:
            state["launcher"] = os.getpid()
        (self.root / "state.json").write_text(json.dumps(state, indent=2) + "\n")

    def log_tail(self, name: str, n: int = 60) -> str:
        path = self.logs / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])

    def start_postgres(self) -> None:
        demote = _as_postgres_user()
        bindir = pg_bindir()
        pg = self.root / "postgres"
        pg.mkdir(parents=True, exist_ok=True)
        for d in (self.root, pg):
            d.chmod(
                d.stat().st_mode | 0o711
            )  # the server (user postgres when we are root) must reach its dirs
        self.pgsock.mkdir(parents=True, exist_ok=True)
        owner: tuple[int, int] | None = None
        if demote is not None:
            import pwd

            pw = pwd.getpwnam("postgres")
            owner = (pw.pw_uid, pw.pw_gid)
            for d in self.root.parents:  # the server runs as postgres: it must reach its data dir
                st = d.stat()
                if not st.st_mode & 0o001 and st.st_uid != pw.pw_uid:
                    raise ClusterError(
                        f"folder {d} tidak dapat dimasuki pengguna postgres; jalankan `chmod o+x {d}` "
                        "atau pilih folder lain dengan SOP_CLUSTER_ROOT"
                    )
            os.chown(self.pgsock, *owner)
        self.pgsock.chmod(0o700)
        if not (self.pgdata / "PG_VERSION").exists():
            self.pgdata.mkdir(parents=True, exist_ok=True)
            if owner:
                os.chown(self.pgdata, *owner)
            pwfile = pg / "initdb.pw"
            fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(self.secrets["POSTGRES_PASSWORD"] + "\n")
            if owner:
                os.chown(pwfile, *owner)
            try:
                # Like the postgres image: superuser `airflow`, trust on the private socket only,
                # passwords (SCRAM) over TCP.
                out = subprocess.run(
                    [str(bindir / "initdb"), "-D", str(self.pgdata), "-U", "airflow", f"--pwfile={pwfile}",
                     "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale",
                     "--no-sync"],
                    capture_output=True, text=True, preexec_fn=demote, check=False,
                )  # fmt: skip
            finally:
                pwfile.unlink(missing_ok=True)
            if out.returncode != 0:
                raise ClusterError(f"initdb gagal:\n{out.stdout}\n{out.stderr}")
        options = ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300", *self.pg_options]
        self._spawn(
            "postgres",
            [str(bindir / "postgres"), "-D", str(self.pgdata), "-p", str(self.ports.postgres),
             "-k", str(self.pgsock), *options],
            os.environ, preexec_fn=demote,
        )  # fmt: skip
        self._wait(lambda: self._pg_ready(bindir), 60, "postgres")
        self._psql_socket("airflow", "SELECT 1")
        if not self._psql_socket("postgres", "SELECT 1 FROM pg_database WHERE datname = 'airflow'").strip():
            self._psql_socket("postgres", "CREATE DATABASE airflow OWNER airflow")

    def _pg_ready(self, bindir: Path) -> bool:
        r = subprocess.run(
            [str(bindir / "pg_isready"), "-q", "-h", str(self.pgsock), "-p", str(self.ports.postgres)],
            check=False,
        )
        return r.returncode == 0

    def _psql_socket(self, db: str, sql: str) -> str:
        out = subprocess.run(
            [str(pg_bindir() / "psql"), "-h", str(self.pgsock), "-p", str(self.ports.postgres),
             "-U", "airflow",
             "-d", db, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if out.returncode != 0 and "does not exist" not in out.stderr:
            raise ClusterError(f"psql gagal: {out.stderr.strip()}")
        return out.stdout

    def start_redis(self) -> None:
        d = self.root / "redis"
        d.mkdir(parents=True, exist_ok=True)
        conf = d / "redis.conf"
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(
                f"port {self.ports.redis}\nbind 127.0.0.1\nprotected-mode yes\ndir {d}\n"
                f'requirepass {self.secrets["REDIS_PASSWORD"]}\nappendonly yes\nsave ""\ndaemonize no\n'
            )
        self._spawn("redis", [redis_server(), str(conf)], os.environ)
        self._wait(lambda: self._redis_ping(), 30, "redis")

    def _redis_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.ports.redis), timeout=2) as s:
                s.sendall(f"AUTH {self.secrets['REDIS_PASSWORD']}\r\nPING\r\n".encode())
                time.sleep(0.05)
                return b"+PONG" in s.recv(100)
        except OSError:
            return False

    def init(self) -> None:
        """The shared init step (as compose's airflow-init runs it)."""
        out = subprocess.run(
            [str(self.bin / "python"), "-m", "sop_tasks.airflow.cluster", "init"],
            env=self.env(), capture_output=True, text=True, check=False,
        )  # fmt: skip
        (self.logs / "init.log").write_text(out.stdout + out.stderr)
        if out.returncode != 0:
            raise ClusterError(f"langkah init gagal:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")

    def airflow_argv(self, name: str) -> list[str]:
        airflow = str(self.bin / "airflow")
        if name.startswith("worker-"):
            n = name.removeprefix("worker-")
            return [airflow, "celery", "worker", "--celery-hostname", f"worker{n}@%h"]
        return [airflow, name]

    def worker_names(self) -> list[str]:
        return [f"worker-{i + 1}" for i in range(self.workers)]

    def start_component(self, name: str) -> subprocess.Popen[bytes]:
        more: dict[str, str] = {}
        if name.startswith("worker-"):
            more["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] = str(self.ports.worker_log[int(name[7:]) - 1])
        return self._spawn(name, self.airflow_argv(name), self.env(**more))

    def start(self, timeout: float = 300) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for d in (self.home, self.logs):
            d.mkdir(parents=True, exist_ok=True)
        self.start_postgres()
        self.start_redis()
        self.init()
        for name in (*SERVICES, *self.worker_names()):
            self.start_component(name)
        self.wait_healthy(timeout)

    # -- health (the checks of Airflow's official compose)
    def health(self) -> dict[str, bool]:
        import requests

        out: dict[str, bool] = {}
        try:
            r = requests.get(f"{self.base_url}/api/v2/monitor/health", timeout=5)
            body = r.json() if r.status_code == 200 else {}
            out["api-server"] = body.get("metadatabase", {}).get("status") == "healthy"
        except (requests.RequestException, ValueError):
            out["api-server"] = False
        try:
            r = requests.get(f"http://127.0.0.1:{self.ports.scheduler_health}/health", timeout=5)
            out["scheduler"] = r.status_code == 200
        except requests.RequestException:
            out["scheduler"] = False
        return out

    def workers_ping(self) -> bool:
        """``celery inspect ping`` of every worker, as the official compose's health check."""
        host = socket.gethostname()
        dest = ",".join(f"worker{n.removeprefix('worker-')}@{host}" for n in self.worker_names())
        r = subprocess.run(
            [str(self.bin / "celery"), "--app", "airflow.providers.celery.executors.celery_executor.app",
             "inspect", "ping", "-d", dest, "--timeout", "5"],
            env=self.env(), capture_output=True, text=True, check=False,
        )  # fmt: skip
        return r.returncode == 0 and r.stdout.count("pong") >= self.workers

    def wait_healthy(self, timeout: float = 300) -> None:
        def ok() -> bool:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise ClusterError(f"{name} berhenti (kode {p.returncode}):\n{self.log_tail(name)}")
            return all(self.health().values())

        self._wait(ok, timeout, "api-server/scheduler")
        self._wait(self.workers_ping, timeout, "celery worker")

    def _wait(self, cond: Callable[[], bool], timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise ClusterError(
                    f"{what} belum siap setelah {timeout:.0f} detik:\n{self.log_tail(what.split('/')[0])}"
                )
            time.sleep(0.5)

    # -- stopping
    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal one component's whole process group (fault tests, restarts)."""
        proc = self.procs[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        if sig == signal.SIGKILL:
            proc.wait(30)

    def stop_component(self, name: str, grace: float = 30) -> None:
        proc = self.procs.get(name)
        if proc is None:
            return
        _stop_group(proc.pid, signal.SIGINT if name == "postgres" else signal.SIGTERM, grace, proc)
        del self.procs[name]
        self._save_state()

    def stop(self) -> None:
        order = [
            *reversed(self.worker_names()),
            "triggerer",
            "dag-processor",
            "scheduler",
            "api-server",
            "redis",
            "postgres",
        ]
        for name in order:
            self.stop_component(name)
        for name in list(self.procs):
            self.stop_component(name)


def _alive(pgid: int) -> bool:
    """Whether any live (not zombie) process is left in the process group ``pgid``."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for stat_file in proc.glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # fields: state, ppid, pgrp, …
            return True
    return False


def _stop_group(pgid: int, sig: int, grace: float, leader: subprocess.Popen[bytes] | None = None) -> None:
    """``sig`` to the group, then SIGKILL to whatever is left after ``grace`` seconds.

    ``leader`` (our own child) is reaped while waiting, or its zombie would keep the group "alive".
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)
    end = time.monotonic() + grace
    while time.monotonic() < end:
        if leader is not None:
            leader.poll()
        if not _alive(pgid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    if leader is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            leader.wait(10)


def stop_saved(root: Path, grace: float = 120) -> list[str]:
    """Stop a stack started by ``up`` in another shell (``make stop-cluster``), from its state file.

    The launcher is asked first (SIGTERM: it stops its components in order and exits, and does
    not restart them); any group still running after that is stopped directly.
    """
    state_path = root / "state.json"
    if not state_path.exists():
        return []
    state = json.loads(state_path.read_text())
    pids: dict[str, int] = state.get("pids", {})
    running = [name for name, pid in pids.items() if _alive(pid)]
    launcher = state.get("launcher")
    if launcher and launcher != os.getpid():
        with contextlib.suppress(ProcessLookupError):
            os.kill(launcher, signal.SIGTERM)
            end = time.monotonic() + grace
            while time.monotonic() < end:
                os.kill(launcher, 0)
                time.sleep(0.3)
    order = sorted(pids, key=lambda n: (n == "postgres", n == "redis", not n.startswith("worker")))
    for name in order:
        if _alive(pids[name]):
            _stop_group(pids[name], signal.SIGINT if name == "postgres" else signal.SIGTERM, 30)
    state = json.loads(state_path.read_text())
    state["pids"] = {}
    state.pop("launcher", None)
    state_path.write_text(json.dumps(state, indent=2) + "\n")
    return running


# ---- the init step (compose's airflow-init and the native launcher) ----------------------------
def init_step() -> None:
    from sqlalchemy import create_engine, make_url, text

    from sop_tasks.airflow.local import ensure_passwords
    from sop_tasks.records.db import get_engine

    meta_url = make_url(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    ledger_raw = os.environ["AIRFLOW_CONN_SOP_LEDGER"]
    ledger = make_url(ledger_raw.replace("postgres://", "postgresql://", 1))
    admin = create_engine(meta_url, isolation_level="AUTOCOMMIT")
    end = time.monotonic() + 120
    while True:
        try:
            with admin.connect() as conn:
                conn.execute(text("SELECT 1"))
            break
        except Exception:
            if time.monotonic() > end:
                raise
            time.sleep(1)
    with admin.connect() as conn:
        user, db = ledger.username, ledger.database
        if not conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :u"), {"u": user}):
            conn.execute(text(f'CREATE ROLE "{user}" LOGIN'))
        quoted = conn.scalar(text("SELECT quote_literal(:p)"), {"p": ledger.password or ""})
        conn.execute(text(f'ALTER ROLE "{user}" WITH LOGIN PASSWORD {quoted}'))
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": db}):
            conn.execute(text(f'CREATE DATABASE "{db}" OWNER "{user}"'))
    admin.dispose()
    print("Basis data catatan SOP siap:", db)
    airflow = str(Path(sys.executable).parent / "airflow")
    subprocess.run([airflow, "db", "migrate"], check=True, stdout=subprocess.DEVNULL)
    print("Basis data Airflow dimigrasikan.")
    get_engine(ledger.render_as_string(hide_password=False)).dispose()
    print("Basis data catatan SOP dimigrasikan.")
    pw_file = Path(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
    cfg = load_config()
    path = ensure_passwords(pw_file.parent, cfg)
    print(
        f"Pengguna kantor ({', '.join(u.split(':')[0] for u in users_value(cfg).split(','))}); "
        f"kata sandi di {path}"
    )


# ---- command line -------------------------------------------------------------------------------
def _compose_env_yaml(cfg: OfficeConfig) -> str:
    import yaml

    return yaml.safe_dump(compose_environment(cfg), sort_keys=False, allow_unicode=True, width=1000)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m sop_tasks.airflow.cluster")
    parser.add_argument("command", choices=["up", "down", "status", "init", "env", "compose-env"])
    parser.add_argument("--root", type=Path, default=Path(os.environ.get("SOP_CLUSTER_ROOT") or DEFAULT_ROOT))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SOP_PORT", "8080")))
    args = parser.parse_args(argv)
    if args.command == "init":
        init_step()
        return 0
    if args.command == "compose-env":
        print(_compose_env_yaml(load_config()), end="")
        return 0
    if args.command == "down":
        stopped = stop_saved(args.root.resolve())
        print("Dihentikan: " + (", ".join(stopped) if stopped else "tidak ada yang berjalan"))
        return 0
    cluster = NativeCluster(args.root)
    cluster.launcher = args.command == "up"
    if args.command == "env":
        for k, v in cluster.env().items():
            if k.startswith(("AIRFLOW", "SOP_")):
                print(f"export {k}={shlex.quote(v)}")
        return 0
    if args.command == "status":
        print(json.dumps(cluster.health()))
        return 0
    if (args.root / "state.json").exists() and any(
        _alive(pid) for pid in json.loads((args.root / "state.json").read_text()).get("pids", {}).values()
    ):
        print("Tumpukan sudah berjalan; hentikan dulu dengan `make stop-cluster`.", file=sys.stderr)
        return 1
    if cluster.ports.api != args.port:
        cluster.ports.api = args.port
    stopping = started = False

    def on_signal(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        if not started:  # still starting: give up the start at once
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        print("Menyiapkan PostgreSQL, Redis dan Airflow (CeleryExecutor)…", flush=True)
        cluster.start()
        started = True
        pw = cluster.secrets_dir / "passwords.json"
        print(
            f"\n  Airflow SOP Dinarpus (CeleryExecutor): {cluster.base_url}\n"
            f"  Kata sandi pengguna: {pw}\n  Log: {cluster.logs}\n"
            "  Hentikan dengan Ctrl-C atau `make stop-cluster`.\n",
            flush=True,
        )
        while not stopping:
            time.sleep(1)
            for name in (*SERVICES, *cluster.worker_names()):
                proc = cluster.procs.get(name)
                if not stopping and proc is not None and proc.poll() is not None:
                    print(f"{name} berhenti (kode {proc.returncode}); dijalankan lagi.", flush=True)
                    cluster.start_component(name)
    except ClusterError as exc:
        print(f"Gagal: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        print("Menghentikan tumpukan…", flush=True)
        cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
