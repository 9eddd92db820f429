"""Resolve the records database from the ``sop_ledger`` connection."""

from __future__ import annotations

import logging
from typing import Any

from sop_tasks.records.db import default_url
from sop_tasks.records.ledger import Ledger

LEDGER_CONN_ID = "sop_ledger"
log = logging.getLogger(__name__)


def ledger_url() -> str:
    """SQLAlchemy URL of ``sop_ledger``; SQLite under AIRFLOW_HOME when it is not defined."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = BaseHook.get_connection(LEDGER_CONN_ID)
    except AirflowNotFoundException:
        return default_url()
    return url_from_connection(conn)


def ledger_url_in_server() -> str:
    """The same URL for server processes (scheduler listeners), without Airflow's scoped session.

    ``BaseHook.get_connection`` there would close the scheduler's own session and detach its
    objects, so the environment variable is read directly, then the metadata DB in a private
    session.
    """
    import os

    from airflow import settings
    from airflow.models.connection import Connection
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    raw = os.environ.get(f"AIRFLOW_CONN_{LEDGER_CONN_ID.upper()}")
    if raw:
        conn = (
            Connection.from_json(raw, conn_id=LEDGER_CONN_ID)
            if raw.lstrip().startswith("{")
            else Connection(conn_id=LEDGER_CONN_ID, uri=raw)
        )
        return url_from_connection(conn)
    with Session(settings.engine) as session:
        found = session.scalar(select(Connection).where(Connection.conn_id == LEDGER_CONN_ID))
        return url_from_connection(found) if found is not None else default_url()


def url_from_connection(conn: Any) -> str:
    if conn.conn_type == "sqlite":
        return f"sqlite:///{conn.host}"
    uri = conn.get_uri()
    for old, new in (("postgres://", "postgresql://"), ("mysql://", "mysql+pymysql://")):
        if uri.startswith(old):
            uri = new + uri.removeprefix(old)
    return uri


def get_ledger() -> Ledger:
    return Ledger(ledger_url())
