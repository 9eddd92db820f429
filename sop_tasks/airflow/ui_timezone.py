"""ASGI middleware: the Airflow UI opens in the office's time zone (WIB) for every user.

Airflow 3.3.2's UI keeps its time zone only in the browser (``localStorage["timezone"]``,
JSON-encoded, e.g. ``"Asia/Jakarta"``); until a user picks one it shows the browser's own zone —
UTC on most servers and kiosks — and there is no server setting (``[webserver]
default_ui_timezone`` was removed in Airflow 3). This middleware adds one small inline script to
the UI's HTML pages that sets that key to the configured zone *only when the user has not chosen
one*, so a user who picks another zone in the UI keeps it.

Only ``text/html`` responses to GET are touched (never the API, static files or compressed
bodies); ``Content-Length`` is recomputed, and a Content-Security-Policy that restricts inline
scripts gets the script's own hash added, so the page's policy still holds for everything else.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

from sop_tasks.airflow.records_paths import PREFIX as RECORDS_PREFIX

Scope = dict[str, Any]
STORAGE_KEY = "timezone"
# Our own Catatan SOP pages show WIB themselves and allow no script at all (CSP default-src none).
_SKIP_PREFIXES = ("/api/", "/static/", "/execution/", "/auth/token", f"{RECORDS_PREFIX}/")
_HEAD_END = re.compile(rb"</head\s*>", re.IGNORECASE)


def script_for(zone: str) -> str:
    """The inline script: set the UI's zone unless the user already has one (or storage is off)."""
    key, value = json.dumps(STORAGE_KEY), json.dumps(json.dumps(zone))
    return (
        f"try{{if(window.localStorage.getItem({key})===null)"
        f"{{window.localStorage.setItem({key},{value})}}}}catch(e){{}}"
    )


def _csp_with_hash(policy: str, digest: str) -> str:
    """Allow exactly this script in ``policy``: add its hash to ``script-src`` (or, when that is
    absent, to ``default-src``), unless inline scripts are already allowed there."""
    parts = [p.strip() for p in policy.split(";") if p.strip()]
    names = [p.split()[0].lower() for p in parts]
    target = "script-src" if "script-src" in names else ("default-src" if "default-src" in names else None)
    if target is None:
        return policy
    i = names.index(target)
    sources = parts[i].split()[1:]
    if "'unsafe-inline'" in sources and not any(s.startswith(("'nonce-", "'sha")) for s in sources):
        return policy  # inline scripts allowed already (adding a hash would switch that off)
    parts[i] = f"{parts[i]} '{digest}'"
    return "; ".join(parts)


class DefaultUiTimezone:
    """Root middleware (``fastapi_root_middlewares``) injecting :func:`script_for` into HTML pages."""

    def __init__(self, app: Any, timezone: str | None = None) -> None:
        self.app = app
        self._zone = timezone

    @property
    def zone(self) -> str:
        if self._zone is None:
            from sop_tasks.config import load_config

            self._zone = load_config().timezone
        return self._zone

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if (
            scope.get("type") != "http"
            or scope.get("method") != "GET"
            or str(scope.get("path", "")).startswith(_SKIP_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        script = script_for(self.zone)
        start: dict[str, Any] | None = None
        chunks: list[bytes] = []

        async def wrapped(message: dict[str, Any]) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = {k.lower(): v for k, v in message.get("headers", [])}
                html = headers.get(b"content-type", b"").split(b";")[0].strip() == b"text/html"
                if html and not headers.get(b"content-encoding"):
                    start = message  # hold it until the body is complete
                    return
                await send(message)
                return
            if message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                await self._send_page(send, start, b"".join(chunks), script)
                return
            await send(message)

        await self.app(scope, receive, wrapped)

    @staticmethod
    async def _send_page(send: Any, start: dict[str, Any], body: bytes, script: str) -> None:
        match = _HEAD_END.search(body)
        headers = list(start.get("headers", []))
        if match:
            tag = f"<script>{script}</script>".encode()
            body = body[: match.start()] + tag + body[match.start() :]
            digest = "sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
            fixed = []
            for k, v in headers:
                name = k.lower()
                if name == b"content-length":
                    continue
                if name in (b"content-security-policy", b"content-security-policy-report-only"):
                    v = _csp_with_hash(v.decode("latin-1"), digest).encode("latin-1")
                fixed.append((k, v))
            headers = [*fixed, (b"content-length", str(len(body)).encode())]
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})
