"""SOP langkah 7: latih ulang model pengarahan tiap minggu dari koreksi bidang."""

from __future__ import annotations

from typing import Any

from airflow.sdk import CronTriggerTimetable, dag, task

from sop_tasks.airflow.dag_support import dag_config, default_args
from sop_tasks.airflow.ledger import get_ledger

cfg = dag_config()


@dag(
    dag_id="sop_routing_latih",
    dag_display_name="SOP 7: Latih ulang pengarahan informasi masuk (mingguan)",
    description="Latih model pengarahan dari contoh berlabel dan koreksi bidang; "
    "dipakai hanya bila tidak lebih buruk.",
    schedule=CronTriggerTimetable("0 2 * * 1", timezone=cfg.timezone),  # Senin 02:00 WIB
    catchup=False,
    max_active_runs=1,
    tags=["sop", "pengarahan"],
    default_args=default_args(cfg),
    doc_md="""
### SOP langkah 7 — pengarahan yang belajar dari koreksi
Setiap Senin 02:00 WIB: model dilatih dari data berlabel repositori ditambah setiap koreksi bidang
(*Teruskan* ke bidang lain, "bukan untuk kami", spam / bukan spam, spam yang dipulihkan), lalu
dinilai pada **bagian uji beku** (tidak pernah dipakai melatih). Model baru dipakai hanya bila
akurasi bidang, recall spam dan spam salah tandai semuanya tidak lebih buruk dari model yang
sedang dipakai; bila lebih buruk, model lama tetap dipakai. Setiap versi tercatat
(`sop route --riwayat`); `sop route "…"` menyebut versi yang dipakai.
""",
)
def sop_routing_latih() -> None:
    @task(task_id="latih_dan_nilai", task_display_name="7. Latih, nilai pada uji beku, pakai bila lebih baik")
    def latih(**_: Any) -> dict[str, Any]:
        from sop_tasks.routing import load_rules
        from sop_tasks.routing.training import retrain

        result = retrain(get_ledger(), load_rules(bidang_codes=[b.code for b in cfg.bidang]))
        return {"version": result.version, "replaced": result.replaced, "previous": result.previous}

    latih()


sop_routing_latih()
