"""SOP langkah 8–9: bidang menindaklanjuti informasi masuk; jawaban diunggah di tempat asalnya."""

from __future__ import annotations

import logging
from typing import Any

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import Param, dag, task

from sop_tasks.airflow import followup as fua
from sop_tasks.airflow.dag_support import dag_config, default_args
from sop_tasks.airflow.ledger import get_ledger
from sop_tasks.airflow.operators import platform_outcomes
from sop_tasks.sop import step

log = logging.getLogger(__name__)
cfg = dag_config()
STEP8, STEP9 = step(8), step(9)
APPROVAL = cfg.follow_up.replies_need_approval  # read at parse time: the task exists only when on
APPROVAL_DOC = (
    f"   *Balas* lebih dulu disetujui {cfg.verifier(fua.REPLY_APPROVER_ROLE).title} "
    "(SOP peringatan 1; *Tidak* = balasan tidak diunggah dan dikembalikan ke bidang yang sama:\n"
    "   run revisi `tindak_lanjut__item<N>__<bidang>__revisi<k>` meminta jawaban baru).\n"
    if APPROVAL
    else ""
)


@dag(
    dag_id="sop_follow_up",
    dag_display_name="SOP 8–9: Tindak lanjut dan balasan informasi masuk",
    description="Satu run per informasi masuk yang diteruskan: bidang menjawab, balasan diunggah.",
    schedule=None,
    catchup=False,
    max_active_runs=100,
    render_template_as_native_obj=True,
    tags=["sop", "tindak-lanjut"],
    default_args=default_args(cfg),
    params={
        "item_id": Param(
            0,
            type="integer",
            minimum=1,
            title="Nomor informasi masuk",
            description="Lihat `sop records incoming`.",
        ),
        "bidang": Param(
            None,
            type=["null", "string"],
            enum=[None, *(b.code for b in cfg.bidang)],
            title="Bidang (opsional)",
            description="Kosongkan untuk memakai bidang hasil rute.",
        ),
    },
    doc_md=f"""
### SOP langkah 8–9
8. **Tindak lanjut** oleh bidang terkait (Browse → Required Actions): *Balas*, *Tidak perlu
   dibalas* (dengan alasan), atau *Teruskan* ke bidang lain (memulai tindak lanjut baru).
{APPROVAL_DOC}9. **Unggah tindak lanjut**: jawaban diunggah di tempat pesan masuk (balasan komentar Website,
   balasan di X, balasan komentar/DM Instagram) — waktu baku {STEP9.standard_minutes} menit.
""",
)
def sop_follow_up() -> None:
    @task(task_id=fua.PREPARE_TASK, task_display_name="8. Siapkan tindak lanjut", retries=0)
    def siapkan(**context: Any) -> dict[str, Any]:
        return fua.prepare(
            dict(context["params"]), run_id=context["dag_run"].run_id, ledger=get_ledger(), cfg=cfg
        )

    decide = fua.FollowUpOperator(cfg=cfg, retries=2)

    @task(task_id=fua.REPLY_TASK, task_display_name=STEP9.display_name, retries=3)
    def unggah_balasan(**context: Any) -> dict[str, Any]:
        info = context["ti"].xcom_pull(task_ids=fua.PREPARE_TASK)
        with platform_outcomes(log):  # like uploads: no login loop, rate limits reschedule
            return fua.post_reply(
                int(info["item_id"]),
                info["bidang"],
                ledger=get_ledger(),
                cfg=cfg,
                run_id=getattr(context.get("dag_run"), "run_id", None),  # the decision must be this run's
            )

    @task(task_id=fua.NO_REPLY_TASK, task_display_name="8. Selesai tanpa balasan")
    def tanpa_balasan(**context: Any) -> str:
        return "dicatat: tidak perlu dibalas"

    # The new bidang's follow-up is a run of this DAG, like the ones sop_monitor starts (same run id
    # and conf); its run id and conf are pushed by the decision when the bidang chooses Teruskan.
    reroute_xcom = f"ti.xcom_pull(task_ids='{fua.DECIDE_TASK}', key='{fua.REROUTE_XCOM}')"
    reroute = TriggerDagRunOperator(
        task_id=fua.REROUTE_TASK,
        task_display_name="8. Teruskan ke bidang lain",
        trigger_dag_id="sop_follow_up",
        trigger_run_id="{{ " + reroute_xcom + "['run_id'] }}",
        conf="{{ " + reroute_xcom + "['conf'] }}",  # rendered natively: a dict
        skip_when_already_exists=True,
    )

    reply = unggah_balasan()
    if APPROVAL:
        approve = fua.ReplyApprovalOperator(cfg=cfg, retries=2)
        # "Tidak — kembalikan": the same bidang answers again in a revision run of this DAG (the
        # returned reply and the reason in its question); its run id and conf come from the approval.
        revision_xcom = f"ti.xcom_pull(task_ids='{fua.APPROVE_TASK}', key='{fua.REVISION_XCOM}')"
        revise = TriggerDagRunOperator(
            task_id=fua.REVISE_TASK,
            task_display_name="8. Kembalikan ke bidang (revisi balasan)",
            trigger_dag_id="sop_follow_up",
            trigger_run_id="{{ " + revision_xcom + "['run_id'] }}",
            conf="{{ " + revision_xcom + "['conf'] }}",  # rendered natively: a dict
            skip_when_already_exists=True,
        )
        approve >> [reply, revise]
        siapkan() >> decide >> [approve, tanpa_balasan(), reroute]
    else:
        siapkan() >> decide >> [reply, tanpa_balasan(), reroute]


sop_follow_up()
