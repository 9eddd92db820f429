"""The ``make run`` / ``make stop`` launcher: one ``airflow standalone`` per ``AIRFLOW_HOME``, stopped whole.

``airflow standalone`` alone does not stop reliably: on SIGTERM it dies and leaves its scheduler,
dag-processor, triggerer, api-server and executor workers running; on Ctrl-C it waits on
children that may never exit; and task processes run in process groups of their own. So:

- ``run`` refuses (exit 1, in Indonesian) when a stack of this ``AIRFLOW_HOME`` is already up —
  found by looking at the processes themselves (their environment names the same
  ``AIRFLOW_HOME``), so a pid file left by a crash never blocks and a stack whose launcher was
  killed is still found. A lock file makes two launchers starting at once safe too.
  Refusing (rather than stopping the old one) is deliberate: the running stack may be serving
  staff in another terminal, and stopping it should be a decision (``make stop``).
- It starts ``airflow standalone`` in its own session (so the terminal's Ctrl-C reaches only the
  launcher) with a marker variable ``SOP_STACK_ID`` that every process of the stack inherits.
- On SIGINT, SIGTERM or SIGHUP it sends SIGTERM to the stack's process group and to every other
  process carrying its marker (task processes), waits up to ``SOP_STOP_GRACE`` seconds (default
  20; a second Ctrl-C cuts it short) and then kills whatever is left.
- ``stop`` signals the launcher named in ``$AIRFLOW_HOME/standalone.pid`` (after checking that
  the pid really is that launcher: same start time, same marker) and, if the launcher is gone,
  ends the stack's processes itself.

No Airflow import here: the launcher must work when Airflow cannot even start.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO

from sop_tasks.airflow.local import TRIGGER_LOG_PORT, WORKER_LOG_PORT, standalone_command
from sop_tasks.config import PROJECT_ROOT

PID_FILE = "standalone.pid"
LOCK_FILE = "standalone.lock"
MARKER = "SOP_STACK_ID"
COMPONENTS = ("standalone", "scheduler", "dag-processor", "triggerer", "api-server")
DEFAULT_GRACE = 20.0


def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME") or PROJECT_ROOT / ".airflow").resolve()


def grace_seconds() -> float:
    try:
        return max(1.0, float(os.environ.get("SOP_STOP_GRACE", DEFAULT_GRACE)))
    except ValueError:
        return DEFAULT_GRACE


# ---- looking at processes (/proc) -----------------------------------------------------------


@dataclass(frozen=True)
class Proc:
    pid: int
    pgid: int
    start: int  # clock ticks after boot: with the pid, identifies one process for good
    argv: tuple[str, ...]
    env: dict[str, str]


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, pgid, start time) of a process, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # the name in (...) may contain spaces
    return fields[0], int(fields[2]), int(fields[19])


def _read(pid: int) -> Proc | None:
    st = _stat(pid)
    if st is None or st[0] in ("Z", "X"):  # a zombie has finished; only its exit status is left
        return None
    try:
        if os.stat(f"/proc/{pid}").st_uid != os.getuid():
            return None
        env_raw = Path(f"/proc/{pid}/environ").read_bytes()
        argv_raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    env = dict(item.split("=", 1) for item in env_raw.decode(errors="replace").split("\0") if "=" in item)
    argv = tuple(a for a in argv_raw.decode(errors="replace").split("\0") if a)
    return Proc(pid, st[1], st[2], argv, env)


def _all() -> Iterator[Proc]:
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != me:
            p = _read(int(entry))
            if p is not None:
                yield p


def _same_home(p: Proc, home: Path) -> bool:
    """Whether ``p`` runs on ``home``. A relative ``AIRFLOW_HOME`` is the process's own (relative
    to its working directory), not ours: read in our directory it could name our home and make
    `make stop` end another project's Airflow."""
    h = p.env.get("AIRFLOW_HOME")
    if h is None:
        return False
    if not os.path.isabs(h):
        try:
            h = os.path.join(os.readlink(f"/proc/{p.pid}/cwd"), h)
        except OSError:
            return False
    return os.path.realpath(h) == str(home)


def _is_component(p: Proc) -> bool:
    """An Airflow server process (``airflow scheduler`` …), not a one-off ``airflow``/``sop`` command."""
    if "sop_tasks.airflow.local" in p.argv[:4] and "standalone" in p.argv:
        return True  # the SOP's own ``airflow standalone`` (local.standalone_command)
    for i, arg in enumerate(p.argv[:3]):
        if os.path.basename(arg) == "airflow":
            return len(p.argv) > i + 1 and p.argv[i + 1] in COMPONENTS
    return False


def stack_processes(home: Path, stack_id: str | None = None) -> list[Proc]:
    """Live processes of a stack on ``home``: those carrying ``stack_id`` (any stack of ours when
    None) and, when no id is given, also Airflow servers started by hand on the same home."""
    out = []
    for p in _all():
        if not _same_home(p, home):
            continue
        marker = p.env.get(MARKER)
        if (stack_id is not None and marker == stack_id) or (
            stack_id is None and (marker is not None or _is_component(p))
        ):
            out.append(p)
    return out


# ---- the pid file ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    launcher_pid: int
    launcher_start: int
    pgid: int
    stack_id: str
    port: str


def _read_record(home: Path) -> Record | None:
    try:
        return Record(**json.loads((home / PID_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _launcher_alive(rec: Record) -> bool:
    """True only if the pid is still *that* launcher (a reused pid has another start time)."""
    st = _stat(rec.launcher_pid)
    return st is not None and st[0] not in ("Z", "X") and st[2] == rec.launcher_start


def _write_record(home: Path, rec: Record) -> None:
    tmp = home / (PID_FILE + ".tmp")
    tmp.write_text(json.dumps(rec.__dict__) + "\n")
    tmp.replace(home / PID_FILE)


# ---- stopping -------------------------------------------------------------------------------


def _in_group(p: Proc, pgid: int) -> bool:
    st = _stat(p.pid)
    return st is not None and st[0] not in ("Z", "X") and st[2] == p.start and st[1] == pgid


def _signal_all(procs: list[Proc], pgid: int | None, sig: int) -> None:
    """Signal ``procs`` and the process group ``pgid`` — the group only while one of ``procs``
    is still in it: once the group is empty its number is free, and a new, unrelated process
    group may have it (pid reuse)."""
    if pgid is not None and any(_in_group(p, pgid) for p in procs):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
    for p in _still_there(procs):  # the same process, not a later one with its pid
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(p.pid, sig)


def _still_there(procs: list[Proc]) -> list[Proc]:
    out = []
    for p in procs:
        st = _stat(p.pid)
        if st is not None and st[0] not in ("Z", "X") and st[2] == p.start:
            out.append(p)
    return out


def end_stack(
    home: Path, stack_id: str | None, pgid: int | None, grace: float, *, hurry: list[bool] | None = None
) -> None:
    """SIGTERM the stack (its group and every marked process), wait ``grace``, then SIGKILL the rest."""
    procs = stack_processes(home, stack_id)
    _signal_all(procs, pgid, signal.SIGTERM)
    end = time.monotonic() + grace
    while time.monotonic() < end and not (hurry and hurry[0]):
        # processes started while stopping (a task's child) carry the marker too
        procs = _still_there(procs) + [
            p for p in stack_processes(home, stack_id) if p.pid not in {q.pid for q in procs}
        ]
        if not procs:
            return
        time.sleep(0.3)
    left = _still_there(procs) + stack_processes(home, stack_id)
    _signal_all(left, pgid, signal.SIGKILL)
    end = time.monotonic() + 5
    while _still_there(left) and time.monotonic() < end:  # SIGKILL is not instant for a process in I/O
        time.sleep(0.1)


# ---- commands -------------------------------------------------------------------------------


def _port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


# What each port of the stack serves, as staff are told when another program holds it.
STACK_PORTS = {
    "AIRFLOW__API__PORT": "Airflow SOP",
    WORKER_LOG_PORT: "log scheduler Airflow SOP",
    TRIGGER_LOG_PORT: "log triggerer Airflow SOP",
}


def _taken_port(api_port: str) -> str | None:
    """The refusal when a port the stack binds (UI, the two log servers) is held by another
    program, else None: started anyway, the UI would never open, or the live logs of running tasks
    would not load (see :func:`sop_tasks.airflow.local.log_server_ports`)."""
    ports = {key: os.environ.get(key, "") for key in STACK_PORTS} | {"AIRFLOW__API__PORT": api_port}
    for key, value in ports.items():
        if value.isdigit() and _port_in_use(int(value)):
            another = int(api_port) + 1 if api_port.isdigit() else 8081
            own = "" if key == "AIRFLOW__API__PORT" else f" (atau pilih port lain dengan {key}=…)"
            return (
                f"Port {value} sudah dipakai program lain, jadi {STACK_PORTS[key]} tidak dapat dibuka "
                f"di sana.\n  Hentikan program itu, atau jalankan pada port lain: "
                f"SOP_PORT={another} make run{own}"
            )
    return None


def _refusal(home: Path, port: str, procs: list[Proc]) -> str:
    pids = ", ".join(str(p.pid) for p in procs[:6]) + (" …" if len(procs) > 6 else "")
    what = f"proses {pids}" if procs else "sedang dimulai di terminal lain"
    return (
        f"Airflow SOP untuk {home} sudah berjalan ({what}); tidak dijalankan dua kali "
        "(dua scheduler pada satu basis data saling mengganggu).\n"
        f"  Buka http://localhost:{port}, atau hentikan dulu dengan `make stop` lalu `make run` lagi."
    )


@contextlib.contextmanager
def _lock(home: Path) -> Iterator[IO[str] | None]:
    """Held while a launcher is starting or running; released by the kernel if it dies."""
    home.mkdir(parents=True, exist_ok=True)
    f = (home / LOCK_FILE).open("a")
    try:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        yield f
    finally:
        f.close()


def check(home: Path) -> int:
    """Exit 1 with the Indonesian refusal when a stack of ``home`` is up (used before setup)."""
    port = os.environ.get("AIRFLOW__API__PORT", "8080")
    procs = stack_processes(home)
    rec = _read_record(home)
    if rec is not None and _launcher_alive(rec) and not procs:
        procs = [p for p in [_read(rec.launcher_pid)] if p is not None]
    if procs:
        print(_refusal(home, port, procs), file=sys.stderr)
        return 1
    return 0


def run(home: Path) -> int:
    port = os.environ.get("AIRFLOW__API__PORT", "8080")
    with _lock(home) as held:
        if held is None or check(home):
            if held is None:
                print(_refusal(home, port, stack_processes(home)), file=sys.stderr)
            return 1
        taken = _taken_port(port)
        if taken:
            print(taken, file=sys.stderr)
            return 1
        stack_id = uuid.uuid4().hex
        received: list[int] = []
        hurry = [False]

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            if received:
                hurry[0] = True  # a second Ctrl-C: do not wait for the grace period
            received.append(signum)

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            # keep a signal ignored when we were started ignoring it (``nohup``, ``make run &``)
            if sig == signal.SIGTERM or signal.getsignal(sig) != signal.SIG_IGN:
                signal.signal(sig, on_signal)
        proc = subprocess.Popen(
            standalone_command(),
            env={**os.environ, MARKER: stack_id},
            start_new_session=True,
        )
        me = _stat(os.getpid())
        assert me is not None
        _write_record(home, Record(os.getpid(), me[2], proc.pid, stack_id, port))
        try:
            while not received and proc.poll() is None:
                time.sleep(0.2)
            if received:
                print("\nAirflow SOP dihentikan; menunggu semua proses selesai…", file=sys.stderr, flush=True)
            end_stack(home, stack_id, proc.pid, grace_seconds(), hurry=hurry)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        finally:
            if proc.poll() is None:  # an exception above: never leave the stack behind
                _signal_all(stack_processes(home, stack_id), proc.pid, signal.SIGKILL)
                proc.wait(5)
            with contextlib.suppress(FileNotFoundError):
                (home / PID_FILE).unlink()
        if received:
            print("Airflow SOP berhenti; tidak ada proses yang tersisa.", file=sys.stderr)
            return 0
        print(f"airflow standalone berhenti sendiri (kode {proc.returncode}).", file=sys.stderr)
        return proc.returncode or 1


def stop(home: Path) -> int:
    grace = grace_seconds()
    rec = _read_record(home)
    if rec is not None and _launcher_alive(rec):
        os.kill(rec.launcher_pid, signal.SIGTERM)
        end = time.monotonic() + grace + 15
        while time.monotonic() < end and _launcher_alive(rec):
            time.sleep(0.3)
    left = stack_processes(home)
    if left:  # the launcher was killed, or a stack was started by hand on this home
        # by the processes found, not by the recorded group: after a crash that number may be reused
        end_stack(home, None, None, grace)
    if rec is None and not left:
        print(f"Tidak ada Airflow SOP yang berjalan untuk {home}.")
        return 0
    left = stack_processes(home)
    if left:
        print(f"Masih ada proses yang tidak dapat dihentikan: {', '.join(str(p.pid) for p in left)}")
        return 1
    with contextlib.suppress(FileNotFoundError):
        (home / PID_FILE).unlink()
    print(f"Airflow SOP untuk {home} sudah dihentikan.")
    return 0


def main(argv: list[str]) -> int:
    home = airflow_home()
    if argv[:1] == ["run"]:
        return run(home)
    if argv[:1] == ["stop"]:
        return stop(home)
    if argv[:1] == ["check"]:
        return check(home)
    print("pakai: python -m sop_tasks.airflow.launcher run|stop|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
