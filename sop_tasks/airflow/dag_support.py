"""Helpers the DAG files share: config at parse time, the publish form, default args."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from airflow.sdk import Param

from sop_tasks.config import CHANNEL_NAMES, CHANNELS, OfficeConfig, load_config
from sop_tasks.errors import ConfigError, ContentError, SopConfigImportError


def dag_config() -> OfficeConfig:
    """The office config for a DAG file; an invalid config becomes one clear import error."""
    try:
        return load_config()
    except ConfigError as exc:
        raise SopConfigImportError(
            f"{exc}\nPerbaiki berkas di atas (jalankan `sop check-config`), DAG dimuat ulang otomatis."
        ) from None


def first_step(step: Callable[..., dict[str, Any]], context: Any, cfg: OfficeConfig) -> dict[str, Any]:
    """Run a DAG's first task body (SOP step 1 or 10) on the run's form and identity.

    Refused content fails the task at once with every problem (no retry: the form is wrong).
    """
    from airflow.sdk.exceptions import AirflowFailException

    from sop_tasks.airflow.ledger import get_ledger

    dag_run = context["dag_run"]
    ledger = get_ledger()
    sid = ledger.submission_id(dag_run.dag_id, dag_run.run_id)
    if sid is not None and any(e.event == "invalid" for e in ledger.events(sid)):
        # A cleared task of a refused run: its form cannot change, and the refusal is recorded.
        raise AirflowFailException(
            f"Formulir run ini sudah ditolak (pengajuan {sid}, lihat catatan run atau "
            "`sop records list`). Isian run tidak dapat diubah: perbaiki lalu picu (Trigger) run baru."
        )
    try:
        return step(
            dict(context["params"]),
            dag_id=dag_run.dag_id,
            run_id=dag_run.run_id,
            submitted_by=getattr(dag_run, "triggering_user_name", None),
            run_started=dag_run.start_date,
            ledger=ledger,
            cfg=cfg,
        )
    except ContentError as exc:
        raise AirflowFailException(str(exc)) from None


def default_args(cfg: OfficeConfig) -> dict[str, Any]:
    return {
        "owner": "pengelola_ti",
        "retries": 2,
        "retry_delay": timedelta(seconds=cfg.retry_delay_seconds),
    }


def media_help(cfg: OfficeConfig) -> str:
    return (
        f"nama berkas di folder media ({cfg.path('media')}) atau alamat http(s). "
        "JPEG/PNG maksimal 8 MB, MP4/MOV maksimal 100 MB."
    )


def publish_form(cfg: OfficeConfig) -> dict[str, Param]:
    """The trigger form of ``sop_publish`` (field names fixed by DESIGN.md)."""
    channels = [c for c in CHANNELS if c in cfg.channels]
    return {
        "title": Param(
            "",
            type="string",
            title="Judul",
            description="Judul konten; dipakai sebagai judul tulisan di Website.",
        ),
        "body": Param(
            "",
            type="string",
            format="multiline",
            title="Isi",
            description="Isi konten (teks biasa). Paragraf dipisah baris kosong.",
        ),
        "channels": Param(
            channels,
            type="array",
            items={"type": "string", "enum": channels},
            examples=channels,
            values_display={c: CHANNEL_NAMES[c] for c in channels},
            title="Kanal",
            description="Media sosial tujuan unggah.",
        ),
        "caption_instagram": Param(
            None,
            type=["null", "string"],
            format="multiline",
            title="Keterangan Instagram (opsional)",
            description="Kosongkan untuk memakai judul + isi. Maksimal 2.200 karakter dan 30 tagar.",
        ),
        "text_twitter": Param(
            None,
            type=["null", "string"],
            format="multiline",
            title="Teks X/Twitter (opsional)",
            description="Kosongkan untuk memakai judul + isi yang dipendekkan. Maksimal 280 karakter "
            "berbobot (emoji 2, setiap tautan 23).",
        ),
        "media": Param(
            [],
            type="array",
            items={"type": "string"},
            title="Media",
            description=f"Satu per baris: {media_help(cfg)}",
        ),
        "publish_at": Param(
            None,
            type=["null", "string"],
            format="date-time",
            title="Waktu tayang (opsional, WIB)",
            description="Kosongkan untuk mengunggah segera setelah disetujui Kepala Dinas.",
        ),
        "revision_of": Param(
            None,
            type=["null", "string"],
            title="Revisi dari (opsional)",
            description="Run ID pengajuan sebelumnya yang dikembalikan dan kini direvisi.",
        ),
    }


def update_form(cfg: OfficeConfig) -> dict[str, Param]:
    """The trigger form of ``sop_update``: which submission, why, and only what changed."""
    keep = "Kosongkan bila tidak berubah."
    channels = [c for c in CHANNELS if c in cfg.channels]
    return {
        "submission_id": Param(
            0,
            type="integer",
            minimum=1,
            title="Nomor pengajuan yang dimutakhirkan",
            description="Pengajuan yang sudah diunggah (lihat `sop records list` atau catatan run "
            "sop_publish).",
        ),
        "reason": Param(
            "",
            type="string",
            format="multiline",
            minLength=5,
            title="Alasan pemutakhiran",
            description="Data apa yang berubah dan mengapa; dibaca ketiga verifikator dan dicatat.",
        ),
        "title": Param(None, type=["null", "string"], title="Judul baru", description=keep),
        "body": Param(None, type=["null", "string"], format="multiline", title="Isi baru", description=keep),
        "channels": Param(
            [],
            type="array",
            items={"type": "string", "enum": channels},
            examples=channels,
            values_display={c: CHANNEL_NAMES[c] for c in channels},
            title="Kanal",
            description="Kosongkan untuk semua kanal tempat konten itu diunggah.",
        ),
        "caption_instagram": Param(
            None,
            type=["null", "string"],
            format="multiline",
            title="Keterangan Instagram baru",
            description=f"{keep} Hanya keterangan yang dapat diubah di Instagram; medianya tetap.",
        ),
        "text_twitter": Param(
            None,
            type=["null", "string"],
            format="multiline",
            title="Teks X/Twitter baru",
            description=f"{keep} Di X dipasang sebagai balasan koreksi atau unggah ulang "
            "(lihat config follow_up.x_update).",
        ),
        "media": Param(
            [],
            type="array",
            items={"type": "string"},
            title="Media baru",
            description=f"{keep} Satu per baris: {media_help(cfg)}",
        ),
    }
