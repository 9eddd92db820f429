"""The monthly report task: on the first working day of a month, mail last month's PDF and XLSX."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sop_tasks.airflow.ledger import get_ledger
from sop_tasks.airflow.notify import notify
from sop_tasks.config import OfficeConfig
from sop_tasks.reports.monthly import send_monthly


def _send(recipients: Sequence[str], subject: str, text: str, files: Sequence[Path]) -> bool:
    return notify(recipients, subject, text, attachments=files)


def report_folder() -> Path:
    """Where the mailed reports are kept: ``$AIRFLOW_HOME/laporan``."""
    from airflow.configuration import AIRFLOW_HOME

    return Path(AIRFLOW_HOME) / "laporan"


def monthly_report(cfg: OfficeConfig, when: datetime, folder: Path | None = None) -> dict[str, Any]:
    """``when``: the run's time (its day in WIB decides); files are kept under ``folder``."""
    today = when.astimezone(cfg.tz).date()
    return send_monthly(get_ledger(), cfg, today, folder or report_folder(), _send)
