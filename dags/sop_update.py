"""SOP langkah 10: pemutakhiran data/informasi yang sudah diunggah, diverifikasi seperti unggahan baru."""

from __future__ import annotations

from typing import Any

from airflow.sdk import chain, dag, task
from airflow.sdk.exceptions import AirflowFailException

from sop_tasks.airflow import update
from sop_tasks.airflow.dag_support import dag_config, default_args, update_form
from sop_tasks.airflow.ledger import get_ledger
from sop_tasks.airflow.operators import UpdateChannelOperator, VerifyOperator
from sop_tasks.errors import ContentError
from sop_tasks.sop import VERIFY_STEPS

cfg = dag_config()
STEP10 = update.STEP10
X_UPDATE = {"reply": "balasan koreksi pada unggahan asli", "repost": "hapus lalu unggah ulang"}


@dag(
    dag_id="sop_update",
    dag_display_name="SOP 10: Pemutakhiran data/informasi yang sudah diunggah",
    description="Ubah konten yang sudah tayang: verifikasi Kasubag → Kabid → Kadis, lalu perbarui.",
    schedule=None,
    catchup=False,
    max_active_runs=20,
    tags=["sop", "pemutakhiran"],
    default_args=default_args(cfg),
    params=update_form(cfg),
    doc_md=f"""
### SOP langkah 10 — pemutakhiran
Isi nomor pengajuan yang sudah diunggah, alasan, dan **hanya kolom yang berubah**.
Perubahan diverifikasi Kasubag Umum dan Kepegawaian → Kepala Bidang → Kepala Dinas seperti
unggahan baru (peringatan 1 SOP), lalu setiap kanal diperbarui:
Website — tulisan yang sama diubah di tempat; Instagram — keterangan kiriman diubah;
X — {X_UPDATE[cfg.follow_up.x_update]}. Setiap versi dicatat beserta perbedaannya.
Waktu baku {STEP10.standard_minutes} menit.
""",
)
def sop_update() -> None:
    @task(task_id=update.PREPARE_TASK, task_display_name="10. Siapkan pemutakhiran", retries=1)
    def siapkan(**context: Any) -> dict[str, Any]:
        dag_run = context["dag_run"]
        try:
            return update.prepare(
                dict(context["params"]),
                dag_id=dag_run.dag_id,
                run_id=dag_run.run_id,
                submitted_by=getattr(dag_run, "triggering_user_name", None),
                run_started=dag_run.start_date,
                ledger=get_ledger(),
                cfg=cfg,
            )
        except ContentError as exc:
            raise AirflowFailException(str(exc)) from None

    verifications = [
        VerifyOperator(sop_step=s, cfg=cfg, source_task_id=update.PREPARE_TASK, retries=2)
        for s in VERIFY_STEPS
    ]
    updates = [UpdateChannelOperator(channel=c, cfg=cfg, retries=3) for c in cfg.channels]
    chain(siapkan(), *verifications, updates)


sop_update()
