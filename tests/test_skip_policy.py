"""`make test` fails on a skip that is not on the allow-list, and under CI on any skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.skips import unexpected_skips

REPO = Path(__file__).resolve().parent.parent
SPEC_SKIP = ("tests/x.py::test_post", "X API v2 OpenAPI spec not found at /x; request validation needs it")
OTHER_SKIP = ("tests/y.py::test_z", "flaky, skipped for now")


def test_allowed_local_skips_pass_and_others_fail():
    assert unexpected_skips([SPEC_SKIP], ci=False) == []
    assert unexpected_skips([SPEC_SKIP, OTHER_SKIP], ci=False) == [OTHER_SKIP]


def test_under_ci_no_skip_is_allowed():
    assert unexpected_skips([SPEC_SKIP], ci=True) == [SPEC_SKIP]


def _run(tmp_path: Path, reason: str, *, ci: bool, workers: int) -> subprocess.CompletedProcess[str]:
    probe = tmp_path / "test_probe.py"
    probe.write_text(f"import pytest\n\ndef test_probe():\n    pytest.skip({reason!r})\n")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.conftest",
            "--rootdir",
            str(tmp_path),
            # `make test` runs on pytest-xdist workers: the skips they report count the same
            *(["-n", str(workers), "--dist", "loadfile"] if workers else []),
            str(probe),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize(
    ("reason", "ci", "code"),
    [
        ("X API v2 OpenAPI spec not found at /nowhere", False, 0),
        ("X API v2 OpenAPI spec not found at /nowhere", True, 1),
        ("someone skipped this", False, 1),
    ],
)
def test_the_session_exit_code_follows_the_policy(tmp_path, reason, ci, code, workers):
    out = _run(tmp_path, reason, ci=ci, workers=workers)
    assert out.returncode == code, out.stdout + out.stderr
    assert reason in out.stdout  # -rs names every skip
    if code:
        assert "skip(s) not allowed" in out.stdout
