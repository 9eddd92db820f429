"""SOP langkah 5 untuk unggahan yang tertahan di outbox: kirim ke kanal yang kini terhubung."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, task

from sop_tasks.airflow.dag_support import dag_config, default_args
from sop_tasks.airflow.release import DAG_ID, release_task
from sop_tasks.config import CHANNEL_NAMES

cfg = dag_config()


@dag(
    dag_id=DAG_ID,
    dag_display_name="SOP 5: Unggah dari outbox ke kanal yang sudah terhubung",
    description="Kirim unggahan yang disetujui tetapi tertahan di outbox ke kanal yang kini punya koneksi.",
    schedule=None,
    catchup=False,
    tags=["sop", "publikasi"],
    default_args=default_args(cfg),
    params={
        "submission_id": Param(
            type="integer", minimum=1, title="Nomor pengajuan", description="Lihat `sop records list`."
        ),
        "channels": Param(
            ["website"],
            type="array",
            minItems=1,
            items={"type": "string", "enum": list(cfg.channels)},
            title="Kanal",
            description="Kanal yang dipilih pengajuan itu, hasilnya outbox, dan kini punya koneksi.",
        ),
    },
    doc_md="""
### Unggah dari outbox
Pengajuan yang sudah disetujui tiga kali tetapi diunggah ke **outbox** (koneksi kanal belum ada
saat itu) dikirim ke kanal yang kini punya koneksi — sekali saja. Persetujuan langkah 2–4 untuk
isi itu tetap diperiksa. Ditolak bila kanal tidak dipilih, tidak punya hasil outbox, koneksinya
belum ada, atau sudah tayang. Dari baris perintah: `sop terbitkan NOMOR --kanal website`.
""",
)
def sop_terbitkan() -> None:
    for channel in cfg.channels:

        @task(
            task_id=f"sop05_terbitkan_{channel}",
            task_display_name=f"Unggah dari outbox — {CHANNEL_NAMES[channel]}",
            retries=3,
            max_active_tis_per_dag=1,
        )
        def release(channel: str = channel, **context: Any) -> dict[str, Any]:
            return release_task(channel, context, cfg)

        release()


sop_terbitkan()
