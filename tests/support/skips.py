"""Which skipped tests may leave `make test` green (issue 13: no silent skips).

`make test` lists every skip (-rs). A skip not on the allow-list below fails the run, and under CI
(``CI`` set) no skip is allowed at all: a test that cannot run there is a failure.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

ALLOWED_LOCAL_SKIPS = {
    # X's own document lives in ../shared (not ours to copy); a clone without it cannot validate
    # the requests the X client sends, so every X test names itself as not run.
    "X API v2 OpenAPI spec not found",
    # The real-WordPress tests need Debian's wordpress, mariadb-server, php-cli, php-mysql.
    "not installed",
}
SKIPS: list[tuple[str, str]] = []


def record_skip(report: Any) -> None:
    """Remember a skipped test (pytest's runtest report) with its reason."""
    if report.skipped and not hasattr(report, "wasxfail"):
        longrepr = report.longrepr
        reason = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
        SKIPS.append((report.nodeid, reason))


def unexpected_skips(skips: list[tuple[str, str]] | None = None, *, ci: bool) -> list[tuple[str, str]]:
    """The skips that fail the run: every one under CI, else those not on the allow-list."""
    found = SKIPS if skips is None else skips
    if ci:
        return list(found)
    return [(n, r) for n, r in found if not any(a in r for a in ALLOWED_LOCAL_SKIPS)]


def require(why: str | None, what: str) -> None:
    """A prerequisite a test needs: missing (``why``), it fails under CI and is skipped elsewhere."""
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"CI must {what}: {why}")
        pytest.skip(why)
