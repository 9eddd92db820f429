from datetime import UTC, datetime, timedelta

import pytest

from sop_tasks.reminders import due_reminders, send_reminders
from tests.support.records import new_ledger


@pytest.fixture
def ledger(tmp_path):
    return new_ledger(tmp_path)


def _waiting(ledger, t0, step, **submission):
    """A submission whose verification ``step`` was requested at ``t0``; returns its id."""
    sid = ledger.open_submission(content={"channels": []}, **submission)
    ledger.add_event(sid, step, "requested", started_at=t0)
    return sid


def test_reminder_every_period_after_standard_time_and_never_an_approval(ledger, office_cfg):
    t0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    sid = _waiting(ledger, t0, 2, dag_id="d", run_id="r", kind="publish", title="Pameran")
    calls = []

    def notifier(to, subject, text):
        calls.append((tuple(to), subject, text))

    assert send_reminders(ledger, office_cfg, notifier, t0 + timedelta(minutes=14)) == []
    first = send_reminders(ledger, office_cfg, notifier, t0 + timedelta(minutes=16))
    assert [r.step for r in first] == [2]
    assert calls[0][0] == ("kasubag@dinarpus.test",) and "09:00 WIB" in calls[0][2]
    assert send_reminders(ledger, office_cfg, notifier, t0 + timedelta(minutes=20)) == []  # not twice
    assert len(send_reminders(ledger, office_cfg, notifier, t0 + timedelta(minutes=31))) == 1
    assert all(e.event in ("requested", "reminded") for e in ledger.events(sid))
    ledger.add_event(sid, 2, "approved", actor="kasubag", ended_at=t0 + timedelta(minutes=32))
    assert send_reminders(ledger, office_cfg, notifier, t0 + timedelta(minutes=60)) == []
    assert len(calls) == 2


def test_a_waiting_update_is_named_as_one(ledger, office_cfg):
    t0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    _waiting(ledger, t0, 3, dag_id="sop_update", run_id="r2", kind="update", title="Jam layanan")
    [r] = due_reminders(ledger, office_cfg, t0 + timedelta(minutes=20))
    assert r.title == "Pemutakhiran — Jam layanan" and r.step == 3
