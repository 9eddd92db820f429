"""A private PostgreSQL server for tests, started the way ``make run-cluster`` starts its own.

One per test session (``postgres`` fixture in tests/conftest.py); each test gets a fresh database
from :meth:`PrivatePostgres.new_database`. Everything is stopped and removed at the end.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sop_tasks.airflow.cluster import ClusterError, NativeCluster, pg_bindir
from tests.support.ports import free_ports


def available() -> str | None:
    """Why no private PostgreSQL can run here, or None."""
    try:
        pg_bindir()
    except ClusterError as exc:
        return str(exc)
    return None


@dataclass
class PrivatePostgres:
    cluster: NativeCluster

    @property
    def port(self) -> int:
        return self.cluster.ports.postgres

    @property
    def password(self) -> str:
        return self.cluster.secrets["POSTGRES_PASSWORD"]

    def url(self, database: str = "airflow") -> str:
        return f"postgresql://airflow:{self.password}@127.0.0.1:{self.port}/{database}"

    def sql(self, database: str, statement: str) -> str:
        return self.cluster._psql_socket(database, statement)

    def new_database(self) -> str:
        """A fresh empty database; returns its SQLAlchemy URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.sql("airflow", f"CREATE DATABASE {name}")
        return self.url(name)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    root = Path(tempfile.mkdtemp(prefix="sop-pg-"))
    cluster = NativeCluster(root, ports=free_ports(workers=0), workers=0, pg_options=("-c", "fsync=off"))
    try:
        cluster.start_postgres()
        yield PrivatePostgres(cluster)
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
