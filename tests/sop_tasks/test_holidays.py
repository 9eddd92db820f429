"""Working days with Indonesia's national holidays (``holidays`` package) and the office's own list,
and the warning before the office's list (cuti bersama) runs out."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
import yaml

from sop_tasks.cli import main
from sop_tasks.config import load_config
from sop_tasks.errors import ConfigError
from sop_tasks.reminders import check_holiday_data
from sop_tasks.workdays import WorkCalendar, national_holidays, office_data_warning
from tests.support.records import write_yaml

REPO = Path(__file__).resolve().parents[2]
# A request received Wed 23 Feb 2028. Idul Fitri 1449 H falls on Sun 27 and Mon 28 Feb 2028 — a
# year no office list here covers; only the library knows it.
RECEIVED = datetime(2028, 2, 23, 10, 0)


def _config_dir(tmp_path: Path, **changes: object) -> Path:
    raw = yaml.safe_load((REPO / "config" / "office.yaml").read_text())
    raw.update(changes)
    return write_yaml(tmp_path / "config", "office.yaml", raw).parent


def test_the_library_knows_idul_fitri_2028():
    days = national_holidays("ID", [2028])
    assert "Idul Fitri" in days[date(2028, 2, 27)] and "Idul Fitri" in days[date(2028, 2, 28)]
    assert days[date(2028, 8, 17)] == "Hari Kemerdekaan Republik Indonesia"


def test_ppid_ten_working_days_across_idul_fitri_2028():
    cal = WorkCalendar(country="ID")
    # Thu 24, Fri 25, (Sat 26, Sun 27, Mon 28 Idul Fitri), Tue 29 Feb, Wed 1 … Fri 3, Mon 6 … Thu 9 Mar
    assert cal.deadline(RECEIVED, 10) == date(2028, 3, 9)
    assert not cal.is_working_day(date(2028, 2, 28))
    # without the national holidays the same request would be due a day early — the bug this fixes
    assert WorkCalendar().deadline(RECEIVED, 10) == date(2028, 3, 8)
    # the office's cuti bersama (here 29 Feb and 1 Mar) come on top of the national days
    both = WorkCalendar([date(2028, 2, 29), date(2028, 3, 1)], country="ID")
    assert both.deadline(RECEIVED, 10) == date(2028, 3, 13)
    # extended once by 7 working days from the first deadline: Fri 10, Mon 13 … Fri 17, Mon 20
    assert cal.add_working_days(date(2028, 3, 9), 7) == date(2028, 3, 20)


def test_the_shipped_config_counts_national_holidays_and_corrections(tmp_path):
    cfg = load_config(REPO / "config")
    assert cfg.national_holidays == "ID"
    assert cfg.calendar().deadline(RECEIVED, 10) == date(2028, 3, 9)
    assert not cfg.calendar().is_working_day(date(2026, 12, 24))  # the office's list still counts
    # the decree moved a lunar date the library only estimated: the office says so in the config
    moved = load_config(_config_dir(tmp_path, working_days=["2028-02-28"], holidays=["2028-03-01"]))
    assert moved.calendar().is_working_day(date(2028, 2, 28))
    assert not moved.calendar().is_working_day(date(2028, 3, 1))
    assert moved.calendar().deadline(RECEIVED, 10) == date(2028, 3, 9)


def test_national_holidays_can_be_switched_off_and_a_wrong_country_is_explained(tmp_path):
    off = load_config(_config_dir(tmp_path / "a", national_holidays=None, holidays=[]))
    assert off.calendar().deadline(RECEIVED, 10) == date(2028, 3, 8)
    with pytest.raises(ConfigError) as ei:
        load_config(_config_dir(tmp_path / "b", national_holidays="XX"))
    assert "national_holidays': kode negara 'XX' tidak dikenal; pakai 'ID'" in str(ei.value)


OFFICE_2026_2027 = [date(2026, 12, 24), date(2027, 3, 20), date(2027, 12, 25)]


@pytest.mark.parametrize(
    ("office_days", "today", "expected"),
    [
        # both the current and the next year are listed: nothing to say
        (OFFICE_2026_2027, date(2026, 11, 30), None),
        # next year (2028) missing, but more than 60 days to go
        (OFFICE_2026_2027, date(2027, 6, 1), None),
        (OFFICE_2026_2027, date(2027, 11, 1), None),  # 61 days before 1 Jan 2028
        # from 60 days before the list runs out
        (OFFICE_2026_2027, date(2027, 11, 2), ("2028", "mulai 1 Januari 2028 (60 hari lagi)")),
        (OFFICE_2026_2027, date(2027, 12, 31), ("2028", "(1 hari lagi)")),
        # already run out: the current year is not listed
        (OFFICE_2026_2027, date(2028, 1, 3), ("2028, 2029", "sudah tidak dihitung")),
        ([], date(2026, 3, 1), ("2026, 2027", "sudah tidak dihitung")),
    ],
)
def test_warning_60_days_before_the_office_list_runs_out(office_days, today, expected):
    warning = office_data_warning(office_days, today)
    if expected is None:
        assert warning is None
        return
    years, when = expected
    assert warning is not None
    assert f"belum memuat tahun {years}:" in warning and when in warning
    assert "'holidays' di config/office.yaml" in warning and "SKB 3 Menteri" in warning


def test_check_config_warns_but_still_accepts_the_file(tmp_path, capsys):
    d = str(REPO / "config")  # lists 2026 and 2027
    assert main(["check-config", "--dir", d, "--tanggal", "2026-11-30"]) == 0
    out = capsys.readouterr()
    assert "hari libur: libur nasional ID otomatis; hari libur kantor" in out.out
    assert "PERINGATAN" not in out.err
    assert main(["check-config", "--dir", d, "--tanggal", "2027-11-15"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("PERINGATAN: ") and "belum memuat tahun 2028" in err and "(47 hari lagi)" in err
    with pytest.raises(SystemExit):
        main(["check-config", "--dir", d, "--tanggal", "15-11-2027"])
    assert "bukan tanggal; tulis YYYY-MM-DD" in capsys.readouterr().err


def test_daily_check_tells_the_officer_once_the_list_runs_low(tmp_path):
    cfg = load_config(
        _config_dir(tmp_path, officers={"users": ["pengelola_ti"], "emails": ["ti@dinarpus.test"]})
    )
    sent: list[tuple[tuple[str, ...], str, str]] = []

    def notify(recipients, subject, text):
        sent.append((tuple(recipients), subject, text))

    assert check_holiday_data(cfg, notify, date(2027, 10, 1)) is None
    assert sent == []
    warning = check_holiday_data(cfg, notify, date(2027, 11, 20))
    assert warning is not None and "2028" in warning
    assert sent == [(("ti@dinarpus.test",), "[SOP] Daftar cuti bersama perlu diperbarui", warning)]
