"""Task bodies of ``sop_monitor`` (SOP steps 6–7)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sop_tasks.airflow.notify import notify
from sop_tasks.airflow.publish import CONN_IDS, connected
from sop_tasks.config import OfficeConfig
from sop_tasks.incoming import Collector
from sop_tasks.monitor import alert_officer, forward, run_sweep
from sop_tasks.records.inbox import Inbox
from sop_tasks.records.ledger import Ledger

log = logging.getLogger(__name__)


def collectors_for(cfg: OfficeConfig) -> dict[str, Collector | None]:
    """A collector per configured channel whose connection exists; None means not connected."""
    from sop_tasks.airflow import hooks

    return {
        channel: hooks.collector_for(channel, CONN_IDS[channel], cfg) if connected(channel) else None
        for channel in cfg.channels
    }


def slot_for(cfg: OfficeConfig, run_type: str, when: datetime | None) -> tuple[str | None, bool]:
    """(slot, is an SOP sweep) for a run: scheduled at a configured time, or triggered by hand."""
    if when is None:
        return None, run_type == "manual"
    local = when.astimezone(cfg.tz)
    if run_type == "manual":  # a sweep by hand counts for the configured time nearest to it
        now = local.hour * 60 + local.minute
        nearest = min(cfg.monitoring.times, key=lambda t: abs(int(t[:2]) * 60 + int(t[3:]) - now))
        return cfg.monitoring.slot_of(nearest), True
    slot = cfg.monitoring.slot_of(f"{local:%H:%M}")
    return slot, slot is not None


def monitor(
    cfg: OfficeConfig, ledger: Ledger, *, run_id: str, run_type: str, when: datetime | None
) -> dict[str, Any]:
    from airflow.sdk.exceptions import AirflowFailException

    from sop_tasks.errors import ConfigError
    from sop_tasks.routing import load_rules
    from sop_tasks.routing.store import live_router

    try:
        router = live_router(ledger, load_rules(bidang_codes=[b.code for b in cfg.bidang]))  # rules + model
    except ConfigError as exc:  # a broken routing.yaml: say what to fix, do not retry
        raise AirflowFailException(f"{exc}\nPerbaiki berkas di atas lalu jalankan lagi.") from None
    slot, sop_sweep = slot_for(cfg, run_type, when)
    inbox = Inbox(ledger)
    report = run_sweep(
        inbox,
        collectors_for(cfg),
        router.route_many,
        accounts={c: CONN_IDS[c] for c in cfg.channels},
        run_id=run_id,
        slot=slot,
        sop_sweep=sop_sweep,
    )
    alert_officer(cfg, report, notify)
    return {"sweep_id": report.sweep_id, "status": report.status, "slot": slot, "counts": report.counts}


def forward_items(cfg: OfficeConfig, ledger: Ledger, sweep_id: int | None) -> list[dict[str, Any]]:
    """Step 7, then one ``sop_follow_up`` run per forwarded item (kwargs for TriggerDagRunOperator)."""
    from sop_tasks.airflow.followup import follow_up_run_id

    sent = forward(Inbox(ledger), cfg, notify, sweep_id)
    return [
        {"trigger_run_id": follow_up_run_id(item_id, bidang), "conf": {"item_id": item_id, "bidang": bidang}}
        for bidang, ids in sent.items()
        for item_id in ids
    ]
