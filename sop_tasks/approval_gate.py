"""The approval gate: SOP warning 1 checked against the records right before every channel write.

Nothing here trusts Airflow's state. A verification task marked "success" by hand never ran its
``execute_complete``, so no approval event exists; a cleared or re-run task, a forged trigger
conf or an edited XCom change nothing in the records either. The gate reads only the records
and the office config:

- an upload (step 5) or update (step 10) needs steps 2, 3 and 4 each answered "Ya" by a user the
  config assigns to that step, in order (each after its own request and after the step before),
  for this exact content version — the hash shown with the question, the submission's stored
  hash and a fresh hash of the content about to be written all equal, and every staged media
  file still has the checksum the verifiers saw — and no "Tidak" at all
  (a revision is a new submission). The submission must be the one the writing run recorded —
  with one narrow, explicit exception: releasing an outbox upload live (``sop_terbitkan``,
  ``release=`` below) runs in another run, so instead of the run binding the channel must be one
  the submission chose, its upload must have settled in the outbox, and it must not be live yet.
  The approvals are required all the same.
- a reply (step 9) needs the bidang's standing decision "Balas" with this very text, by a user
  of a bidang the item was forwarded to; with ``follow_up.replies_need_approval`` also the
  approval of this very text (its hash) by a user assigned to approve replies.

Missing anything raises :class:`~sop_tasks.errors.ApprovalMissingError` naming each gap, in
Indonesian. This module imports no Airflow.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from sop_tasks.config import OfficeConfig
from sop_tasks.content import PreparedContent, staged_problem
from sop_tasks.errors import ApprovalMissingError
from sop_tasks.followup import EVENT_APPROVED, EVENT_RETURNED, returned_replies, standing_decision, verdict_on
from sop_tasks.records.kinds import FINAL_RESULTS, ChannelAction, ResultStatus, StepEventKind
from sop_tasks.records.models import ChannelResult, FollowUpEvent, StepEvent, Submission
from sop_tasks.sop import VERIFY_STEPS

RESUBMIT = "kirim ulang formulir (picu sop_publish baru) agar diverifikasi lagi"
HASH_KEY = "content_hash"  # StepEvent.detail of "requested" (shown) and "approved" (answered)
TEXT_HASH_KEY = "text_hash"  # FollowUpEvent.detail of a reply approval: the text approved


def text_hash(text: str | None) -> str:
    """The hash that binds a reply approval to one reply text."""
    return hashlib.sha256((text or "").encode()).hexdigest()


def _role_title(cfg: OfficeConfig, role: str) -> str:
    try:
        return cfg.verifier(role).title
    except KeyError:
        return role


def _label(cfg: OfficeConfig, number: int, role: str) -> str:
    return f"langkah {number} ({_role_title(cfg, role)})"


def _first_step_event(sub: Submission, events: Sequence[StepEvent]) -> StepEvent | None:
    """Where the chain starts: the submission's "valid" event (step 1, or 10 for an update)."""
    return next((e for e in events if e.event == StepEventKind.VALID), None)


def release_problems(sub: Submission, channel: str | None, results: Iterable[ChannelResult]) -> list[str]:
    """Why an outbox upload of ``channel`` may not be released live now ([] = it may).

    The only runs allowed to write a submission they did not record: the channel's upload
    (step 5, action publish) settled in the outbox, and no live result exists for it yet.
    """
    if channel is None:
        return ["pelepasan dari outbox harus menyebut satu kanal"]
    mine = [r for r in results if r.channel == channel and r.status in FINAL_RESULTS]
    live = [r for r in mine if r.mode == "live" or r.status == ResultStatus.PUBLISHED]
    if live:
        return [
            f"kanal {channel} pengajuan {sub.id} sudah tayang: {live[-1].url or '(tanpa URL)'}; "
            "tidak perlu diunggah lagi"
        ]
    uploads = [r for r in mine if r.action in (None, ChannelAction.PUBLISH)]
    if not any(r.status == ResultStatus.OUTBOX for r in uploads):
        return [
            f"kanal {channel} pengajuan {sub.id} tidak punya hasil unggahan di outbox; hanya unggahan "
            "yang tertahan di outbox yang dapat dikirim dari sini (lihat `sop records list`)"
        ]
    return []


def submission_problems(
    sub: Submission | None,
    events: Iterable[StepEvent],
    cfg: OfficeConfig,
    *,
    content: PreparedContent | None,
    run: tuple[str, str] | None = None,
    submission_id: int | None = None,
    channel: str | None = None,
    release: Iterable[ChannelResult] | None = None,
) -> list[str]:
    """Every reason the submission may not be written to a channel now ([] = approved).

    ``release``: the submission's channel results, given only when releasing an outbox upload
    live from another run (see the module doc): replaces the run binding, never the approvals.
    """
    if sub is None:
        return [f"pengajuan {submission_id} tidak ada di catatan"]
    problems: list[str] = []
    if channel is not None and content is not None and channel not in content.channels:
        problems.append(
            f"kanal {channel} tidak termasuk kanal pengajuan {sub.id} yang diverifikasi; pilih kanal itu "
            "di formulir baru agar diverifikasi"
        )
    if release is not None:
        problems.extend(release_problems(sub, channel, release))
    elif run is not None and (sub.dag_id, sub.run_id) != run:
        problems.append(
            f"pengajuan {sub.id} bukan pengajuan run ini ({run[0]} / {run[1]}); hanya pengajuan yang "
            "dicatat oleh run itu sendiri yang boleh diunggahnya (unggahan yang tertahan di outbox: "
            "sop_terbitkan)"
        )
    evs = sorted(events, key=lambda e: e.id)
    stored = sub.content_hash
    if not stored:
        problems.append(
            f"pengajuan {sub.id} tidak punya sidik isi (content hash) yang tercatat (diajukan sebelum "
            f"sidik isi ada); {RESUBMIT}"
        )
    fresh = None
    if content is not None:
        fresh = content.content_hash()
        if stored and fresh != stored:
            problems.append("isi yang akan diunggah berbeda dari isi yang diajukan dan diverifikasi")
        try:
            recorded = PreparedContent.from_json(sub.content).content_hash()
        except (KeyError, TypeError, ValueError):
            recorded = None
        if recorded != fresh:
            problems.append(f"isi pengajuan di catatan berbeda dari isi yang akan diunggah; {RESUBMIT}")
        # The hash covers each file's recorded checksum, not the bytes on disk: a file staged
        # again over the approved one (step 1 re-run, a colliding staging folder) is caught here,
        # for every channel — the website and the outbox read the file without checking it.
        problems.extend(p for p in map(staged_problem, content.media) if p)
    start = _first_step_event(sub, evs)
    if start is None:
        problems.append(f"pengajuan {sub.id} belum dinyatakan valid (langkah 1); {RESUBMIT}")
    if any(e.event == StepEventKind.INVALID for e in evs):
        problems.append(
            f"pengajuan {sub.id} tidak valid (lihat alasannya di `sop records list`); perbaiki formulir "
            "lalu picu sop_publish baru"
        )
    prev = start.id if start is not None else 0
    for st in VERIFY_STEPS:
        role = st.actor.value
        label = _label(cfg, st.number, role)
        try:
            users = set(cfg.verifier(role).users)
        except KeyError:
            users = set()
        mine = [e for e in evs if e.step == st.number]
        for r in (e for e in mine if e.event == StepEventKind.RETURNED):
            problems.append(
                f"{label} dikembalikan (Tidak) oleh {r.actor or '?'}; perbaiki isinya lalu {RESUBMIT} "
                "(persetujuan setelah 'Tidak' tidak berlaku)"
            )
        approvals = [e for e in mine if e.event == StepEventKind.APPROVED]
        requests = [e for e in mine if e.event == StepEventKind.REQUESTED]
        good = None
        for a in approvals:
            asked = any(prev < r.id < a.id for r in requests)
            answered = (a.detail or {}).get(HASH_KEY)
            if a.id > prev and asked and a.actor in users and answered and answered == stored:
                good = a
                break
        if good is not None:
            prev = good.id
            continue
        if not approvals:
            problems.append(f"{label} belum disetujui")
            continue
        last = approvals[-1]
        answered = (last.detail or {}).get(HASH_KEY)
        if last.actor not in users:
            problems.append(
                f"{label} disetujui oleh '{last.actor or '?'}' yang tidak ditugaskan untuk langkah itu; "
                f"hanya pengguna verifiers.{role} di config/office.yaml yang dapat menyetujuinya"
            )
        elif not answered:
            problems.append(
                f"{label} disetujui tanpa sidik isi (persetujuan lama, dicatat sebelum sidik isi ada), "
                f"jadi dianggap untuk versi isi yang lain; {RESUBMIT}"
            )
        elif answered != stored:
            problems.append(f"{label} disetujui untuk versi isi yang lain (bukan isi ini)")
        elif not any(r.id < last.id for r in requests):
            problems.append(
                f"{label} disetujui tanpa permintaan verifikasi yang tercatat (persetujuan hanya sah "
                f"lewat pertanyaan langkah itu, bukan tugas yang ditandai sukses); {RESUBMIT}"
            )
        else:
            problems.append(
                f"{label} disetujui tidak berurutan (sebelum langkah sebelumnya); langkah 2, 3 dan 4 "
                f"harus disetujui berurutan — {RESUBMIT}"
            )
    return problems


def check_submission(
    sub: Submission | None,
    events: Iterable[StepEvent],
    cfg: OfficeConfig,
    *,
    content: PreparedContent | None,
    run: tuple[str, str] | None = None,
    submission_id: int | None = None,
    channel: str | None = None,
    release: Iterable[ChannelResult] | None = None,
) -> None:
    """Raise ApprovalMissingError unless the submission may be written now (see the module doc)."""
    problems = submission_problems(
        sub,
        events,
        cfg,
        content=content,
        run=run,
        submission_id=submission_id,
        channel=channel,
        release=release,
    )
    if problems:
        raise ApprovalMissingError(problems)


def reply_problems(
    events: Iterable[FollowUpEvent],
    cfg: OfficeConfig,
    *,
    item_id: int,
    bidang: str,
    text: str | None,
    forwarded_to: Iterable[str],
    approver_role: str,
    run_id: str | None = None,
) -> list[str]:
    """Every reason the reply ``text`` of ``bidang`` to item ``item_id`` may not be posted now."""
    evs = sorted(events, key=lambda e: e.id)
    standing = standing_decision(evs, bidang)
    returns = returned_replies(evs, bidang)
    approver = _role_title(cfg, approver_role)
    what = f"balasan {bidang} untuk informasi masuk #{item_id}"
    if standing is None and returns:
        last = returns[-1].returned
        return [
            f"{what} dikembalikan oleh {approver} ({last.actor or '?'}); bidang menulis jawaban baru "
            "di tindak lanjut revisi"
        ]
    if standing is None or standing.event != "reply" or not standing.text:
        return [
            f"langkah 8: {bidang} belum memutuskan 'Balas' dengan isi jawaban untuk #{item_id}; jawaban "
            "hanya sah bila diberikan pengguna bidang itu lewat pertanyaan langkah 8 (menandai tugas "
            "sukses tidak mencatat jawaban)"
        ]
    problems: list[str] = []
    if run_id is not None and standing.run_id != run_id:
        problems.append(
            f"jawaban {bidang} untuk #{item_id} diputuskan di run lain ({standing.run_id}), bukan run ini; "
            "balasan diunggah oleh run yang mencatat jawaban itu"
        )
    if text_hash(standing.text) != text_hash(text):
        problems.append(
            f"teks yang akan diunggah berbeda dari jawaban yang diputuskan {bidang}; hanya teks jawaban "
            "itu yang dapat diunggah"
        )
    try:
        bidang_users = set(cfg.bidang_by_code(bidang).users)
    except KeyError:
        bidang_users = set()
        problems.append(f"bidang '{bidang}' tidak ada di konfigurasi kantor")
    if standing.actor not in bidang_users:
        problems.append(
            f"jawaban dicatat oleh '{standing.actor or '?'}' yang bukan pengguna bidang {bidang}; "
            f"jawaban harus dari pengguna bidang itu (bidang {bidang} di config/office.yaml)"
        )
    if bidang not in set(forwarded_to):
        problems.append(
            f"informasi masuk #{item_id} tidak pernah diteruskan ke {bidang}; hanya bidang yang menerima "
            "terusan informasi itu yang dapat membalasnya"
        )
    if cfg.follow_up.replies_need_approval:
        try:
            approvers = set(cfg.verifier(approver_role).users)
        except KeyError:
            approvers = set()
        verdict = verdict_on(evs, standing)
        if verdict is None:
            problems.append(
                f"{what} belum disetujui {approver}; tunggu jawaban {approver} di tugas persetujuan"
            )
        elif verdict.event == EVENT_RETURNED:
            problems.append(
                f"{what} dikembalikan oleh {approver} ({verdict.actor or '?'}); bidang menulis jawaban baru "
                "di tindak lanjut revisi"
            )
        elif verdict.event == EVENT_APPROVED:
            if verdict.actor not in approvers:
                problems.append(
                    f"{what} disetujui oleh '{verdict.actor or '?'}' yang tidak ditugaskan menyetujui "
                    "balasan; "
                    f"hanya pengguna verifiers.{approver_role} di config/office.yaml yang dapat menyetujuinya"
                )
            detail: dict[str, Any] = verdict.detail or {}
            if detail.get(TEXT_HASH_KEY) != text_hash(standing.text) or detail.get(
                TEXT_HASH_KEY
            ) != text_hash(text):
                problems.append(
                    f"{what} disetujui {approver} untuk teks yang lain (bukan teks ini); teks ini perlu "
                    f"disetujui {approver} sendiri"
                )
    return problems


def check_reply(
    events: Iterable[FollowUpEvent],
    cfg: OfficeConfig,
    *,
    item_id: int,
    bidang: str,
    text: str | None,
    forwarded_to: Iterable[str],
    approver_role: str,
    run_id: str | None = None,
) -> None:
    """Raise ApprovalMissingError unless the reply may be posted now (see the module doc)."""
    problems = reply_problems(
        events,
        cfg,
        item_id=item_id,
        bidang=bidang,
        text=text,
        forwarded_to=forwarded_to,
        approver_role=approver_role,
        run_id=run_id,
    )
    if problems:
        raise ApprovalMissingError(problems)
