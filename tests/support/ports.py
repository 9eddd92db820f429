"""Ports for the servers the tests and benches start (stacks, WordPress, SMTP, PostgreSQL, Redis).

Not ``bind(("127.0.0.1", 0))``: that draws from the kernel's ephemeral range, where the port a test
was given is free again at once — for the next caller, for another pytest-xdist worker starting its
own stack at the same moment, or as the local end of any outgoing connection — while the server
meant to bind it is still starting (a stack takes tens of seconds). Ports here come from below
that range (Linux: 32768–60999), each pytest-xdist worker from its own band, never the same one
twice in a process, and only after a bind shows nobody holds it.
"""

from __future__ import annotations

import os
import random
import socket

from sop_tasks.airflow.cluster import Ports

LOW, BAND = 20000, 3000  # 20000–31999: four workers' bands below the ephemeral range
_given: set[int] = set()


def band() -> range:
    """This process's ports: pytest-xdist worker ``gwN`` draws from band N (mod 4)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    start = LOW + (int(worker) % 4 if worker.isdigit() else 0) * BAND
    return range(start, start + BAND)


def free_port() -> int:
    for port in random.sample(band(), BAND):
        if port in _given:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
    raise RuntimeError(f"no free port in {band()}")


def free_ports(workers: int = 2) -> Ports:
    """Every port of a production stack (``NativeCluster``) with ``workers`` Celery workers."""
    api, postgres, redis, scheduler_health, triggerer_log = (free_port() for _ in range(5))
    return Ports(api, postgres, redis, scheduler_health, triggerer_log, [free_port() for _ in range(workers)])
