"""Task bodies of ``sop_update`` (SOP step 10, pemutakhiran): prepare the version, update per channel."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, cast

from sop_tasks import update
from sop_tasks.airflow.publish import CONN_IDS, connected, record_refusal, safe_name, write_channel
from sop_tasks.channels import Publisher, PublishResult
from sop_tasks.channels.base import Updater
from sop_tasks.config import CHANNEL_NAMES, OfficeConfig
from sop_tasks.content import PreparedContent
from sop_tasks.errors import ContentError, CredentialsError, NotFoundError, RejectedContentError, VersionTaken
from sop_tasks.records.kinds import ChannelAction, StepEventKind
from sop_tasks.records.ledger import Ledger
from sop_tasks.sop import step

log = logging.getLogger(__name__)
STEP10 = step(10)
PREPARE_TASK = "sop10_siapkan"


def _original(ledger: Ledger, raw: Any) -> tuple[int, str]:
    """The published submission an update form names, or ContentError saying what to fix."""
    try:
        sid = int(raw)
    except (TypeError, ValueError):
        raise ContentError(
            [f"Nomor pengajuan (submission_id) '{raw}' bukan angka; lihat nomornya dengan `sop records list`"]
        ) from None
    sub = ledger.submission(sid)
    if sub is None:
        raise ContentError(
            [
                f"Pengajuan {sid} tidak ada di catatan; lihat nomor pengajuan yang sudah diunggah "
                "dengan `sop records list`"
            ]
        )
    if sub.kind == "update":  # an update's number means the submission it updated
        original = ledger.update_of(sid)
        if original is None:
            raise ContentError(
                [f"Pemutakhiran {sid} tidak menyebut pengajuan asli; pakai nomor pengajuan asli"]
            )
        return _original(ledger, original)
    if not ledger.live_posts(sid):
        status = (ledger.summary_of(sid) or {}).get("status", "?")
        raise ContentError(
            [
                f"Pengajuan {sid} ({sub.title}) belum diunggah (status: {status}); hanya konten yang "
                "sudah diunggah yang dapat dimutakhirkan — ajukan konten ini lewat sop_publish"
            ]
        )
    return sid, sub.title


def prepare(
    form: dict[str, Any],
    *,
    dag_id: str,
    run_id: str,
    submitted_by: str | None,
    run_started: datetime | None,
    ledger: Ledger,
    cfg: OfficeConfig,
) -> dict[str, Any]:
    """Step 10's first part: check the changed content against the live version; record it.

    A refused form is recorded too (kind ``update``, event ``invalid``, with every problem), so
    nothing the officer sent is lost.
    """
    started = run_started or datetime.now(UTC)
    title = str(form.get("title") or "(pemutakhiran)")
    original_id: int | None = None
    try:
        original_id, title = _original(ledger, form.get("submission_id"))
        base_version, base_json = ledger.live_version(original_id)
        live = ledger.live_contents(original_id)
        posts = ledger.live_posts(original_id)
        stranded = [c for c, p in posts.items() if p.mode != "live" and connected(c)]
        next_version = ledger.next_version(original_id)
        p = update.plan(
            form,
            original_id=original_id,
            base=PreparedContent.from_json(base_json),
            base_version=base_version,
            next_version=next_version,
            live={c: PreparedContent.from_json(content) for c, (_, content) in live.items()},
            stranded=stranded,
            cfg=cfg,
            staging=cfg.path("staging") / safe_name(run_id),
        )
        uid = ledger.open_submission(
            dag_id=dag_id,
            run_id=run_id,
            kind="update",
            title=p.content.title,
            content=p.content.to_json(),
            content_hash=p.content.content_hash(),
            revision_of=str(original_id),
            submitted_by=submitted_by,
        )
        try:
            version = ledger.add_content_version(
                original_id,
                uid,
                version=next_version,
                content=p.content.to_json(),
                diff=p.diff,
                reason=p.reason,
            )
        except VersionTaken:
            raise ContentError(
                [
                    f"Pemutakhiran lain untuk pengajuan {original_id} disiapkan pada saat yang sama; "
                    "picu (Trigger) sop_update baru agar dibandingkan dengan versi terbaru"
                ]
            ) from None
    except ContentError as exc:
        record_refusal(
            ledger,
            exc,
            form,
            dag_id=dag_id,
            run_id=run_id,
            kind="update",
            step_no=STEP10.number,
            title=title,
            revision_of=None if original_id is None else str(original_id),
            submitted_by=submitted_by,
            started=started,
        )
        raise
    ledger.add_event(
        uid,
        STEP10.number,
        StepEventKind.VALID,
        actor=submitted_by,
        started_at=started,
        ended_at=datetime.now(UTC),
        detail={
            "update_of": original_id,
            "unchanged": list(p.unchanged),
            "notes": list(p.notes),
            "based_on": {c: live[c][0] for c in p.content.channels},
        },
    )
    log.info(
        "Pemutakhiran %s (versi %s dari pengajuan %s) valid untuk kanal %s",
        uid,
        version.version,
        original_id,
        ", ".join(p.content.channels),
    )
    return {"submission_id": uid, "update_of": original_id, "channels": list(p.content.channels)}


def update_channel(
    channel: str,
    update_id: int,
    *,
    ledger: Ledger,
    cfg: OfficeConfig,
    run: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """Step 10 for one channel, exactly once and only with the three recorded approvals: change
    the live post (or post the X correction). ``run``: the writing run, as for uploads."""
    version = ledger.content_version(update_id)
    sub = ledger.submission(update_id)
    if version is None or sub is None:
        raise NotFoundError.submission(update_id, what="Pemutakhiran")
    name = CHANNEL_NAMES[channel]
    post = ledger.live_posts(version.submission_id).get(channel)
    if post is None:
        raise RejectedContentError(
            channel, f"{name}: pengajuan {version.submission_id} tidak pernah diunggah ke kanal ini"
        )
    prepared = next((e.detail or {} for e in ledger.events(update_id) if e.event == StepEventKind.VALID), {})
    based_on = (prepared.get("based_on") or {}).get(channel)
    now_live = ledger.live_contents(version.submission_id).get(channel, (1, {}))[0]
    if based_on is not None and now_live != based_on and ledger.final_result(update_id, channel) is None:
        raise RejectedContentError(
            channel,
            f"{name}: pengajuan {version.submission_id} sudah dimutakhirkan lagi (kini versi {now_live}) "
            f"sejak pemutakhiran ini disiapkan dari versi {based_on}; tidak diubah agar perubahan itu "
            "tidak tertimpa. Ajukan pemutakhiran baru dari versi terbaru",
        )
    action = ChannelAction(cfg.follow_up.x_update) if channel == "twitter" else ChannelAction.UPDATE

    def attempt(publisher: Publisher, key: str, retrying: bool, content: PreparedContent) -> PublishResult:
        # A retry after an ambiguous failure changes or posts nothing twice: WordPress and
        # Instagram edits are idempotent; X looks for the earlier attempt's post when retrying.
        if post.mode == "live" and publisher.mode != "live":
            raise CredentialsError(
                channel,
                f"{name}: koneksi {CONN_IDS[channel]} tidak ada lagi, jadi kiriman yang tayang tidak "
                "dapat diubah (tidak ditulis ke outbox agar catatan tetap benar); pulihkan koneksi itu "
                "lalu bersihkan (clear) tugas ini",
            )
        if publisher.mode == "live" and (post.mode != "live" or not post.post_id):
            raise RejectedContentError(
                channel,
                f"{name}: pengajuan {version.submission_id} dulu hanya ditulis ke outbox (koneksi belum "
                "diatur), jadi tidak ada kiriman yang dapat diperbarui; unggah sebagai konten baru "
                "lewat sop_publish",
            )
        return cast(Updater, publisher).update(post.post_id or "", content, key, look_first=retrying)

    return write_channel(
        channel,
        update_id,
        ledger=ledger,
        cfg=cfg,
        step_no=STEP10.number,
        attempt=attempt,
        action=action,
        run=run,
    )
