"""Indonesian working days: Monday–Friday, minus the public holidays and cuti bersama in config.

Used for the legal clock of public-information requests (UU 14/2008: a written answer within
10 working days, extendable once by 7) and for follow-up reminders (default: one working day).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta


class WorkCalendar:
    def __init__(self, holidays: Iterable[date] = ()) -> None:
        self.holidays = frozenset(holidays)

    def is_working_day(self, d: date) -> bool:
        return d.weekday() < 5 and d not in self.holidays

    def add_working_days(self, start: date, days: int) -> date:
        """The date ``days`` working days after ``start`` (``start`` itself not counted)."""
        if days < 0:
            raise ValueError("days must be >= 0")
        d = start
        left = days
        while left:
            d += timedelta(days=1)
            if self.is_working_day(d):
                left -= 1
        return d

    def deadline(self, received: datetime, days: int) -> date:
        """Deadline of a request received at ``received`` (local time): counting starts the next
        working day, so a request on a Friday evening or a holiday is not short-changed."""
        return self.add_working_days(received.date(), days)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 when end <= start)."""
        n = 0
        d = start
        while d < end:
            d += timedelta(days=1)
            if self.is_working_day(d):
                n += 1
        return n
