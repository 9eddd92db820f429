"""The native launcher's process handling, without Airflow: PostgreSQL and Redis start on private
ports and dirs, and ``make stop-cluster`` (stop_saved, from the state file, as another shell would)
stops every process group it started — nothing is left behind."""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from sop_tasks.airflow.cluster import ClusterError, NativeCluster, stop_saved
from tests.support.pg import available
from tests.support.ports import free_ports


def _gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
def root():
    path = Path(tempfile.mkdtemp(prefix="sop-cluster-proc-"))
    path.chmod(0o711)  # reachable by the postgres user the server runs as under root
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_stop_cluster_stops_every_group_it_started(root):
    why = available()
    if why:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    cluster = NativeCluster(root / "c", ports=free_ports(), workers=0, pg_options=("-c", "fsync=off"))
    try:
        cluster.start_postgres()
        cluster.start_redis()
        assert cluster._redis_ping()
        # private: the socket dir and the Redis config (it holds the password) are the owner's only
        assert stat.S_IMODE(cluster.pgsock.stat().st_mode) == 0o700
        assert stat.S_IMODE((cluster.root / "redis" / "redis.conf").stat().st_mode) == 0o600
        pids = json.loads((cluster.root / "state.json").read_text())["pids"]
        assert set(pids) == {"postgres", "redis"}
        # reap our children as they exit (another shell would not be their parent)
        stopped = stop_saved(cluster.root)
        for proc in cluster.procs.values():
            proc.wait(30)
        assert sorted(stopped) == ["postgres", "redis"]
        assert all(_gone(pid) for pid in pids.values())
        assert json.loads((cluster.root / "state.json").read_text())["pids"] == {}
        assert stop_saved(cluster.root) == []  # a second stop finds nothing running
        # data survives: a new start on the same dir finds the same database
        cluster.procs.clear()
        cluster.start_postgres()
        assert cluster._psql_socket("airflow", "SELECT current_database()").strip() == "airflow"
    finally:
        cluster.stop()


def test_a_data_dir_postgres_cannot_reach_is_refused_with_the_fix(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only as root does the server run as another user (postgres)")
    private = tmp_path / "rahasia"
    private.mkdir(mode=0o700)
    cluster = NativeCluster(private / "c", ports=free_ports(), workers=0)
    with pytest.raises(ClusterError, match="chmod o\\+x"):
        cluster.start_postgres()
    assert "postgres" not in cluster.procs
