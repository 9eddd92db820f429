"""Which SOP slot a sweep counts for: scheduled at a configured time, or run by hand near one."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from sop_tasks.airflow.monitoring import slot_for

WIB = ZoneInfo("Asia/Jakarta")


@pytest.mark.parametrize(
    ("run_type", "hhmm", "expected"),
    [
        ("scheduled", "08:00", ("pagi", True)),
        ("scheduled", "15:30", ("sore", True)),
        ("scheduled", "10:00", (None, False)),  # the optional extra cron: not one of the SOP's three
        ("manual", "07:10", ("pagi", True)),
        ("manual", "09:55", ("pagi", True)),
        ("manual", "10:05", ("siang", True)),
        ("manual", "14:00", ("sore", True)),
        ("manual", "21:00", ("sore", True)),
    ],
)
def test_slot_follows_the_configured_times(office_cfg, run_type, hhmm, expected):
    h, m = map(int, hhmm.split(":"))
    assert slot_for(office_cfg, run_type, datetime(2026, 12, 1, h, m, tzinfo=WIB)) == expected


def test_manual_slots_follow_a_changed_schedule(office_cfg):
    mon = office_cfg.monitoring.model_copy(
        update={"times": ["07:00", "11:00", "14:00", "16:00"], "slots": ["pagi", "siang", "sore", "petang"]}
    )
    cfg = office_cfg.model_copy(update={"monitoring": mon})
    assert slot_for(cfg, "manual", datetime(2026, 12, 1, 16, 20, tzinfo=WIB)) == ("petang", True)
