"""`make run` as staff start it, stopped as staff stop it: Ctrl-C, SIGTERM, `make stop`.

Each test starts the real stack through `make run` in its own process group, on a temporary
AIRFLOW_HOME and a free port, and then looks at the processes themselves (/proc): after a stop,
no process whose environment names that AIRFLOW_HOME may remain.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support.ports import free_port, log_server_env

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]  # stack starts are slow on a loaded machine

REPO = Path(__file__).resolve().parents[2]
STOP_WITHIN = 30.0


def _env(home: Path, port: int) -> dict[str, str]:
    # a staff member's shell: none of the test session's Airflow settings, no outer make
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AIRFLOW") and k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    }
    env.update(AIRFLOW_HOME=str(home), SOP_PORT=str(port))
    env.update(log_server_env())  # the other xdist worker may run a stack of its own
    return env


def _procs_of(home: Path) -> list[tuple[int, int, list[str]]]:
    """(pid, ppid, argv) of every live process whose environment has AIRFLOW_HOME=home."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            env = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] == "Z":
            continue
        if f"AIRFLOW_HOME={home}".encode() in env:
            out.append((int(entry), int(fields[1]), [a for a in argv if a]))
    return out


def _schedulers(home: Path) -> list[int]:
    """Scheduler jobs on ``home`` (executor workers are forks with the same argv: not counted)."""
    procs = _procs_of(home)
    sched = {
        pid: ppid for pid, ppid, argv in procs if "scheduler" in argv[:4] and "airflow" in " ".join(argv[:3])
    }
    return [pid for pid, ppid in sched.items() if ppid not in sched]


@dataclass
class Started:
    proc: subprocess.Popen[bytes]
    home: Path
    port: int
    env: dict[str, str]
    log: Path

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-60:])


def _wait_up(s: Started, timeout: float = 600) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert s.proc.poll() is None, f"make run exited {s.proc.returncode}\n{s.tail()}"
        with contextlib.suppress(requests.RequestException, ValueError):
            r = requests.get(f"http://127.0.0.1:{s.port}/api/v2/monitor/health", timeout=10)
            if r.status_code == 200 and r.json()["scheduler"]["status"] == "healthy" and _schedulers(s.home):
                return
        time.sleep(1)
    raise TimeoutError(f"stack not up in {timeout}s\n{s.tail()}")


def _wait_gone(home: Path, since: float) -> list[tuple[int, int, list[str]]]:
    left = _procs_of(home)
    while left and time.monotonic() - since < STOP_WITHIN:
        time.sleep(0.5)
        left = _procs_of(home)
    return left


@contextlib.contextmanager
def make_run(tmp_path: Path) -> Iterator[Started]:
    home = tmp_path / "airflow"
    home.mkdir(exist_ok=True)
    port = free_port()
    log = tmp_path / "make-run.log"
    env = _env(home, port)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, like a terminal's foreground job
        )
        s = Started(proc, home, port, env, log)
        try:
            yield s
        finally:
            for pid, _, _ in _procs_of(home):  # whatever a failed test left behind
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)


def test_ctrl_c_stops_everything_and_a_second_run_is_refused(tmp_path):
    home = tmp_path / "airflow"
    home.mkdir()
    # a pid file left by a crash (a pid that is not ours) must not block the start
    (home / "standalone.pid").write_text(
        json.dumps({"launcher_pid": 1, "launcher_start": 1, "pgid": 1, "stack_id": "x", "port": "1"})
    )
    with make_run(tmp_path) as s:
        _wait_up(s)
        first = _schedulers(s.home)
        assert len(first) == 1, _procs_of(s.home)

        again = subprocess.run(
            ["make", "--no-print-directory", "run"],
            cwd=REPO,
            env=s.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert again.returncode != 0
        assert "sudah berjalan" in again.stderr and "make stop" in again.stderr, again.stderr
        assert _schedulers(s.home) == first  # no second scheduler beside the first
        _wait_up(s, timeout=180)  # the first stack still answers (a loaded machine: asked again)

        os.killpg(s.proc.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole foreground group
        sent = time.monotonic()
        left = _wait_gone(s.home, sent)
        assert not left, f"still running {STOP_WITHIN}s after Ctrl-C: {left}\n{s.tail()}"
        s.proc.wait(30)
        assert "Airflow SOP berhenti" in s.log.read_text(errors="replace"), s.tail()
        assert not (s.home / "standalone.pid").exists()


def test_sigterm_to_make_run_stops_everything(tmp_path):
    with make_run(tmp_path) as s:
        _wait_up(s)
        os.kill(s.proc.pid, signal.SIGTERM)  # `kill <pid of make>`; make passes it on
        sent = time.monotonic()
        left = _wait_gone(s.home, sent)
        assert not left, f"still running {STOP_WITHIN}s after SIGTERM: {left}\n{s.tail()}"
        s.proc.wait(30)


def test_make_stop_ends_a_stack_started_in_the_background(tmp_path):
    with make_run(tmp_path) as s:
        _wait_up(s)
        sent = time.monotonic()
        out = subprocess.run(
            ["make", "--no-print-directory", "stop"],
            cwd=REPO,
            env=s.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        assert "sudah dihentikan" in out.stdout
        assert not _wait_gone(s.home, sent), s.tail()
        s.proc.wait(30)
        again = subprocess.run(
            ["make", "--no-print-directory", "stop"], cwd=REPO, env=s.env, capture_output=True, text=True
        )
        assert again.returncode == 0 and "Tidak ada Airflow SOP yang berjalan" in again.stdout
