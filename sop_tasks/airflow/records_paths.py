"""Where the "Catatan SOP" plugin app is mounted, for links built outside the app (approvals).

Kept apart from :mod:`sop_tasks.airflow.records_app` so a worker building an approval body does
not import the web app.
"""

from __future__ import annotations

from urllib.parse import urlparse

PREFIX = "/catatan-sop"


def base_path() -> str:
    """The path Airflow is served under (``[api] base_url``), without a trailing slash."""
    from airflow.configuration import conf

    raw = conf.get("api", "base_url", fallback="") or ""
    return urlparse(raw).path.rstrip("/")


def thumbnail_base() -> str:
    """Path prefix of the approval thumbnails: ``…/catatan-sop/thumb`` (+ ``/<id>/<index>``)."""
    return f"{base_path()}{PREFIX}/thumb"
