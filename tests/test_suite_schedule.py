"""`make test`'s schedule on its pytest-xdist workers (tests/conftest.py): a renamed slow module
would silently lose its place at the front and could end the run alone on one worker."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import SLOW_MODULES_FIRST

REPO = Path(__file__).resolve().parent.parent


def test_every_module_dealt_out_first_exists_once():
    assert [m for m in SLOW_MODULES_FIRST if not (REPO / m).is_file()] == []
    assert len(set(SLOW_MODULES_FIRST)) == len(SLOW_MODULES_FIRST)


def test_make_test_runs_two_workers_a_module_at_a_time_in_that_order():
    recipe = (REPO / "Makefile").read_text().split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "-n 2 --dist loadfile --no-loadscope-reorder" in recipe
