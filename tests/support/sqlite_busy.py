"""Connect args for a running stack's SQLite metadata DB in tests: wait up to 60 s for a lock.

Python's sqlite3 waits 5 s; on a loaded two-core machine the scheduler, dag-processor and
api-server then fail with "database is locked" (the scheduler even exits). Used only while the
embedded env has no SQLite tuning of its own (``sop_tasks.airflow.sqlite``).
"""

from __future__ import annotations

from typing import Any

CONNECT_ARGS: dict[str, Any] = {"timeout": 60.0}
CONNECT_ARGS_ASYNC: dict[str, Any] = {"timeout": 60.0}
