"""Approvals that read well (issue 11 item 4): prose that wraps yet stays inert, a preview per
channel, our own thumbnails, and for a revision what changed since the returned version."""

from __future__ import annotations

import pytest

from sop_tasks import approval
from sop_tasks.content import MediaFile, PreparedContent
from sop_tasks.render import inert_text
from sop_tasks.sop import step
from tests.support.markdown import gfm_autolinks, render_markdown, tags, visible_text
from tests.support.records import new_ledger

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[klik](http://evil.test)",
    "![x](http://evil.test/a.png)",
    "[ref]: http://evil.test",
    "<http://evil.test>",
    "https://evil.test/path?a=1",
    "www.evil.test",
    "pelapor@evil.test",
    "HTTPS://EVIL.TEST dan http://evil.test/" + "a" * 80,
    "# Judul palsu",
    "Judul setext\n===",
    "1. daftar",
    "- butir",
    "> kutipan",
    "    kode berindentasi",
    "```\nkode\n```",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "**tebal** _miring_ ~~coret~~",
    "&lt;b&gt; &amp; &#60;",
    "garis miring di akhir \\",
    "---",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_inert_text_shows_text_literally_and_nothing_live(text):
    html = render_markdown(inert_text(text))
    assert {t for t, _ in tags(html)} <= {"blockquote", "p", "br"}, html
    assert gfm_autolinks(html) == []  # remark-gfm links bare URLs even after escaping
    shown = visible_text(html)
    expected = "\n".join(line.strip() for line in text.split("\n") if line.strip())
    assert "\n".join(x.strip() for x in shown.split("\n") if x.strip()) == expected


def test_inert_text_keeps_lines_and_paragraphs_and_breaks_long_tokens():
    text = "Baris satu\nBaris dua\n\nParagraf baru " + "x" * 120
    md = inert_text(text)
    html = render_markdown(md)
    assert html.count("<p>") == 2 and "<br" in html
    assert "\u200b" in md  # a break opportunity inside the 120-character token
    assert all(len(chunk) <= 40 for line in md.split("\n") for chunk in line.split("\u200b")[1:])
    assert visible_text(html).replace("\n", " ").split() == text.replace("\n", " ").split()


def _image(i: int) -> MediaFile:
    return MediaFile(f"foto{i}.jpg", f"/tmp/staging/{i}.jpg", "image", "jpg", 50_000, "0" * 64, 800, 600)


def _content(**kw) -> PreparedContent:
    base = {
        "title": "Pameran arsip [foto](http://evil.test)",
        "body": "Paragraf pertama yang panjang. " * 40 + "\n\nParagraf kedua <b>tebal</b>.",
        "channels": ("website", "instagram", "twitter"),
        "caption_instagram": "Keterangan Instagram yang cukup panjang untuk dipotong di beranda. " * 3
        + "#arsip #kendal",
        "text_twitter": "Pameran arsip 😀 https://dinarpus.kendalkab.go.id/pameran",
        "media": (_image(0), MediaFile("klip.mp4", "/tmp/s/k.mp4", "video", "mp4", 9000, "1" * 64)),
    }
    base.update(kw)
    return PreparedContent(**base)


def test_body_previews_every_channel_as_it_will_appear():
    body = approval.body(step(2), "Kasubag", _content(), submission_id=5, thumbnail_base="/catatan-sop/thumb")
    html = render_markdown(body)
    shown = visible_text(html)
    assert "<pre" not in html and "<code" not in html  # nothing in a box that does not wrap
    # X counts an emoji as 2 and every link as 23: "Pameran arsip " 14 + 2 + " " 1 + 23 = 40
    assert "40/280 karakter berbobot" in shown and "1 gambar" in shown
    assert "Terlihat di beranda sebelum" in shown and "2/30 tagar" in shown
    assert "Website — pratinjau tulisan" in shown and "<h3>" in html
    assert "Paragraf kedua <b>tebal</b>." in shown and "<b>" not in html
    # our thumbnail, of image 0 only (the video has none), addressed by submission id + index
    imgs = [a for t, a in tags(html) if t == "img"]
    assert imgs == [{"src": "/catatan-sop/thumb/5/0", "alt": "Gambar 1"}]
    assert "<a " not in html and gfm_autolinks(html) == []


def test_thumbnail_url_takes_only_numbers():
    assert approval.thumbnail_url("/base/thumb/", 12, 3) == "/base/thumb/12/3"
    with pytest.raises(ValueError):
        approval.thumbnail_url("/t", "../../etc", 0)  # type: ignore[arg-type]


def test_no_image_without_the_thumbnail_app():
    body = approval.body(step(3), "Kabid", _content(), submission_id=5)
    assert "<img" not in render_markdown(body)


def test_revision_shows_what_changed_since_the_returned_version(tmp_path):
    ledger = new_ledger(tmp_path)
    old = _content(title="Pameran arsip lama", revision_of=None)
    old_id = ledger.open_submission(
        dag_id="sop_publish",
        run_id="manual__lama",
        kind="publish",
        title=old.title,
        content=old.to_json(),
    )
    ledger.add_event(old_id, 2, "returned", actor="kasubag", reason="Judul kurang jelas <i>x</i>")
    new = _content(title="Pameran arsip Desember", revision_of="manual__lama")
    info = approval.revision_info(ledger, new)
    assert info is not None and info.of_submission == old_id and info.returned_by == "kasubag"
    body = approval.body(step(2), "Kasubag", new, submission_id=old_id + 1, revision=info)
    shown = visible_text(render_markdown(body))
    assert f"Revisi dari pengajuan {old_id}" in shown and "dikembalikan oleh kasubag" in shown
    assert "Judul kurang jelas <i>x</i>" in shown
    assert "dihapus: Pameran arsip lama" in shown and "ditambah: Pameran arsip Desember" in shown
    assert "dihapus: Paragraf" not in shown  # unchanged lines are not listed


def test_revision_of_an_unknown_run_says_so(tmp_path):
    new = _content(revision_of="manual__tidak_ada")
    assert approval.revision_info(new_ledger(tmp_path), new) is None
    body = approval.body(step(2), "Kasubag", new, submission_id=3, revision=None)
    assert "tidak ditemukan di catatan" in visible_text(render_markdown(body))
