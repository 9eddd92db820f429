"""Ports for the servers the tests and benches start (stacks, WordPress, SMTP, PostgreSQL, Redis).

Not ``bind(("127.0.0.1", 0))``: that draws from the kernel's ephemeral range, where the port a test
was given is free again at once — for the next caller, for another pytest-xdist worker starting its
own stack at the same moment, or as the local end of any outgoing connection — while the server
meant to bind it is still starting (a stack takes tens of seconds). Ports here come from
20000–31999, below that range (Linux: 32768–60999), each pytest-xdist worker from its own share,
never the same one twice in a process, and only after a bind shows nobody holds it.
"""

from __future__ import annotations

import os
import random
import socket

from sop_tasks.airflow.cluster import Ports

LOW, HIGH = 20000, 32000  # below the ephemeral range, shared out between the xdist workers
_given: set[int] = set()


def band() -> range:
    """This process's ports: pytest-xdist worker ``gwN`` of M draws from the N-th of M bands."""
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    n = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    size = (HIGH - LOW) // max(count, n + 1)
    return range(LOW + n * size, LOW + (n + 1) * size)


def free_port() -> int:
    ports = band()
    for port in random.sample(ports, len(ports)):
        if port in _given:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
    raise RuntimeError(f"no free port in {ports}")


def free_ports(workers: int = 2) -> Ports:
    """Every port of a production stack (``NativeCluster``) with ``workers`` Celery workers."""
    api, postgres, redis, scheduler_health, triggerer_log = (free_port() for _ in range(5))
    return Ports(api, postgres, redis, scheduler_health, triggerer_log, [free_port() for _ in range(workers)])


def log_server_env() -> dict[str, str]:
    """Ports of the log servers an ``airflow standalone`` stack starts: two stacks side by side,
    one per worker, must not share them. (``local.log_server_ports`` derives a pair from the UI
    port, but the test process's environment already holds 8080's pair, which wins, and a derived
    port could fall into the other worker's band.)"""
    return {
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
    }
