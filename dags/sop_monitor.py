"""SOP langkah 6–7: pantau informasi yang masuk (pagi, siang, sore WIB) dan teruskan ke bidang."""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import MultipleCronTriggerTimetable, dag, task

from sop_tasks.airflow.dag_support import dag_config, default_args
from sop_tasks.airflow.ledger import get_ledger
from sop_tasks.airflow.monitoring import forward_items, monitor
from sop_tasks.sop import step

cfg = dag_config()
STEP6, STEP7 = step(6), step(7)
crons = cfg.monitoring.crons() + ([cfg.monitoring.extra_cron] if cfg.monitoring.extra_cron else [])


@dag(
    dag_id="sop_monitor",
    dag_display_name="SOP 6–7: Pantau dan teruskan informasi masuk",
    description="Sapuan komentar, mention dan pesan di Website, Instagram dan X; teruskan ke bidang.",
    schedule=MultipleCronTriggerTimetable(*crons, timezone=cfg.timezone),
    catchup=False,
    max_active_runs=2,
    tags=["sop", "pemantauan"],
    default_args=default_args(cfg),
    doc_md=f"""
### SOP langkah 6–7 (peringatan 2: minimal 3× sehari — pagi, siang, sore)
Jadwal: {", ".join(cfg.monitoring.times)} WIB. Setiap sapuan membaca hanya yang baru sejak sapuan
terakhir yang berhasil (watermark), jadi sapuan yang terlewat tercakup oleh sapuan berikutnya.
6. **Pantau** (waktu baku {STEP6.standard_minutes} menit) — 7. **Teruskan** ke bidang
(waktu baku {STEP7.standard_minutes} menit; satu ringkasan per bidang per sapuan; spam tidak diteruskan).
""",
)
def sop_monitor() -> None:
    @task(task_id=STEP6.task_id, task_display_name=STEP6.display_name)
    def pantau(**context: Any) -> dict[str, Any]:
        dr = context["dag_run"]
        run_type = str(getattr(dr.run_type, "value", dr.run_type))
        return monitor(cfg, get_ledger(), run_id=dr.run_id, run_type=run_type, when=dr.run_after)

    @task(task_id=STEP7.task_id, task_display_name=STEP7.display_name)
    def teruskan(sweep: dict[str, Any]) -> list[dict[str, Any]]:
        return forward_items(cfg, get_ledger(), sweep["sweep_id"])

    TriggerDagRunOperator.partial(
        task_id="sop08_mulai_tindak_lanjut",
        task_display_name="8. Mulai tindak lanjut per informasi",
        trigger_dag_id="sop_follow_up",
        skip_when_already_exists=True,
    ).expand_kwargs(teruskan(pantau()))


sop_monitor()
