"""A real local SMTP server (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import contextlib
import email
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message

from aiosmtpd.controller import Controller

from tests.support.ports import free_port


@dataclass
class Inbox:
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content)
        msg["X-Rcpt"] = ",".join(envelope.rcpt_tos)
        self.messages.append(msg)
        return "250 OK"


def body_text(msg: Message) -> str:
    parts = [p for p in msg.walk() if p.get_content_maintype() == "text"]
    return "\n".join(
        str(p.get_payload(decode=True).decode(p.get_content_charset() or "utf-8")) for p in parts
    )


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[Inbox, str]]:
    """Yields the inbox and an ``AIRFLOW_CONN_*`` JSON value pointing at it."""
    inbox = Inbox()
    port = free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    conn = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": port,
        "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "sop@dinarpus.test", "timeout": 10},
    }
    try:
        yield inbox, json.dumps(conn)
    finally:
        ctl.stop()
