"""The "Catatan SOP" plugin app inside the real Airflow API app, with real JWTs per role.

Who sees what (officer, each verifier, admin, a bidang user, anonymous), 401 / 403 / the login
redirect where due, figures equal to the records, hostile record text shown inert, thumbnails
only of staged images by submission id and index.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from PIL import Image

from sop_tasks.airflow.records_app import scope_of
from sop_tasks.records.ledger import Ledger
from sop_tasks.reports.summary import month_summary
from tests.support.airflow_api import ApiClient
from tests.support.catatan import seed_catatan
from tests.support.month import NOW

pytestmark = [pytest.mark.e2e]
P = "/catatan-sop"
MONTH = "bulan=2026-11"
EVERYONE = ["admin", "pengelola_ti", "kasubag", "kabid", "plt_kabid", "kadis"]


@pytest.fixture(scope="module")
def seeded(airflow_db, office_cfg, tmp_path_factory):
    path = tmp_path_factory.mktemp("catatan") / "ledger.db"
    ledger = Ledger(f"sqlite:///{path}")
    ids = seed_catatan(ledger, office_cfg, office_cfg.path("staging"))
    with pytest.MonkeyPatch.context() as mp:
        # the app (in the API server) finds the records through the sop_ledger connection
        mp.setenv("AIRFLOW_CONN_SOP_LEDGER", json.dumps({"conn_type": "sqlite", "host": str(path)}))
        yield ledger, ids


@pytest.fixture(scope="module")
def client(airflow_db):
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    return TestClient(create_app(), follow_redirects=False)


@pytest.fixture(scope="module")
def api(client) -> ApiClient:
    return ApiClient(
        lambda m, p, **kw: client.request(m, p, **kw),
        Path(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]),
    )


def get(client, api, user, path):
    headers = {"Authorization": f"Bearer {api.token(user)}"} if user else {}
    return client.get(path, headers=headers)


def test_anonymous_page_goes_to_the_login_with_the_way_back(client, seeded):
    r = client.get(f"{P}/ringkasan?{MONTH}")
    assert r.status_code == 303
    target = urlparse(r.headers["location"])
    assert target.path == "/auth/login"
    assert parse_qs(target.query)["next"] == [f"{P}/ringkasan?{MONTH}"]


@pytest.mark.parametrize("path", ["/api/ringkasan", "/api/catatan/2", "/thumb/1/0"])
def test_anonymous_api_and_thumbnails_get_401(client, seeded, path):
    r = client.get(P + path)
    assert r.status_code == 401 and "masuk" in r.json()["detail"]
    bad = client.get(P + path, headers={"Authorization": "Bearer bukan.token.sah"})
    assert bad.status_code == 401


def test_the_login_cookie_is_enough(client, api, seeded):
    r = client.get(f"{P}/ringkasan?{MONTH}", headers={"Cookie": f"_token={api.token('kadis')}"})
    assert r.status_code == 200 and "Ringkasan November 2026" in r.text
    assert "default-src 'none'" in r.headers["content-security-policy"]


@pytest.mark.parametrize("user", EVERYONE)
@pytest.mark.usefixtures("seeded")
def test_officer_verifiers_and_admin_see_everything(client, api, user):
    r = get(client, api, user, f"{P}/api/ringkasan?{MONTH}")
    assert r.status_code == 200, r.text
    data = r.json()
    # what the records hold: 3 November submissions (1 returned, 1 approved by the Kadis),
    # 5 incoming items (1 spam), 3 follow-ups
    figures = {f["label"]: f["value"] for f in data["figures"]}
    assert figures["Pengajuan"] == 3 and figures["Dikembalikan"] == 1
    assert figures["Disetujui Kepala Dinas"] == 1
    assert figures["Informasi masuk"] == 5 and figures["Spam"] == 1 and figures["Tindak lanjut"] == 3
    assert data["submissions"]["total"] == 3 and data["monitoring"]["sweeps_total"] == 6
    rows = {n: get(client, api, user, f"{P}/api/catatan/{n}?{MONTH}").json() for n in (1, 2, 3)}
    assert len(rows[1]) == 3 and len(rows[2]) == 5 and len(rows[3]) == 3
    assert {r["bidang"] for r in rows[2]} == {"perpustakaan", "kearsipan", "sekretariat", None}


def test_page_figures_are_the_query_layers(client, api, seeded, office_cfg):
    ledger, _ = seeded
    r = get(client, api, "kadis", f"{P}/ringkasan?{MONTH}")
    assert r.status_code == 200
    summary = month_summary(ledger, 2026, 11, office_cfg)
    assert "3 pengajuan (3 baru, 0 pemutakhiran)" in r.text and "built-in" not in r.text
    for label, value in summary.figures():
        assert f'<tr data-figure="{label}"><td>{label}</td><td class="num">{value}</td></tr>' in r.text


def test_a_bidang_user_sees_only_its_bidang(client, api, seeded):
    user = "bidang_perpustakaan"
    data = get(client, api, user, f"{P}/api/ringkasan?{MONTH}").json()
    assert data["bidang"] == "perpustakaan"
    assert "submissions" not in data and "monitoring" not in data
    figures = {f["label"]: f["value"] for f in data["figures"]}
    assert "Pengajuan" not in figures and figures["Informasi masuk"] == 2 and figures["Tindak lanjut"] == 2
    assert {s["step"] for s in data["steps"]} == {7, 8, 9}
    for n in (2, 3):
        rows = get(client, api, user, f"{P}/api/catatan/{n}?{MONTH}").json()
        assert len(rows) == 2 and {r["bidang"] for r in rows} == {"perpustakaan"}
    page = get(client, api, user, f"{P}/catatan/2?{MONTH}")
    assert page.status_code == 200 and "Pesan 1" in page.text and "Pesan 3" not in page.text
    assert "alert" not in page.text  # the hostile item belongs to the sekretariat


@pytest.mark.parametrize(
    "path",
    [
        "/api/catatan/1",
        "/api/catatan/2?bidang=kearsipan",
        "/api/ringkasan?bidang=sekretariat",
        "/thumb/1/0",
    ],
)
def test_a_bidang_user_is_refused_the_rest(client, api, seeded, path):
    r = get(client, api, "bidang_perpustakaan", P + path)
    assert r.status_code == 403, r.text
    page = get(client, api, "bidang_perpustakaan", f"{P}/catatan/1?{MONTH}")
    assert page.status_code == 403 and "hanya untuk pengelola dan verifikator" in page.text


def test_filters_and_bad_input(client, api, seeded):
    rows = get(client, api, "kasubag", f"{P}/api/catatan/2?{MONTH}&status=spam").json()
    assert [r["status"] for r in rows] == ["spam"]
    rows = get(client, api, "kasubag", f"{P}/api/catatan/3?{MONTH}&kanal=twitter").json()
    assert [r["channel"] for r in rows] == ["twitter"]
    bad = get(client, api, "kasubag", f"{P}/catatan/2?bulan=2026-13")
    assert bad.status_code == 400 and "TTTT-BB" in bad.text
    bad = get(client, api, "kasubag", f"{P}/api/catatan/2?{MONTH}&kanal=tiktok")
    assert bad.status_code == 400 and "pilih salah satu" in bad.json()["detail"]


@pytest.mark.usefixtures("seeded")
def test_record_tables_link_runs_and_live_posts(client, api):
    page = get(client, api, "pengelola_ti", f"{P}/catatan/1?{MONTH}").text
    assert 'href="/dags/sop_publish/runs/manual__1"' in page
    assert 'href="https://dinarpus.test/?p=77" rel="noopener noreferrer"' in page
    assert "3: dikembalikan · kabid" in page and "Website: tayang" in page
    page3 = get(client, api, "pengelola_ti", f"{P}/catatan/3?{MONTH}").text
    assert 'href="/dags/sop_follow_up/runs/manual__fu1"' in page3


def test_hostile_record_text_is_escaped_and_links_inert(client, api, seeded):
    page = get(client, api, "kadis", f"{P}/catatan/2?{MONTH}&bidang=sekretariat").text
    assert "<script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs and not [h for h in hrefs if "javascript" in h.lower()]  # the item's URL is no link


def test_thumbnail_of_a_staged_image(client, api, seeded):
    _, ids = seeded
    r = get(client, api, "kasubag", f"{P}/thumb/{ids['media']}/0")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(r.content)) as im:
        assert max(im.size) == 480 and im.size[0] > im.size[1]  # resized, aspect kept
    assert r.headers["cache-control"].startswith("private")


@pytest.mark.parametrize(
    ("tail", "status"),
    [
        ("{media}/1", 404),  # a video has no thumbnail
        ("{media}/2", 404),  # recorded path outside the staging folder
        ("{media}/9", 404),
        ("999999/0", 404),
        ("..%2F..%2Fetc%2Fpasswd/0", 404),  # only numbers address a thumbnail
        ("foto.jpg/0", 422),
        ("{media}/-1", 404),
    ],
)
def test_thumbnail_refusals(client, api, seeded, tail, status):
    _, ids = seeded
    r = get(client, api, "kasubag", f"{P}/thumb/" + tail.format(media=ids["media"]))
    assert r.status_code == status, r.text


def test_thumbnail_of_a_changed_file_is_refused(client, api, seeded):
    _, ids = seeded
    path: Path = ids["jpeg"]
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"tambahan")
        r = get(client, api, "kasubag", f"{P}/thumb/{ids['media']}/0")
        assert r.status_code == 410 and "berubah setelah diverifikasi" in r.json()["detail"]
    finally:
        path.write_bytes(original)


def test_scopes_follow_the_office_config(office_cfg):
    assert scope_of(office_cfg, "plt_kabid").everything
    assert scope_of(office_cfg, "sekretariat").bidang == ("sekretariat",)
    assert scope_of(office_cfg, "orang_lain") is None
    assert scope_of(office_cfg, "orang_lain", admin=True).everything
    assert NOW.year == 2026


@pytest.mark.usefixtures("seeded")
def test_unduh_laporan_pdf_and_xlsx(client, api):
    from openpyxl import load_workbook
    from pypdf import PdfReader

    page = get(client, api, "kadis", f"{P}/ringkasan?{MONTH}").text
    assert f'href="{P}/laporan.pdf?{MONTH}"' in page and f'href="{P}/laporan.xlsx?{MONTH}"' in page
    pdf = get(client, api, "kadis", f"{P}/laporan.pdf?{MONTH}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-disposition"] == 'attachment; filename="laporan-sop-2026-11.pdf"'
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "November 2026" in text
    xlsx = get(client, api, "pengelola_ti", f"{P}/laporan.xlsx?{MONTH}")
    assert xlsx.status_code == 200
    assert len(load_workbook(io.BytesIO(xlsx.content)).sheetnames) >= 4


@pytest.mark.usefixtures("seeded")
def test_unduh_laporan_refusals(client, api):
    assert get(client, api, "bidang_perpustakaan", f"{P}/laporan.pdf?{MONTH}").status_code == 403
    assert "Unduh laporan" not in get(client, api, "bidang_perpustakaan", f"{P}/ringkasan?{MONTH}").text
    assert client.get(f"{P}/laporan.pdf?{MONTH}").status_code == 303  # anonymous: to the login
    assert get(client, api, "kadis", f"{P}/laporan.doc?{MONTH}").status_code == 404


def test_keutuhan_names_a_row_changed_outside_the_system(client, api, seeded):
    import sqlite3

    ledger, ids = seeded
    page = get(client, api, "kadis", f"{P}/keutuhan")
    assert page.status_code == 200 and 'data-ok="1"' in page.text and "Kepala rantai: <b>#" in page.text
    path = ledger.engine.url.database
    item = ids["items"]["reply"]
    with sqlite3.connect(path) as db:
        (original,) = db.execute("SELECT text FROM incoming_items WHERE id = ?", (item,)).fetchone()
        db.execute("UPDATE incoming_items SET text = 'ditulis ulang' WHERE id = ?", (item,))
    try:
        page = get(client, api, "kadis", f"{P}/keutuhan")
        assert 'data-ok="0"' in page.text and "TIDAK UTUH" in page.text
        assert f'data-table="incoming_items" data-row="{item}"' in page.text
    finally:
        with sqlite3.connect(path) as db:
            db.execute("UPDATE incoming_items SET text = ? WHERE id = ?", (original, item))
    assert 'data-ok="1"' in get(client, api, "kadis", f"{P}/keutuhan").text
    assert get(client, api, "bidang_perpustakaan", f"{P}/keutuhan").status_code == 403


def test_summary_follows_new_records(client, api, seeded):
    """The page keeps a computed month only while the records are unchanged."""
    from datetime import datetime

    from sop_tasks.incoming import IncomingItem
    from sop_tasks.records.inbox import Inbox
    from tests.support.follow_up import WIB, Routed
    from tests.support.month import clock

    ledger, ids = seeded

    def incoming() -> int:
        data = get(client, api, "kadis", f"{P}/api/ringkasan?bulan=2026-12").json()
        return data["incoming"]["total"]

    assert incoming() == incoming() == 0
    with pytest.MonkeyPatch.context() as mp, clock(mp) as c:
        c.set(datetime(2026, 12, 2, 9, 0))
        at = datetime(2026, 12, 2, 9, tzinfo=WIB)
        item = IncomingItem("twitter", "des-1", "mention", "Warga", "Halo", at)
        Inbox(ledger).record_items([item], [Routed("kearsipan")], ids["sweep"])
    assert incoming() == 1


@pytest.mark.usefixtures("seeded")
def test_a_report_that_takes_too_long_says_what_to_do(client, api, monkeypatch):
    """The report is built in a child process with a deadline; past it staff read what to do."""
    from sop_tasks.airflow import records_app

    monkeypatch.setattr(records_app, "REPORT_TIMEOUT", 0.01)
    monkeypatch.setattr(records_app, "_REPORTS", records_app.OrderedDict())
    r = get(client, api, "kadis", f"{P}/laporan.pdf?{MONTH}")
    assert r.status_code == 503
    assert "Laporan belum selesai dibuat" in r.text and "sop laporan --bulan 2026-11 --format pdf" in r.text


@pytest.mark.usefixtures("seeded")
def test_the_sweep_calendar_speaks_indonesian(client, api):
    """3 Nov's siang sweep failed (seed): staff read "gagal", not the stored status word."""
    r = get(client, api, "kadis", f"{P}/ringkasan?{MONTH}")
    assert r.status_code == 200
    assert "siang ! gagal" in r.text and "! failed" not in r.text
