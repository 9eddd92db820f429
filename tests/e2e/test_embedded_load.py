"""Issue 10: the embedded default (``make run``'s stack on SQLite) holds its load. Right after a
fresh stack is up, 100 concurrent API writes by staff (unpause, trigger, answers) while a sweep of
1,000 website comments runs: no 5xx answer, no answer later than the client's 300 s, no
"database is locked" in any component's log, no failed task, nothing of the sweep lost.

Before the action log was committed off the event loop and the connection pool dropped
(sop_tasks.airflow.action_log, sop_tasks.airflow.local) this load got 17–26 answers 500 and
froze the api-server for 30–60 s at a time."""

from __future__ import annotations

import pytest

from tests.support.embedded_load import load

pytestmark = pytest.mark.e2e


def test_a_hundred_staff_writes_and_a_thousand_item_sweep_right_after_start(wordpress):
    figures = load(wordpress)
    assert len(figures.statuses) == 100
    assert figures.errors == [], f"{figures.errors}\n{figures.log_tail}"
    assert {code for _, code in figures.statuses} <= {200, 201}, figures.statuses
    assert figures.sweep_state == "success", figures.log_tail
    assert figures.comments_recorded == 1000
    assert figures.failed_tasks == 0, figures.log_tail
    assert figures.locked_in_log == 0, figures.log_tail
