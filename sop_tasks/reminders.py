"""Reminders for verifiers who pass the SOP's standard time (steps 2–4).

Nothing is ever approved by waiting: a reminder goes out every ``reminder_every_minutes`` after
the standard time has passed, and the approval keeps waiting for a person.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sop_tasks.config import OfficeConfig
from sop_tasks.records.ledger import Ledger, to_wib
from sop_tasks.render import plain_line
from sop_tasks.sop import VERIFY_STEPS, step

STOP_AFTER = timedelta(days=3)

Notifier = Callable[[Sequence[str], str, str], object]


@dataclass(frozen=True)
class Reminder:
    submission_id: int
    step: int
    title: str
    waiting_minutes: int
    recipients: tuple[str, ...]


def due_reminders(ledger: Ledger, cfg: OfficeConfig, now: datetime | None = None) -> list[Reminder]:
    now = now or datetime.now(UTC)
    earliest_standard = min(s.standard_minutes or 0 for s in VERIFY_STEPS)
    out = []
    for sub, ev in ledger.pending_verifications(now - timedelta(minutes=earliest_standard)):
        st = step(ev.step)
        assert ev.started_at is not None and st.standard_minutes is not None
        waited = now - ev.started_at.replace(tzinfo=UTC)
        if waited > STOP_AFTER:
            continue
        over = waited - timedelta(minutes=st.standard_minutes)
        if over < timedelta(0):
            continue
        due = 1 + int(over / timedelta(minutes=cfg.reminder_every_minutes))
        sent = sum(
            1
            for e in ledger.events(sub.id)
            if e.step == ev.step and e.event == "reminded" and e.started_at == ev.started_at
        )
        if sent >= due:
            continue
        verifier = cfg.verifier(st.actor.value)
        out.append(
            Reminder(
                submission_id=sub.id,
                step=st.number,
                title=("Pemutakhiran — " if sub.kind == "update" else "") + sub.title,
                waiting_minutes=int(waited.total_seconds() // 60),
                recipients=tuple(verifier.emails) + tuple(cfg.officers.emails),
            )
        )
    return out


def send_reminders(
    ledger: Ledger, cfg: OfficeConfig, notify: Notifier, now: datetime | None = None
) -> list[Reminder]:
    """Send and record every reminder that is due; returns what was sent."""
    now = now or datetime.now(UTC)
    sent = []
    for r in due_reminders(ledger, cfg, now):
        st = step(r.step)
        verifier = cfg.verifier(st.actor.value)
        request = next(
            e for e in reversed(ledger.events(r.submission_id)) if e.step == r.step and e.event == "requested"
        )
        started = to_wib(request.started_at)
        notify(
            r.recipients,
            plain_line(f"[SOP] Pengingat verifikasi langkah {r.step}: {r.title}", 150),
            f"Pengajuan {r.submission_id} menunggu verifikasi {verifier.title} sejak "
            f"{started:%d-%m-%Y %H:%M} WIB ({r.waiting_minutes} menit; "
            f"waktu baku {st.standard_minutes} menit). "
            "Buka Airflow → Browse → Required Actions. Pengajuan tetap menunggu keputusan Anda.",
        )
        ledger.add_event(
            r.submission_id,
            r.step,
            "reminded",
            started_at=request.started_at,
            detail={
                "waiting_minutes": r.waiting_minutes,
                "recipients": list(r.recipients),
                "at": now.isoformat(),
            },
        )
        sent.append(r)
    return sent


def check_holiday_data(cfg: OfficeConfig, notify: Notifier, today: date) -> str | None:
    """The daily check: warn the officer (log and e-mail) when the office's own list of days off
    (cuti bersama, local days) is about to run out; returns the warning, or None."""
    warning = cfg.holiday_data_warning(today)
    if warning:
        notify(tuple(cfg.officers.emails), "[SOP] Daftar cuti bersama perlu diperbarui", warning)
    return warning
