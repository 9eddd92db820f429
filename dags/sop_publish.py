"""SOP langkah 1–5: siapkan, verifikasi tiga kali, unggah. See ../shared/SOP.md."""

from __future__ import annotations

from typing import Any

from airflow.sdk import chain, dag, task

from sop_tasks.airflow import publish
from sop_tasks.airflow.dag_support import dag_config, default_args, first_step, publish_form
from sop_tasks.airflow.operators import PublishChannelOperator, VerifyOperator
from sop_tasks.sop import SOP_NUMBER, VERIFY_STEPS, step

cfg = dag_config()
STEP1 = step(1)


@dag(
    dag_id="sop_publish",
    dag_display_name="SOP 1–5: Publikasi konten (Website, Instagram, X)",
    description="Siapkan konten, verifikasi Kasubag → Kabid → Kadis, lalu unggah.",
    schedule=None,
    catchup=False,
    max_active_runs=50,
    tags=["sop", "publikasi"],
    default_args=default_args(cfg),
    params=publish_form(cfg),
    doc_md=f"""
### SOP {SOP_NUMBER} — langkah 1–5
1. **Identifikasi** konten (pengelola TI): formulir ini; isi diperiksa per kanal sebelum diverifikasi.
2. **Verifikasi** Kasubag Umum dan Kepegawaian — 3. Kepala Bidang — 4. Kepala Dinas
   (Browse → Required Actions). *Tidak* mengembalikan konten; revisi lalu jalankan lagi dengan
   `revision_of`.
5. **Unggah** ke setiap kanal yang dipilih, paralel; bila formulir mengisi waktu tayang, unggahan
   menunggu (tanpa memakai slot worker) sampai saat itu (WIB).
""",
)
def sop_publish() -> None:
    @task(task_id=STEP1.task_id, task_display_name=STEP1.display_name, retries=1)
    def identify(**context: Any) -> dict[str, Any]:
        return first_step(publish.identify, context, cfg)

    verifications = [VerifyOperator(sop_step=s, cfg=cfg, retries=2) for s in VERIFY_STEPS]
    uploads = [PublishChannelOperator(channel=c, cfg=cfg, retries=3) for c in cfg.channels]

    chain(identify(), *verifications, uploads)


sop_publish()
