"""The Airflow plugin of the SOP pipeline: run-note listener, the approval-answer guard and the
"Catatan SOP" pages (records and the month's SOP figures, Browse menu).

Nothing importable lives here; the parts are in ``sop_tasks.airflow``.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from sop_tasks.airflow import run_notes
from sop_tasks.airflow.action_log import ActionLogOffLoop
from sop_tasks.airflow.hitl_guard import HitlResponseGuard
from sop_tasks.airflow.records_app import create_app as create_records_app
from sop_tasks.airflow.records_paths import PREFIX as RECORDS_PREFIX
from sop_tasks.airflow.ui_timezone import DefaultUiTimezone


class SopPlugin(AirflowPlugin):
    name = "sop_dinarpus"
    listeners = [run_notes]
    fastapi_root_middlewares = [
        {"middleware": HitlResponseGuard, "args": [], "kwargs": {}, "name": "Penjaga jawaban verifikasi SOP"},
        {"middleware": DefaultUiTimezone, "args": [], "kwargs": {}, "name": "Zona waktu UI bawaan (WIB)"},
        {
            "middleware": ActionLogOffLoop,
            "args": [],
            "kwargs": {},
            "name": "Log aksi API dicatat di luar event loop (SQLite tidak macet)",
        },
    ]
    fastapi_apps = [{"app": create_records_app(), "url_prefix": RECORDS_PREFIX, "name": "Catatan SOP"}]
    external_views = [
        {
            "name": "Catatan SOP",
            "href": f"{RECORDS_PREFIX}/ringkasan",
            "url_route": "catatan-sop",
            "category": "browse",
            "destination": "nav",
        }
    ]
