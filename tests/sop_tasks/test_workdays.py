from datetime import date, datetime

from sop_tasks.workdays import WorkCalendar

CAL = WorkCalendar([date(2026, 12, 24), date(2026, 12, 25), date(2027, 1, 1)])


def test_weekends_skip():
    # Friday 27 Nov 2026 + 1 working day = Monday 30 Nov
    assert CAL.add_working_days(date(2026, 11, 27), 1) == date(2026, 11, 30)
    assert CAL.add_working_days(date(2026, 11, 28), 1) == date(2026, 11, 30)  # received on Saturday


def test_ten_working_days_across_holidays_and_year_end():
    # received Mon 21 Dec 2026: 22, 23, (24, 25 holidays), 28, 29, 30, 31, (1 Jan holiday), 4, 5, 6, 7 Jan
    assert CAL.deadline(datetime(2026, 12, 21, 15, 0), 10) == date(2027, 1, 7)
    # extended once by 7 more working days from the first deadline
    assert CAL.add_working_days(date(2027, 1, 7), 7) == date(2027, 1, 18)


def test_request_on_a_holiday_counts_from_next_working_day():
    assert CAL.deadline(datetime(2026, 12, 25, 9, 0), 1) == date(2026, 12, 28)
    assert CAL.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)


def test_between_and_zero():
    assert CAL.add_working_days(date(2026, 12, 21), 0) == date(2026, 12, 21)
    assert CAL.working_days_between(date(2026, 12, 21), date(2027, 1, 7)) == 10
    assert CAL.working_days_between(date(2027, 1, 7), date(2026, 12, 21)) == 0
    assert CAL.is_working_day(date(2026, 12, 23)) and not CAL.is_working_day(date(2026, 12, 26))


def test_office_config_holidays(office_cfg):
    assert not office_cfg.calendar().is_working_day(date(2026, 12, 25))
    assert office_cfg.follow_up.ppid_days == 10 and office_cfg.follow_up.ppid_extension_days == 7
