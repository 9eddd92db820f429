"""Laporan bulanan SOP (PDF dan XLSX) ke Kepala Dinas dan pengelola TI, hari kerja pertama tiap bulan."""

from __future__ import annotations

from typing import Any

from airflow.sdk import CronTriggerTimetable, dag, task

from sop_tasks.airflow.dag_support import dag_config, default_args
from sop_tasks.airflow.report import monthly_report

cfg = dag_config()


@dag(
    dag_id="sop_laporan_bulanan",
    dag_display_name="Laporan bulanan SOP (PDF dan XLSX)",
    description="Hari kerja pertama tiap bulan pukul 06:00 WIB: laporan bulan lalu ke Kepala Dinas dan "
    "pengelola TI.",
    # 06:00 WIB on days 1–12 (a month may open with a long cuti bersama); the task goes on only on
    # the first working day (holidays in config) and does nothing on the other days.
    schedule=CronTriggerTimetable("0 6 1-12 * *", timezone=cfg.timezone),
    catchup=False,
    max_active_runs=1,
    tags=["sop", "laporan"],
    default_args=default_args(cfg),
    doc_md="""
### Pencatatan dan pendataan SOP — laporan bulanan
Pada hari kerja pertama tiap bulan (pukul 06:00 WIB; hari libur di `config/office.yaml` dilewati)
laporan bulan sebelumnya — angka catatan 1–3, waktu tiap langkah dibanding waktu baku, batas PPID
dan bukti pemantauan — dibuat sebagai PDF (kertas dan kop surat dari `report:` di config) dan XLSX,
lalu dikirim lewat surel (koneksi `smtp_default`) kepada Kepala Dinas dan pengelola TI. Kaki
laporan mencetak kepala rantai catatan; periksa dengan `sop records verify --kepala ...`.
Laporan bulan mana pun: `sop laporan --bulan TTTT-BB --format pdf|xlsx`.
""",
)
def sop_laporan_bulanan() -> None:
    @task(task_id="kirim_laporan_bulanan", task_display_name="Buat dan kirim laporan bulan lalu")
    def kirim(**context: Any) -> dict[str, Any]:
        # the scheduled day (a manual run without a logical date: when it was triggered)
        return monthly_report(cfg, context.get("logical_date") or context["dag_run"].run_after)

    kirim()


sop_laporan_bulanan()
