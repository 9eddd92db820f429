"""A new staff member's first look: a fresh Chromium profile (browser zone UTC) logs in to the real
stack and sees WIB (+07:00) — and a zone the user picks later is kept."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.support.standalone import standalone

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]  # stack starts are slow on a loaded machine

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def _need_chromium() -> None:
    if shutil.which(CHROMIUM) is None:
        # "not installed": a local skip the suite's skip policy names; under CI it is a failure
        message = f"chromium not installed ({CHROMIUM}): apt-get install chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def test_fresh_profile_sees_wib_and_keeps_a_chosen_zone(tmp_path):
    _need_chromium()
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with standalone(tmp_path / "airflow", timeout=600) as stack:  # a loaded machine starts slowly
        password = json.loads((stack.home / "passwords.json").read_text())["pengelola_ti"]
        # the browser is sent to [api] base_url (localhost) after login: use that origin throughout
        base = stack.base_url.replace("127.0.0.1", "localhost")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
            try:
                ctx = browser.new_context(
                    timezone_id="UTC", locale="en-US", viewport={"width": 1400, "height": 900}
                )
                page = ctx.new_page()
                page.set_default_timeout(120_000)
                page.goto(f"{base}/auth/login")
                page.fill("input[name=username]", "pengelola_ti")
                page.fill("input[name=password]", password)
                page.click("button[type=submit]")
                page.wait_for_url(re.compile(r"^(?!.*/auth/login).*$"))
                expect(page.get_by_text(re.compile(r"\+07:00")).first).to_be_visible()
                page.screenshot(path=str(ARTIFACTS / "ui-wib.png"), full_page=True)
                assert page.evaluate("localStorage.getItem('timezone')") == '"Asia/Jakarta"'
                assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "UTC"

                # the user picks another zone: a reload must not take it away
                page.evaluate("localStorage.setItem('timezone', JSON.stringify('UTC'))")
                page.reload()
                expect(page.get_by_text(re.compile(r"\+00:00")).first).to_be_visible()
                assert page.evaluate("localStorage.getItem('timezone')") == '"UTC"'
                assert not page.get_by_text(re.compile(r"\+07:00")).count()
            finally:
                browser.close()
