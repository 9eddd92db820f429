"""Resolve the records database from the ``sop_ledger`` connection."""

from __future__ import annotations

import logging

from sop_tasks.records.db import default_url
from sop_tasks.records.ledger import Ledger

LEDGER_CONN_ID = "sop_ledger"
log = logging.getLogger(__name__)


def ledger_url() -> str:
    """SQLAlchemy URL of ``sop_ledger``; SQLite under AIRFLOW_HOME when it is not defined."""
    from airflow.sdk.exceptions import AirflowNotFoundException
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(LEDGER_CONN_ID)
    except AirflowNotFoundException:
        return default_url()
    if conn.conn_type == "sqlite":
        return f"sqlite:///{conn.host}"
    uri = conn.get_uri()
    for old, new in (("postgres://", "postgresql://"), ("mysql://", "mysql+pymysql://")):
        if uri.startswith(old):
            uri = new + uri.removeprefix(old)
    return uri


def get_ledger() -> Ledger:
    return Ledger(ledger_url())
