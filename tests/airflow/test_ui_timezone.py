"""The UI-time-zone middleware at the ASGI edge: which responses it changes, and how."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json

from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from sop_tasks.airflow.ui_timezone import DefaultUiTimezone, script_for

PAGE = "<!doctype html><html><head><title>Airflow</title></head><body><div id=root></div></body></html>"
TAG = f"<script>{script_for('Asia/Jakarta')}</script>"


def _client(csp: str | None = None) -> TestClient:
    headers = {"content-security-policy": csp} if csp else {}

    async def page(_request):
        return HTMLResponse(PAGE, headers=headers)

    async def api(_request):
        return JSONResponse({"html": PAGE})

    async def gz(_request):
        return Response(
            gzip.compress(PAGE.encode()), media_type="text/html", headers={"content-encoding": "gzip"}
        )

    app = Starlette(
        routes=[Route("/", page), Route("/dags/x", page), Route("/api/v2/x", api), Route("/gz", gz)]
    )
    return TestClient(DefaultUiTimezone(app, timezone="Asia/Jakarta"))


def test_script_only_sets_the_zone_when_the_user_has_none():
    s = script_for("Asia/Jakarta")
    # the UI stores the zone JSON-encoded under "timezone" (useLocalStorage in Airflow's UI)
    assert 'getItem("timezone")===null' in s
    assert 'setItem("timezone","\\"Asia/Jakarta\\"")' in s
    assert json.loads(json.loads('"\\"Asia/Jakarta\\""')) == "Asia/Jakarta"
    assert s.startswith("try{") and "</" not in s


def test_html_pages_get_the_script_before_head_ends_with_the_right_length():
    c = _client()
    for path in ("/", "/dags/x"):
        r = c.get(path)
        assert r.status_code == 200
        assert r.text == PAGE.replace("</head>", TAG + "</head>")
        assert int(r.headers["content-length"]) == len(r.content)


def test_api_compressed_and_non_get_responses_are_untouched():
    c = _client()
    r = c.get("/api/v2/x")
    assert r.json() == {"html": PAGE}
    assert c.get("/gz").text == PAGE  # a compressed page is passed on as it is
    assert c.head("/").headers["content-length"] == str(len(PAGE))


def test_a_content_security_policy_allows_exactly_this_script():
    digest = (
        "sha256-" + base64.b64encode(hashlib.sha256(script_for("Asia/Jakarta").encode()).digest()).decode()
    )
    r = _client("default-src 'self'; script-src 'self'; img-src *").get("/")
    assert (
        r.headers["content-security-policy"] == f"default-src 'self'; script-src 'self' '{digest}'; img-src *"
    )
    r = _client("default-src 'self'").get("/")
    assert r.headers["content-security-policy"] == f"default-src 'self' '{digest}'"
    # inline scripts already allowed: adding a hash would switch 'unsafe-inline' off for others
    r = _client("script-src 'self' 'unsafe-inline'").get("/")
    assert r.headers["content-security-policy"] == "script-src 'self' 'unsafe-inline'"
    assert TAG in r.text
