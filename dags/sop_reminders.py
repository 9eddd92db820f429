"""Pengingat SOP: verifikator (langkah 2–4) dan penyetuju balasan yang melewati waktu baku,
bidang yang belum menindaklanjuti (langkah 8) dan batas waktu permohonan informasi publik."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import dag, task
from airflow.timetables.trigger import CronTriggerTimetable

from sop_tasks.airflow import followup as fua
from sop_tasks.airflow.dag_support import dag_config, default_args
from sop_tasks.airflow.ledger import get_ledger
from sop_tasks.airflow.notify import notify
from sop_tasks.reminders import check_holiday_data, send_reminders
from sop_tasks.sop import step

cfg = dag_config()
STEP9 = step(9)


@dag(
    dag_id="sop_pengingat",
    dag_display_name="Pengingat SOP: verifikasi, tindak lanjut dan batas PPID",
    description="Setiap 5 menit: ingatkan verifikator, penyetuju balasan dan bidang yang melewati "
    "waktu baku, dan batas PPID yang mendekat.",
    schedule=timedelta(minutes=5),
    catchup=False,
    max_active_runs=1,
    tags=["sop", "pengingat"],
    default_args=default_args(cfg),
    doc_md="Tidak ada yang disetujui karena menunggu: pengingat dikirim tiap "
    f"{cfg.reminder_every_minutes} menit setelah waktu baku terlewati, dan verifikasi tetap menunggu.\n\n"
    f"Balasan yang menunggu persetujuan {cfg.verifier(fua.REPLY_APPROVER_ROLE).title} diingatkan "
    f"setelah waktu baku langkah {STEP9.number} ({STEP9.standard_minutes} menit dari jawaban sampai "
    f"diunggah), lalu tiap {cfg.reminder_every_minutes} menit.",
)
def sop_pengingat() -> None:
    @task(task_id="kirim_pengingat", task_display_name="Kirim pengingat verifikasi")
    def remind(**_: Any) -> int:
        return len(send_reminders(get_ledger(), cfg, notify))

    @task(task_id="pengingat_tindak_lanjut", task_display_name="Pengingat tindak lanjut dan batas PPID")
    def remind_follow_ups(**_: Any) -> int:
        return fua.reminders(get_ledger(), cfg, notify)

    @task(task_id="pengingat_persetujuan_balasan", task_display_name="Pengingat persetujuan balasan")
    def remind_reply_approvals(**_: Any) -> int:
        return fua.approval_reminders(get_ledger(), cfg, notify)

    remind()
    remind_follow_ups()
    remind_reply_approvals()


sop_pengingat()


@dag(
    dag_id="sop_cek_harian",
    dag_display_name="Pemeriksaan harian: daftar cuti bersama",
    description="Setiap pagi 07:00: ingatkan pengelola bila daftar cuti bersama di config/office.yaml "
    "akan habis dalam 60 hari.",
    schedule=CronTriggerTimetable("0 7 * * *", timezone=cfg.timezone),
    catchup=False,
    max_active_runs=1,
    tags=["sop", "pengingat"],
    default_args=default_args(cfg),
    doc_md="Hari kerja (batas PPID, pengingat, bukti pemantauan) = Senin–Jumat tanpa libur nasional "
    "(otomatis) dan tanpa hari libur kantor (`holidays` di config/office.yaml: cuti bersama, libur "
    "daerah). Bila tahun berjalan belum ada di daftar itu, atau tahun berikutnya belum ada dan akhir "
    "tahun tinggal kurang dari 60 hari, pengelola diingatkan (log dan email).",
)
def sop_cek_harian() -> None:
    @task(task_id="cek_cuti_bersama", task_display_name="Periksa daftar cuti bersama")
    def check(**_: Any) -> str | None:
        return check_holiday_data(cfg, notify, datetime.now(cfg.tz).date())

    check()


sop_cek_harian()
