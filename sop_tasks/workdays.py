"""Indonesian working days: Monday–Friday, minus national holidays and the office's own days off.

National holidays (*hari libur nasional*, including the Islamic and other lunar ones, which move
every year) come from the maintained ``holidays`` package (country ``ID``), so they never run
out. The *cuti bersama* (set each year by a joint ministerial decree, SKB 3 Menteri) and any
local days off are the office's to list in ``config/office.yaml`` under ``holidays``;
:func:`office_data_warning` says when that list is about to run out.

Used for the legal clock of public-information requests (UU 14/2008: a written answer within
10 working days, extendable once by 7), follow-up reminders and the proof of monitoring.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

# Warn this many days before the office's own list (cuti bersama) runs out.
OFFICE_DATA_LEAD_DAYS = 60


def national_holidays(country: str, years: Iterable[int]) -> dict[date, str]:
    """The national public holidays of ``country`` in ``years`` (date → name), from ``holidays``."""
    import holidays as holidays_lib

    return dict(holidays_lib.country_holidays(country, years=list(years), language="id").items())


class WorkCalendar:
    """Working days. ``holidays``: the office's own days off; ``country``: national holidays of
    that country from the ``holidays`` package as well (None: only the given days);
    ``working_days``: dates the library lists that are working days after all (its estimate of a
    lunar date differed from the government's decree)."""

    def __init__(
        self, holidays: Iterable[date] = (), country: str | None = None, working_days: Iterable[date] = ()
    ) -> None:
        self.holidays = frozenset(holidays)
        self.country = country
        self.working_days = frozenset(working_days)
        self._national: dict[int, frozenset[date]] = {}

    def national(self, year: int) -> frozenset[date]:
        if self.country is None:
            return frozenset()
        if year not in self._national:
            self._national[year] = frozenset(national_holidays(self.country, [year]))
        return self._national[year]

    def is_holiday(self, d: date) -> bool:
        if d in self.holidays:
            return True
        return d not in self.working_days and d in self.national(d.year)

    def is_working_day(self, d: date) -> bool:
        return d.weekday() < 5 and not self.is_holiday(d)

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


def office_data_warning(
    office_days: Iterable[date], today: date, lead_days: int = OFFICE_DATA_LEAD_DAYS
) -> str | None:
    """An Indonesian warning when the office's own list (cuti bersama, local days) is running out.

    A year counts as configured when the list has at least one date in it. The list "runs out"
    at the end of the current year when the next year is not configured; the warning starts
    ``lead_days`` before that (from 2 November for 60 days) and, when the current year itself is
    not configured, is given at once. None when nothing is missing.
    """
    years = {d.year for d in office_days}
    missing = [y for y in (today.year, today.year + 1) if y not in years]
    if not missing:
        return None
    year_end = date(today.year, 12, 31)
    if today.year in missing:
        when = "cuti bersama tahun ini sudah tidak dihitung sebagai hari libur"
    elif (year_end - today).days < lead_days:
        left = (year_end - today).days + 1
        when = f"mulai 1 Januari {today.year + 1} ({left} hari lagi) cuti bersama tidak dihitung"
        when += " sebagai hari libur"
    else:
        return None
    listed = ", ".join(str(y) for y in missing)
    return (
        f"Daftar hari libur kantor (kunci 'holidays' di config/office.yaml: cuti bersama dan libur "
        f"daerah) belum memuat tahun {listed}: {when}, sehingga "
        "batas PPID, pengingat tindak lanjut dan bukti pemantauan bisa keliru. Libur nasional "
        "sudah dihitung otomatis. Tambahkan tanggal cuti bersama tahun itu (SKB 3 Menteri) dan "
        "libur daerah ke 'holidays', lalu jalankan `sop check-config`."
    )
