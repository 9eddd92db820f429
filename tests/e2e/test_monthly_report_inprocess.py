"""The monthly report DAG, run once in-process on real Airflow: on the first working day of December
it writes November's PDF and XLSX from the records and mails them (through the real SMTP provider)."""

from __future__ import annotations

import email.utils
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from sop_tasks.records.ledger import Ledger
from sop_tasks.reports.summary import month_summary
from tests.support.month import seed_month
from tests.support.smtp import smtp_server

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
WIB = ZoneInfo("Asia/Jakarta")


def test_first_working_day_run_writes_and_mails_last_months_report(dagbag, office_cfg, tmp_path, monkeypatch):
    db = tmp_path / "ledger.db"
    ledger = Ledger(f"sqlite:///{db}")
    seed_month(ledger, office_cfg, monkeypatch)
    monkeypatch.setenv("AIRFLOW_CONN_SOP_LEDGER", json.dumps({"conn_type": "sqlite", "host": str(db)}))
    import sop_tasks.reports.monthly as monthly

    monkeypatch.setattr(monthly, "recipients", lambda cfg: ["kadis@dinarpus.test", "pengelola@dinarpus.test"])
    dag = dagbag.get_dag("sop_laporan_bulanan")
    with smtp_server() as (inbox, conn):
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", conn)
        dr = dag.test(logical_date=datetime(2026, 12, 1, 6, 0, tzinfo=WIB))
    assert dr.state == "success"
    assert len(inbox.messages) == 1
    msg = inbox.messages[0]
    assert msg["Subject"] == "[SOP] Laporan bulanan November 2026"
    assert {a for _, a in email.utils.getaddresses([msg["X-Rcpt"].replace(",", ", ")])} == {
        "kadis@dinarpus.test",
        "pengelola@dinarpus.test",
    }
    files = {p.get_filename(): p.get_payload(decode=True) for p in msg.walk() if p.get_filename()}
    assert set(files) == {"laporan-sop-2026-11.pdf", "laporan-sop-2026-11.xlsx"}
    import io

    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(files["laporan-sop-2026-11.pdf"])).pages)
    figures = dict(month_summary(ledger, 2026, 11, office_cfg).figures())
    assert (
        f"Pengajuan {figures['Pengajuan']}" in text
        and f"Informasi masuk {figures['Informasi masuk']}" in text
    )


def test_other_days_send_nothing(dagbag, tmp_path, monkeypatch):
    db = tmp_path / "ledger.db"
    Ledger(f"sqlite:///{db}")
    monkeypatch.setenv("AIRFLOW_CONN_SOP_LEDGER", json.dumps({"conn_type": "sqlite", "host": str(db)}))
    with smtp_server() as (inbox, conn):
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", conn)
        dr = dagbag.get_dag("sop_laporan_bulanan").test(logical_date=datetime(2026, 12, 2, 6, 0, tzinfo=WIB))
    assert dr.state == "success" and inbox.messages == []
