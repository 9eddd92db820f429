"""The launcher's view of "is a stack of this AIRFLOW_HOME running?" and `make stop` after a crash.

Real processes stand in for a stack whose launcher was killed (kill -9, power cut of a terminal):
they carry the stack's marker and AIRFLOW_HOME, as every process of a real stack does. The full
stack is exercised in tests/e2e/test_make_run_stop.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

from sop_tasks.airflow import launcher


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
