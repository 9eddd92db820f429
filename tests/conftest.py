"""Test session set-up: an isolated AIRFLOW_HOME and office config, set before Airflow loads.

Airflow reads its configuration when first imported, so the environment is prepared here, at
import time of the root conftest, from the same function ``make run`` uses.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml

from tests.support.skips import record_skip, require, unexpected_skips

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
_HOME = Path(tempfile.mkdtemp(prefix="sop-test-"))
_CONFIG = _HOME / "config"


def _write_test_config() -> None:
    _CONFIG.mkdir(parents=True, exist_ok=True)
    raw = yaml.safe_load((REPO / "config" / "office.yaml").read_text())
    raw["paths"] = {name: str(_HOME / "data" / name) for name in ("media", "outbox", "staging")}
    raw["verifiers"][1]["users"] = ["kabid", "plt_kabid"]  # an acting official is one line
    raw["verifiers"][0]["emails"] = ["kasubag@dinarpus.test"]
    raw["retry_delay_seconds"] = 3
    # The suite's deadlines were worked out against the office's own list alone; Indonesia's
    # national holidays from the library are tested where they are used explicitly.
    raw["national_holidays"] = None
    (_CONFIG / "office.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True))
    for other in (REPO / "config").glob("*.yaml"):
        if other.name != "office.yaml":
            shutil.copyfile(other, _CONFIG / other.name)
    (_HOME / "data" / "media").mkdir(parents=True, exist_ok=True)


_write_test_config()
os.environ["SOP_CONFIG_DIR"] = str(_CONFIG)

from sop_tasks.airflow.local import airflow_env, ensure_passwords  # noqa: E402
from sop_tasks.config import load_config  # noqa: E402

_cfg = load_config()
os.environ.update(airflow_env(_HOME / "airflow", _cfg, root=REPO))
os.environ["AIRFLOW__API_AUTH__JWT_SECRET"] = "test-secret-not-for-production"
os.environ.pop("AIRFLOW_CONN_SOP_LEDGER", None)
ensure_passwords(_HOME / "airflow", _cfg)


@pytest.fixture(scope="session")
def test_home() -> Path:
    return _HOME


@pytest.fixture(scope="session")
def office_cfg():
    return load_config()


@pytest.fixture(scope="session")
def media_dir() -> Path:
    return _HOME / "data" / "media"


@pytest.fixture(scope="session")
def wordpress():
    """A real local WordPress (Debian packages). In CI it must run; elsewhere it may be skipped."""
    from tests.support.wordpress import available, wordpress_site

    require(available(), "test against a real WordPress")
    with wordpress_site() as site:
        yield site


# `make test` shares the modules between two pytest-xdist workers, a whole module at a time
# (`--dist loadfile`, in collection order: `--no-loadscope-reorder`). Most of the time goes to the
# modules that start a stack and wait on it; dealt out first, longest first, they run beside each
# other and beside the quick modules, and no worker is left alone with a long one at the end.
SLOW_MODULES_FIRST = (
    "tests/e2e/test_cluster.py",
    "tests/e2e/test_publish_standalone.py",
    "tests/e2e/test_roles_standalone.py",
    "tests/e2e/test_gate_standalone.py",
    "tests/e2e/test_make_run_stop.py",
    "tests/e2e/test_embedded_load.py",
    "tests/e2e/test_catatan_browser.py",
    "tests/e2e/test_standalone_restart.py",
    "tests/e2e/test_ui_timezone_browser.py",
)


def pytest_collection_modifyitems(config, items) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):  # every worker sorts alike: xdist checks that
        rank = {module: i for i, module in enumerate(SLOW_MODULES_FIRST)}
        items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


def pytest_runtest_logreport(report) -> None:
    record_skip(report)


def pytest_sessionfinish(session, exitstatus) -> None:
    bad = unexpected_skips(ci=bool(os.environ.get("CI")))
    if bad and session.exitstatus == 0:
        session.exitstatus = 1
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"{len(bad)} skip(s) not allowed (tests/support/skips.py):", red=True)
            for nodeid, reason in bad:
                reporter.write_line(f"  {nodeid}: {reason}", red=True)
    if not os.environ.get("SOP_KEEP_TEST_HOME"):
        shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    """A private PostgreSQL server (Debian's binaries). In CI it must run; elsewhere it may be skipped."""
    from tests.support.pg import available, private_postgres

    require(available(), "test the records on PostgreSQL")
    with private_postgres() as pg:
        yield pg


@pytest.fixture(params=["sqlite", "postgresql"])
def records_url(request, tmp_path) -> str:
    """A fresh, empty records database URL: SQLite in tmp_path, or a new database on ``postgres``."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'records.db'}"
    return str(request.getfixturevalue("postgres").new_database())
