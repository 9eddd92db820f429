"""The launcher's view of "is a stack of this AIRFLOW_HOME running?" and `make stop` after a crash.

Real processes stand in for a stack whose launcher was killed (kill -9, power cut of a terminal):
they carry the stack's marker and AIRFLOW_HOME, as every process of a real stack does. The full
stack is exercised in tests/e2e/test_make_run_stop.py.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time

from sop_tasks.airflow import launcher, local
from tests.support.ports import free_port


def _orphan(home, marker: str = "abc") -> subprocess.Popen[bytes]:
    env = {**os.environ, "AIRFLOW_HOME": str(home), launcher.MARKER: marker}
    return subprocess.Popen(["sleep", "300"], env=env, start_new_session=True)


def test_a_stale_pid_file_does_not_block_but_a_live_stack_does(tmp_path, capsys):
    home = tmp_path.resolve()
    # pid 1 is alive but started long before: a reused pid is not our launcher
    (home / launcher.PID_FILE).write_text(
        json.dumps({"launcher_pid": 1, "launcher_start": 1, "pgid": 1, "stack_id": "x", "port": "8080"})
    )
    assert launcher.check(home) == 0
    p = _orphan(home)
    try:
        deadline = time.monotonic() + 10
        while not launcher.stack_processes(home) and time.monotonic() < deadline:
            time.sleep(0.05)  # the child's environment is readable once it has exec'd
        assert launcher.check(home) == 1
        err = capsys.readouterr().err
        assert f"Airflow SOP untuk {home} sudah berjalan (proses {p.pid})" in err and "make stop" in err
        assert launcher.check(tmp_path / "other-home") == 0  # another AIRFLOW_HOME is not ours
    finally:
        p.kill()
        p.wait()


def test_make_stop_ends_what_a_killed_launcher_left_behind(tmp_path, capsys, monkeypatch):
    home = tmp_path.resolve()
    monkeypatch.setenv("SOP_STOP_GRACE", "2")
    p = _orphan(home)
    deadline = time.monotonic() + 10
    while not launcher.stack_processes(home) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert launcher.stop(home) == 0
    assert p.wait(10) == -15  # asked politely first (SIGTERM)
    assert "sudah dihentikan" in capsys.readouterr().out
    assert launcher.stop(home) == 0
    assert "Tidak ada Airflow SOP yang berjalan" in capsys.readouterr().out


def test_a_relative_airflow_home_of_another_directory_is_not_ours(tmp_path, monkeypatch):
    """`make stop` in this project must not end another project's Airflow whose AIRFLOW_HOME is
    the same relative path (it is relative to that process's directory, not to ours)."""
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    (ours / ".airflow").mkdir(parents=True)
    (theirs / ".airflow").mkdir(parents=True)
    monkeypatch.chdir(ours)
    env = {**os.environ, "AIRFLOW_HOME": ".airflow", launcher.MARKER: "lain"}
    other = subprocess.Popen(["sleep", "300"], env=env, cwd=theirs, start_new_session=True)
    mine = subprocess.Popen(["sleep", "300"], env=env, cwd=ours, start_new_session=True)
    try:
        home = (ours / ".airflow").resolve()
        deadline = time.monotonic() + 10
        while not launcher.stack_processes(home) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [p.pid for p in launcher.stack_processes(home)] == [mine.pid]
        monkeypatch.setenv("SOP_STOP_GRACE", "2")
        assert launcher.stop(home) == 0
        assert mine.wait(10) == -15
        assert other.poll() is None  # the other project's process is untouched
    finally:
        for p in (other, mine):
            p.kill()
            p.wait()


def test_an_empty_process_group_number_is_not_signalled(tmp_path):
    """After the stack's group has emptied, its number may belong to an unrelated new group
    (pid reuse): the launcher signals a group only while a process of the stack is in it."""
    victim = subprocess.Popen(["sleep", "300"], start_new_session=True)  # pgid == its pid
    try:
        launcher._signal_all([], victim.pid, 15)
        time.sleep(0.3)
        assert victim.poll() is None
    finally:
        victim.kill()
        victim.wait()


def test_a_component_that_exited_is_started_again_after_a_pause_and_given_up_on_after_five():
    """A scheduler that exits (SQLite "database is locked" past the busy timeout under a burst)
    used to leave `make run` up with nothing scheduled."""
    from sop_tasks.airflow import local

    keeper = local.Restarts()
    assert keeper.check("scheduler", None, 0.0) is None  # running
    assert keeper.check("scheduler", 1, 1.0) is None  # just exited: a stop may be under way
    assert keeper.check("scheduler", 1, 1.0 + local.RESTART_DELAY_S) == local.RESTART
    assert keeper.check("scheduler", None, 20.0) is None  # the new one runs
    assert keeper.check("triggerer", -9, 20.0) is None  # each component on its own clock
    t = 30.0
    for _ in range(local.MAX_RESTARTS - 1):
        assert keeper.check("scheduler", 1, t) is None
        assert keeper.check("scheduler", 1, t + local.RESTART_DELAY_S) == local.RESTART
        t += 20
    assert keeper.check("scheduler", 1, t) is None
    assert keeper.check("scheduler", 1, t + local.RESTART_DELAY_S) == local.GIVE_UP
    assert keeper.check("scheduler", 1, t + 1000) is None  # given up: said once, not repeated
    # restarts older than the window do not count
    other = local.Restarts()
    for i in range(3 * local.MAX_RESTARTS):
        start = i * local.RESTART_WINDOW_S / 2
        assert other.check("dag-processor", 1, start) is None
        assert other.check("dag-processor", 1, start + local.RESTART_DELAY_S) == local.RESTART


def test_a_port_the_stack_binds_held_elsewhere_is_refused_with_the_way_out(tmp_path, capsys, monkeypatch):
    """`make run` refuses before starting anything when its UI port or one of its two log-server
    ports is held (the UI would never open, or live task logs would not load), and names another
    SOP_PORT, whose ports are all different (next test)."""
    home = tmp_path.resolve()
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        busy = held.getsockname()[1]
        for key in launcher.STACK_PORTS:
            for other in launcher.STACK_PORTS:
                monkeypatch.setenv(other, str(free_port()))
            monkeypatch.setenv(key, str(busy))
            api = os.environ["AIRFLOW__API__PORT"]
            assert launcher.run(home) == 1
            err = capsys.readouterr().err
            assert f"Port {busy} sudah dipakai program lain" in err
            assert f"SOP_PORT={int(api) + 1} make run" in err
            assert (key in err) == (key != "AIRFLOW__API__PORT")  # a log port may be chosen by hand
            assert not (home / launcher.PID_FILE).exists()  # nothing was started


def test_each_ui_port_has_its_own_log_server_ports_and_a_chosen_one_wins(tmp_path, monkeypatch, office_cfg):
    """Two `make run` stacks side by side (8080 and SOP_PORT=8081, …) never share a port: Airflow's
    log servers default to 8793/8794 for every stack, so the second stack's could not bind."""
    assert local.log_server_ports(8080) == (8793, 8794)  # Airflow's own for the default UI port
    # (a UI port that is another stack's log port, e.g. 8793, is refused by the launcher, above)
    ui = [8080, 8081, 8082, 8090, 8888, 9000, 18080, 20000, 31999, 65535]
    taken = [p for u in ui for p in (u, *local.log_server_ports(u))]
    assert len(taken) == len(set(taken))
    assert all(1024 <= p <= 65535 for p in taken)
    for key in (local.WORKER_LOG_PORT, local.TRIGGER_LOG_PORT):
        monkeypatch.delenv(key, raising=False)
    env = local.airflow_env(tmp_path, office_cfg, port=8081)
    assert (env[local.WORKER_LOG_PORT], env[local.TRIGGER_LOG_PORT]) == ("8795", "8796")
    monkeypatch.setenv(local.TRIGGER_LOG_PORT, "9999")
    env = local.airflow_env(tmp_path, office_cfg, port=8081)
    assert (env[local.WORKER_LOG_PORT], env[local.TRIGGER_LOG_PORT]) == ("8795", "9999")
