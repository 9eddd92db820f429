"""`make test` on its pytest-xdist workers: the schedule (tests/conftest.py) — a renamed slow module
would silently lose its place at the front and could end the run alone on one worker — and the
ports each worker's servers get (tests/support/ports.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SLOW_MODULES_FIRST

REPO = Path(__file__).resolve().parent.parent


def test_every_module_dealt_out_first_exists_once():
    assert [m for m in SLOW_MODULES_FIRST if not (REPO / m).is_file()] == []
    assert len(set(SLOW_MODULES_FIRST)) == len(SLOW_MODULES_FIRST)


def test_every_module_that_starts_an_airflow_stack_is_dealt_out_first():
    starts = ("standalone(", "celery_stack(", "make_run(", "tests.support.embedded_load")
    modules = sorted((REPO / "tests" / "e2e").glob("test_*.py"))
    starting = {str(p.relative_to(REPO)) for p in modules if any(s in p.read_text() for s in starts)}
    assert len(starting) >= 9 and starting - set(SLOW_MODULES_FIRST) == set()


def test_make_test_runs_two_workers_a_module_at_a_time_in_that_order():
    recipe = (REPO / "Makefile").read_text().split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "-n 2 --dist loadfile --no-loadscope-reorder" in recipe


def test_workers_draw_ports_from_their_own_bands_below_the_ephemeral_range(monkeypatch):
    from tests.support import ports

    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for count in (2, 4, 8):
        monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", str(count))
        bands = []
        for n in range(count):
            monkeypatch.setenv("PYTEST_XDIST_WORKER", f"gw{n}")
            bands.append(set(ports.band()))
        assert sum(map(len, bands)) == len(set().union(*bands)) >= 12000 - count  # disjoint
        assert max(set().union(*bands)) < low


def test_a_port_someone_holds_or_already_given_is_never_handed_out(monkeypatch):
    import socket

    from tests.support import ports

    with socket.socket() as held, socket.socket() as probe:
        held.bind(("127.0.0.1", 0))
        probe.bind(("127.0.0.1", 0))
        taken, other = held.getsockname()[1], probe.getsockname()[1]
        probe.close()
        monkeypatch.setattr(ports, "band", lambda: [taken, other])
        monkeypatch.setattr(ports, "_given", set())
        monkeypatch.setattr(ports.random, "sample", lambda pool, k: list(pool))  # held one first
        assert ports.free_port() == other
        with pytest.raises(RuntimeError, match="no free port"):
            ports.free_port()  # ``other`` was handed out already
