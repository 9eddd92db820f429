from sop_tasks.airflow.notify import notify
from tests.support.smtp import body_text, smtp_server


def test_no_email_without_smtp_connection(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    assert notify(["a@dinarpus.test"], "Subjek", "teks") is False


def test_email_through_airflow_smtp_provider(monkeypatch):
    with smtp_server() as (inbox, conn):
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", conn)
        assert notify(["kasubag@dinarpus.test"], "[SOP] Pengingat", "Menunggu <b>verifikasi</b>") is True
    assert len(inbox.messages) == 1
    msg = inbox.messages[0]
    assert msg["Subject"] == "[SOP] Pengingat" and "kasubag@dinarpus.test" in msg["X-Rcpt"]
    assert "&lt;b&gt;verifikasi&lt;/b&gt;" in body_text(msg)  # text stays inert in the HTML mail


def test_email_carries_attachments(monkeypatch, tmp_path):
    report = tmp_path / "laporan-sop-2026-11.pdf"
    report.write_bytes(b"%PDF-1.7 uji")
    with smtp_server() as (inbox, conn):
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", conn)
        assert notify(["kadis@dinarpus.test"], "[SOP] Laporan", "Terlampir.", attachments=[report]) is True
    parts = [p for p in inbox.messages[0].walk() if p.get_filename()]
    assert [(p.get_filename(), p.get_payload(decode=True)) for p in parts] == [
        ("laporan-sop-2026-11.pdf", b"%PDF-1.7 uji")
    ]
