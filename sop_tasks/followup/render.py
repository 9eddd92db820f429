"""What staff read about a follow-up: dates, the status label, the Markdown of the step-8 request
and of the reply's approval question.

Public text (the citizen's words, a returned reply) is shown inert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sop_tasks.approval import REASON_PARAM
from sop_tasks.config import CHANNEL_NAMES
from sop_tasks.followup.decisions import (
    OPTION_APPROVE,
    OPTION_NO_REPLY,
    OPTION_REPLY,
    OPTION_REROUTE,
    OPTION_RETURN,
    PARAM_PPID,
    PARAM_REASON,
    PARAM_REPLY,
    PARAM_TARGET,
    ReturnedReply,
)
from sop_tasks.followup.events import EVENT_APPROVED, STEP8, STEP9
from sop_tasks.records.ledger import to_wib
from sop_tasks.records.models import FollowUpEvent, IncomingItemRow, ReplyResult
from sop_tasks.render import inert_block, inert_inline, plain_line

REFUSED_LABEL = "ditolak: persetujuan tidak lengkap"
_DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")


def fmt_date(d: date) -> str:
    """``Kamis, 07-01-2027`` — how a date is shown to staff."""
    return f"{_DAYS[d.weekday()]}, {d:%d-%m-%Y}"


@dataclass(frozen=True)
class ItemView:
    item: IncomingItemRow
    forwarded_at: datetime | None
    submission_title: str | None
    post_url: str | None


def status_label(
    decision: FollowUpEvent | None,
    posted: ReplyResult | None,
    failed: ReplyResult | None,
    returns: list[ReturnedReply] | None = None,
    verdict: FollowUpEvent | None = None,
    awaiting_approval: bool = False,
    refused: bool = False,
) -> str:
    """What staff read as the follow-up's status (one plain line: the CLI prints it as is)."""
    returns = returns or []
    if decision is None:
        if refused:  # a reply was attempted without the bidang's decision (e.g. a task marked success)
            return f"{REFUSED_LABEL} (belum ada keputusan bidang)"
        if not returns:
            return "menunggu tindak lanjut"
        last = returns[-1].returned
        return plain_line(
            f"balasan dikembalikan oleh {last.actor or '?'} ({to_wib(last.at):%d-%m-%Y %H:%M} WIB), "
            f"alasan: {last.text or '-'} — menunggu jawaban baru bidang",
            200,
        )
    if decision.event == "no_reply":
        return "tidak perlu dibalas"
    if decision.event == "reroute":
        return f"diteruskan ke {decision.target_bidang or '-'}"
    revised = f" (revisi ke-{len(returns)})" if returns else ""
    if posted is not None:
        done = "dibalas (outbox, koneksi belum diatur)" if posted.mode == "outbox" else "dibalas"
        return done + revised
    if refused:  # the approval gate refused to post it (the text of the event names what is missing)
        return REFUSED_LABEL + revised
    if failed:
        return "dijawab, gagal diunggah" + revised
    if verdict is not None and verdict.event == EVENT_APPROVED:
        return f"dijawab, disetujui {verdict.actor or '?'}, menunggu diunggah{revised}"
    if awaiting_approval:
        return "dijawab, menunggu persetujuan balasan" + revised
    return "dijawab, menunggu diunggah" + revised


def body(view: ItemView, bidang_name: str, revision: ReturnedReply | None = None) -> str:
    """Markdown of the follow-up request; the citizen's words are inert.

    ``revision``: the bidang's reply the official returned — shown first (inert, with who returned
    it, when and why) so the new answer can fix it.
    """
    i = view.item
    when = to_wib(i.created_at)
    lines = [
        f"**SOP langkah {STEP8.number} — tindak lanjut oleh {bidang_name}.** Informasi masuk #{i.id} "
        f"lewat {CHANNEL_NAMES.get(i.channel, i.channel)} ({i.kind}), {when:%d-%m-%Y %H:%M} WIB.",
        "",
    ]
    if revision is not None:
        ret, reply = revision.returned, revision.reply
        lines += [
            f"**Revisi: balasan sebelumnya dikembalikan** oleh {inert_inline(ret.actor or '?')} pada "
            f"{to_wib(ret.at):%d-%m-%Y %H:%M} WIB dan tidak diunggah. Tulis jawaban baru (atau pilih "
            "tindak lanjut lain); jawaban baru disetujui lagi sebelum diunggah.",
            "",
            "**Alasan dikembalikan**",
            "",
            inert_block(ret.text or "-"),
            "",
            f"**Balasan yang dikembalikan** — ditulis oleh {inert_inline(reply.actor or '?')}, "
            f"{to_wib(reply.at):%d-%m-%Y %H:%M} WIB",
            "",
            inert_block(reply.text or ""),
            "",
        ]
    lines += [
        f"**Dari:** {inert_inline(i.author or '-')}",
        "",
        "**Pesan**",
        "",
        inert_block(i.text),
        "",
        f"**Tautan:** {inert_inline(i.url) if i.url else '-'}",
        "",
    ]
    if view.submission_title:
        lines += [f"**Unggahan kita yang dikomentari:** {inert_inline(view.submission_title)}", ""]
        if view.post_url:
            lines += [f"Tautan unggahan: {inert_inline(view.post_url)}", ""]
    lines += [
        f"**Alasan rute:** {inert_inline('; '.join(i.reasons or []))}",
        "",
        f"Pilih **{OPTION_REPLY}** dan tulis jawabannya di *{PARAM_REPLY}*; atau **{OPTION_NO_REPLY}** "
        f"dengan *{PARAM_REASON}*; atau **{OPTION_REROUTE}** dan pilih *{PARAM_TARGET}*. "
        f"Centang *{PARAM_PPID}* bila ini permohonan informasi publik (UU 14/2008: dijawab paling "
        "lambat 10 hari kerja).",
    ]
    return "\n".join(lines)


def approval_body(view: ItemView, bidang_name: str, reply: FollowUpEvent, approver_title: str) -> str:
    """Markdown of the reply approval; the citizen's words and the reply are inert."""
    i = view.item
    written = to_wib(reply.at) or reply.at
    lines = [
        f"**Persetujuan balasan oleh {approver_title}** — SOP peringatan 1: hanya yang disetujui pejabat "
        f"yang boleh diunggah. Balasan yang disetujui diunggah di tempat pesan masuk "
        f"(langkah {STEP9.number}, waktu baku {STEP9.standard_minutes} menit).",
        "",
        f"Informasi masuk #{i.id} lewat {CHANNEL_NAMES.get(i.channel, i.channel)} ({i.kind}), "
        f"dari {inert_inline(i.author or '-')}.",
        "",
        "**Pesan warga**",
        "",
        inert_block(i.text),
        "",
        f"**Tautan:** {inert_inline(i.url) if i.url else '-'}",
        "",
    ]
    if view.submission_title:
        lines += [f"**Unggahan kita yang dikomentari:** {inert_inline(view.submission_title)}", ""]
    lines += [
        f"**Balasan {bidang_name}** — ditulis oleh {inert_inline(reply.actor or '?')}, "
        f"{written:%d-%m-%Y %H:%M} WIB",
        "",
        inert_block(reply.text or ""),
        "",
        f"Pilih **{OPTION_APPROVE}** bila balasan layak diunggah apa adanya, atau **{OPTION_RETURN}** "
        f"dan isi kolom *{REASON_PARAM}* dengan apa yang perlu diperbaiki: balasan itu tidak diunggah.",
    ]
    return "\n".join(lines)
