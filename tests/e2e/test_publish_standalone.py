"""The real running stack: airflow standalone, trigger over HTTP, three approvals over HTTP."""

from __future__ import annotations

import json
import tempfile
import threading
from pathlib import Path

import pytest

from sop_tasks.approval import OPTION_YES
from sop_tasks.records.ledger import Ledger
from tests.support.airflow_api import Answer, Answerer
from tests.support.media import make_png
from tests.support.standalone import standalone

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(480)]


def test_standalone_three_approvals_over_http(media_dir: Path) -> None:
    make_png(media_dir / "standalone.png")
    home = Path(tempfile.mkdtemp(prefix="sop-standalone-"))
    with standalone(home) as stack:
        run_id = stack.trigger(
            "sop_publish",
            {
                "title": "Layanan perpustakaan keliling",
                "body": "Jadwal perpustakaan keliling bulan Desember.",
                "channels": ["website", "twitter"],
                "media": ["standalone.png"],
            },
        )
        answerer = Answerer(
            stack.api,
            "sop_publish",
            {
                "sop02_verifikasi_kasubag": [Answer("kasubag", OPTION_YES)],
                "sop03_verifikasi_kabid": [Answer("kabid", OPTION_YES)],
                "sop04_verifikasi_kadis": [Answer("kadis", OPTION_YES)],
            },
            deadline_s=300,
        )
        t = threading.Thread(target=answerer.run, daemon=True)
        t.start()
        state = stack.wait_run("sop_publish", run_id, timeout=300)
        answerer.stop()
        t.join(5)
        assert not answerer.errors, answerer.errors
        assert state == "success", stack.log_tail()
        info = stack.run_info("sop_publish", run_id)
        assert "OUTBOX" in (info.get("note") or ""), info

    ledger = Ledger(f"sqlite:///{home / 'sop_ledger.db'}")
    sid = ledger.submission_id("sop_publish", run_id)
    summary = next(s for s in ledger.summaries() if s["id"] == sid)
    assert summary["status"] == "outbox"
    assert set(summary["channels"]) == {"website", "twitter"}
    payload = json.loads(Path(summary["channels"]["website"]["url"].removeprefix("file://")).read_text())
    assert payload["payload"]["title"] == "Layanan perpustakaan keliling"
