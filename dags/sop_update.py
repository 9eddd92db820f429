"""SOP langkah 10: pemutakhiran data/informasi yang sudah diunggah, diverifikasi seperti unggahan baru."""

from __future__ import annotations

from typing import Any

from airflow.sdk import chain, dag, task

from sop_tasks.airflow import update
from sop_tasks.airflow.dag_support import dag_config, default_args, first_step, update_form
from sop_tasks.airflow.operators import UpdateChannelOperator, VerifyOperator
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
        return first_step(update.prepare, context, cfg)

    verifications = [
        VerifyOperator(sop_step=s, cfg=cfg, source_task_id=update.PREPARE_TASK, retries=2)
        for s in VERIFY_STEPS
    ]
    updates = [UpdateChannelOperator(channel=c, cfg=cfg, retries=3) for c in cfg.channels]
    chain(siapkan(), *verifications, updates)


sop_update()
