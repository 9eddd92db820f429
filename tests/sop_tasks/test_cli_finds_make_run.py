"""Issue 11 item 5: `sop records list` run from the project root with no environment variable
reads the records `make run` writes (the project's .airflow/) and says which database it read."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from sop_tasks.records.ledger import Ledger

REPO = Path(__file__).resolve().parents[2]


def test_records_list_from_the_project_root_without_any_environment_variable(tmp_path):
    home = REPO / ".airflow"
    db = home / "sop_ledger.db"
    created = not home.exists()  # never write into a developer's own `make run` records
    try:
        if created:
            home.mkdir()
            Ledger(f"sqlite:///{db}").open_submission(
                dag_id="sop_publish",
                run_id="manual__dari_make_run",
                kind="publish",
                title="Dari make run",
                content={},
            )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SOP_", "VIRTUAL_ENV"))}
        env["HOME"] = str(tmp_path)  # not the machine's ~/airflow either
        sop = Path(sys.executable).parent / "sop"
        proc = subprocess.run(
            [str(sop), "records", "list", "--json"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr
        assert f"Basis data catatan: sqlite:///{db} (folder .airflow proyek" in proc.stderr
        listed = [json.loads(line) for line in proc.stdout.splitlines()]
        if db.exists():
            with sqlite3.connect(db) as conn:
                ids = [r[0] for r in conn.execute("SELECT id FROM submissions ORDER BY id")]
        else:
            ids = []
        assert [s["id"] for s in listed] == ids
        if created:
            assert [s["title"] for s in listed] == ["Dari make run"]
        assert not (tmp_path / "airflow" / "sop_ledger.db").exists()
    finally:
        if created:
            shutil.rmtree(home, ignore_errors=True)
