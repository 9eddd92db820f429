"""The UU 14/2008 clock of a public-information (PPID) request: deadline, one extension, answer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sop_tasks.config import OfficeConfig
from sop_tasks.followup.events import EVENT_POSTED, EVENT_PPID_EXTENDED
from sop_tasks.records.ledger import to_wib
from sop_tasks.records.models import FollowUpEvent


@dataclass(frozen=True)
class PpidClock:
    """The UU 14/2008 clock of one public-information request (per item, whichever bidang answers).

    ``original_deadline`` is ``ppid_days`` working days after the request arrived; one extension
    (``ppid_extension_days`` more working days, with a written reason) moves ``deadline``.
    ``answered_at`` is when the request was handled: the reply was posted, or a bidang decided it
    needs no reply here (e.g. answered by official letter). Times are naive UTC like the ledger.
    """

    item_id: int
    bidang: str  # who should answer now: the bidang of the latest forward
    original_deadline: date
    extended_deadline: date | None = None
    extension_reason: str | None = None
    extended_by: str | None = None
    extended_at: datetime | None = None
    answered_at: datetime | None = None

    @property
    def deadline(self) -> date:
        return self.extended_deadline or self.original_deadline

    @property
    def extended(self) -> bool:
        return self.extended_deadline is not None

    def lapsed(self, today: date) -> bool:
        """Past the deadline: still unanswered after it (today, WIB), or answered after it."""
        if self.answered_at is not None:
            return (to_wib(self.answered_at) or self.answered_at).date() > self.deadline
        return today > self.deadline


def ppid_clock_from(
    item_id: int, events: Iterable[FollowUpEvent], bidang: str | None = None
) -> PpidClock | None:
    """The clock of an item from its record-3 events (None when it is not a PPID request).

    The first deadline recorded is the legal one; only the first extension counts (a second one,
    e.g. from a race between two officers, is kept in the log but never moves the deadline).
    """
    evs = sorted(events, key=lambda e: e.id)
    marked = next((e for e in evs if e.ppid and e.deadline and e.event != EVENT_PPID_EXTENDED), None)
    if marked is None or marked.deadline is None:
        return None
    ext = next((e for e in evs if e.event == EVENT_PPID_EXTENDED and e.deadline), None)
    answered = next((e for e in evs if e.event in (EVENT_POSTED, "no_reply")), None)
    return PpidClock(
        item_id=item_id,
        bidang=bidang or marked.bidang,
        original_deadline=marked.deadline,
        extended_deadline=ext.deadline if ext else None,
        extension_reason=ext.text if ext else None,
        extended_by=ext.actor if ext else None,
        extended_at=ext.at if ext else None,
        answered_at=answered.at if answered else None,
    )


def ppid_deadline(cfg: OfficeConfig, received: datetime) -> date:
    return cfg.calendar().deadline(received.astimezone(cfg.tz), cfg.follow_up.ppid_days)
