"""Notifications to staff: always the task log, plus email when an SMTP connection exists."""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)
SMTP_CONN_ID = "smtp_default"


def smtp_configured(conn_id: str = SMTP_CONN_ID) -> bool:
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return False
    return True


def notify(
    recipients: Sequence[str],
    subject: str,
    text: str,
    *,
    conn_id: str = SMTP_CONN_ID,
    attachments: Sequence[str | Path] = (),
) -> bool:
    """Log the notice; email it when ``conn_id`` is configured and there are recipients.

    ``text`` is plain text and is escaped for the email body; ``attachments`` are files sent with
    it. Returns True when an email went out.
    """
    log.info("Pemberitahuan: %s — %s", subject, text)
    if not recipients:
        log.info("Tidak ada alamat email untuk pemberitahuan ini; hanya dicatat di log.")
        return False
    if not smtp_configured(conn_id):
        log.info("Koneksi %s belum ada: email tidak dikirim (hanya log).", conn_id)
        return False
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    body = "<pre style='font-family:sans-serif;white-space:pre-wrap'>" + html.escape(text) + "</pre>"
    with SmtpHook(smtp_conn_id=conn_id) as hook:
        hook.send_email_smtp(
            to=list(recipients),
            subject=subject,
            html_content=body,
            files=[str(f) for f in attachments] or None,
        )
    log.info("Email terkirim ke %s", ", ".join(recipients))
    return True
