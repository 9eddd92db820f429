"""The daily check of the office's holiday list (DAG sop_cek_harian): log and e-mail to the officer."""

from __future__ import annotations

from datetime import date

import yaml

from sop_tasks.airflow.notify import notify
from sop_tasks.config import load_config
from sop_tasks.reminders import check_holiday_data
from tests.sop_tasks.test_holidays import REPO
from tests.support.records import write_yaml
from tests.support.smtp import body_text, smtp_server


def test_daily_check_mails_the_officer_through_smtp_default(tmp_path, monkeypatch, caplog):
    raw = yaml.safe_load((REPO / "config" / "office.yaml").read_text())
    raw["officers"]["emails"] = ["ti@dinarpus.test"]
    cfg = load_config(write_yaml(tmp_path / "config", "office.yaml", raw).parent)
    with smtp_server() as (inbox, conn):
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", conn)
        with caplog.at_level("INFO"):
            assert check_holiday_data(cfg, notify, date(2027, 12, 1)) is not None
            assert check_holiday_data(cfg, notify, date(2027, 6, 1)) is None  # nothing missing yet
    assert len(inbox.messages) == 1
    msg = inbox.messages[0]
    assert (
        msg["Subject"] == "[SOP] Daftar cuti bersama perlu diperbarui" and "ti@dinarpus.test" in msg["X-Rcpt"]
    )
    assert "belum memuat tahun 2028" in body_text(msg) and "31 hari lagi" in body_text(msg)
    assert "belum memuat tahun 2028" in caplog.text  # the task log says it too
