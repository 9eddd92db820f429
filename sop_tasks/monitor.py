"""SOP steps 6–7: a monitoring sweep over every channel, and forwarding to the bidang.

A failing channel (expired credentials, a rate limit) does not stop the others: the sweep
records it and the officer is alerted. Watermarks advance only after the items are committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sop_tasks.config import CHANNEL_NAMES, OfficeConfig
from sop_tasks.errors import ChannelError
from sop_tasks.incoming import Collector
from sop_tasks.records.inbox import Inbox, Routed
from sop_tasks.records.ledger import to_wib
from sop_tasks.render import plain_line
from sop_tasks.sop import step

log = logging.getLogger(__name__)
Notify = Callable[[Sequence[str], str, str], bool]
STEP7 = step(7)


@dataclass
class SweepReport:
    sweep_id: int
    counts: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    status: str = "ok"


def run_sweep(
    inbox: Inbox,
    collectors: Mapping[str, Collector | None],
    route_many: Callable[[list[str]], Sequence[Routed]],
    *,
    accounts: Mapping[str, str],
    run_id: str | None,
    slot: str | None,
    sop_sweep: bool,
) -> SweepReport:
    checked = [c for c, col in collectors.items() if col is not None]
    report = SweepReport(inbox.start_sweep(run_id=run_id, slot=slot, sop_sweep=sop_sweep, channels=checked))
    for channel, collector in collectors.items():
        if collector is None:
            report.counts[channel] = {"status": "outbox", "note": "koneksi belum diatur; tidak dipantau"}
            continue
        account = accounts.get(channel, "default")
        try:
            watermark = inbox.watermark(channel, account)
            result = collector.collect(watermark)
            seen: set[str] = set()
            fresh = []
            known = inbox.known_ids(channel, (i.platform_id for i in result.items))
            for item in result.items:
                if item.platform_id not in known and item.platform_id not in seen:
                    seen.add(item.platform_id)
                    fresh.append(item)
            decisions = route_many([i.text for i in fresh])  # one batch: the model scores it at once
            new = inbox.record_items(fresh, decisions, report.sweep_id)
            if result.watermark != watermark:  # only after the items are committed
                inbox.set_watermark(channel, account, result.watermark, report.sweep_id)
            report.counts[channel] = {
                "status": "ok",
                "collected": len(result.items),
                "new": new,
                "spam": sum(1 for d in decisions if d.spam),
            }
            log.info("%s: %d item dibaca, %d baru", CHANNEL_NAMES[channel], len(result.items), new)
        except ChannelError as exc:
            report.errors[channel] = str(exc)
            report.counts[channel] = {"status": "error"}
            log.error("%s gagal dipantau: %s", CHANNEL_NAMES[channel], exc)
    if not checked:
        report.status = "no_channels"
    elif report.errors:
        report.status = "partial" if len(report.errors) < len(checked) else "failed"
    inbox.finish_sweep(report.sweep_id, counts=report.counts, errors=report.errors, status=report.status)
    return report


def alert_officer(cfg: OfficeConfig, report: SweepReport, notify: Notify) -> None:
    if not report.errors and report.status != "no_channels":
        return
    lines = [f"Sapuan pemantauan #{report.sweep_id} ({report.status}):"]
    lines += [f"- {CHANNEL_NAMES[c]}: {msg}" for c, msg in report.errors.items()]
    if report.status == "no_channels":
        lines.append(
            "- Tidak ada kanal yang terhubung: atur koneksi sop_website / sop_instagram / sop_twitter."
        )
    notify(cfg.officers.emails, f"[SOP] Pemantauan bermasalah (sapuan #{report.sweep_id})", "\n".join(lines))


def forward(inbox: Inbox, cfg: OfficeConfig, notify: Notify, sweep_id: int | None) -> dict[str, list[int]]:
    """SOP step 7: one digest per bidang with its new items; a bidang with nothing gets nothing."""
    by_bidang: dict[str, list[Any]] = {}
    for item in inbox.unforwarded():
        by_bidang.setdefault(str(item.bidang), []).append(item)
    sent: dict[str, list[int]] = {}
    for b in cfg.bidang:
        items = by_bidang.get(b.code)
        if not items:
            continue
        lines = [
            f"{b.name}: {len(items)} informasi masuk baru untuk ditindaklanjuti (SOP langkah 8).",
            f"Waktu baku penerusan: {STEP7.standard_minutes} menit. Isi pesan ditampilkan apa adanya.",
            "",
        ]
        for i in items:
            when = to_wib(i.created_at)
            lines += [
                f"#{i.id} · {CHANNEL_NAMES.get(i.channel, i.channel)} · {i.kind} · {when:%d-%m-%Y %H:%M} WIB",
                f"Dari: {plain_line(i.author or '-', 80)}",
                f"Pesan: {plain_line(i.text, 500)}",
                f"Tautan: {i.url or '-'}",
                f"Alasan rute: {'; '.join(i.reasons or [])}",
                "",
            ]
        emailed = notify(b.emails, f"[SOP] {len(items)} informasi masuk untuk {b.name}", "\n".join(lines))
        inbox.record_forwards([i.id for i in items], b.code, sweep_id, "email" if emailed else "log")
        sent[b.code] = [i.id for i in items]
    return sent
