"""The embedded stack (``make run``'s ``airflow standalone``) starts a component again that
exited: a scheduler killed outright (as one that exits on SQLite's "database is locked" under a
burst) is back within seconds and the SOP runs on."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest

from sop_tasks.airflow import launcher
from tests.support.shortcuts import ti_path
from tests.support.standalone import standalone

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def _schedulers(home: Path) -> list[launcher.Proc]:
    return [p for p in launcher.stack_processes(home.resolve()) if "scheduler" in p.argv[1:3]]


def test_a_killed_scheduler_is_started_again_and_the_next_run_is_scheduled():
    home = Path(tempfile.mkdtemp(prefix="sop-restart-"))
    try:
        _run(home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _run(home: Path) -> None:
    with standalone(home, timeout=600, request_timeout=180) as stack:
        before = _schedulers(home)
        assert len(before) == 1, before
        os.kill(before[0].pid, signal.SIGKILL)
        end = time.monotonic() + 180
        while not [p for p in _schedulers(home) if p.pid != before[0].pid]:
            assert time.monotonic() < end, f"no new scheduler\n{stack.log_tail()}"
            time.sleep(1)
        assert "scheduler berhenti (kode -9); dijalankan ulang" in stack.log_path.read_text()
        run = stack.trigger(
            "sop_publish", {"title": "Setelah mulai ulang", "body": "b", "channels": ["twitter"]}
        )
        end = time.monotonic() + 400
        state = None
        while state != "awaiting_input":  # step 1 ran and step 2 asks: the new scheduler schedules
            assert time.monotonic() < end, f"step 2 not asked: {state}\n{stack.log_tail()}"
            r = stack.api.request("admin", "GET", ti_path("sop_publish", run, "sop02_verifikasi_kasubag"))
            state = r.json().get("state") if r.status_code == 200 else None
            time.sleep(1)
