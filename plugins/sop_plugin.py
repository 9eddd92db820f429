"""The Airflow plugin of the SOP pipeline: run-note listener and the approval-answer guard.

Nothing importable lives here; the parts are in ``sop_tasks.airflow``.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from sop_tasks.airflow import run_notes
from sop_tasks.airflow.hitl_guard import HitlResponseGuard
from sop_tasks.airflow.ui_timezone import DefaultUiTimezone


class SopPlugin(AirflowPlugin):
    name = "sop_dinarpus"
    listeners = [run_notes]
    fastapi_root_middlewares = [
        {"middleware": HitlResponseGuard, "args": [], "kwargs": {}, "name": "Penjaga jawaban verifikasi SOP"},
        {"middleware": DefaultUiTimezone, "args": [], "kwargs": {}, "name": "Zona waktu UI bawaan (WIB)"},
    ]
