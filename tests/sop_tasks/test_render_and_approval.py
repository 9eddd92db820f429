import pytest

from sop_tasks import approval
from sop_tasks.content import MediaFile, PreparedContent
from sop_tasks.render import inert_block, inert_inline, plain_line
from sop_tasks.sop import step
from tests.support.markdown import render_markdown, visible_text

EVIL = "<img src=x onerror=alert(1)> [klik](http://evil.test) ![x](http://evil.test/a.png) ~~~ **b**"


def test_inert_block_fence_cannot_be_closed_from_inside():
    text = "a\n~~~~~\n<script>alert(1)</script>"
    block = inert_block(text)
    fence = block.splitlines()[0].removesuffix("text")
    assert len(fence) > 5 and block.endswith(fence)
    assert block.count(fence) == 2


def test_inert_inline_and_plain_line():
    assert inert_inline("a`b") == "``a`b``"
    assert plain_line("judul\n<b>x</b>\x1b[31m") == "judul <b>x</b>"
    assert plain_line("x" * 300, 10).endswith("…")


def _content():
    return PreparedContent(
        title=EVIL,
        body=EVIL,
        channels=("website", "instagram", "twitter"),
        caption_instagram=EVIL,
        text_twitter="teks",
        media=(MediaFile("[a](x)<i>.jpg", "/tmp/x", "image", "jpg", 2048, "0" * 64, 10, 10),),
    )


def test_approval_body_shows_everything_inert():
    body = approval.body(step(2), "Kasubag Umum", _content(), submission_id=7)
    html = render_markdown(body)
    # nothing from the user became a link, an image, HTML or emphasis
    assert "<a " not in html and "<img" not in html and "<i>" not in html
    assert "<strong>b</strong>" not in html and "<del>" not in html
    shown = visible_text(html)
    assert shown.count(EVIL) >= 3  # title, website body, instagram caption are all shown in full
    assert "[a](x)<i>.jpg" in shown
    assert "Ya" in body and "Tidak" in body


def test_options_begin_with_ya_and_tidak():
    assert approval.OPTIONS[0].startswith("Ya") and approval.OPTIONS[1].startswith("Tidak")
    assert approval.is_yes([approval.OPTION_YES]) and approval.is_no([approval.OPTION_NO])
    assert approval.subject(step(3), _content()).startswith("Verifikasi langkah 3")


def test_terminal_escapes_and_c1_controls_are_removed_whole():
    from sop_tasks.render import inert_inline, plain_line

    hostile = "Jam\x1b[2J buka\x9b31m \x1b]0;judul palsu\x07pukul\x1bM 8\u202e"
    assert plain_line(hostile) == "Jam buka31m pukul 8"
    assert "\x1b" not in inert_inline(hostile) and "[2J" not in inert_inline(hostile)


INVISIBLE = (
    "\u200b\u200c\u200d\u200e\u200f\u2028\u2029\u2060\ufeff\u061c"
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def test_invisible_and_bidi_characters_are_removed_wherever_text_is_shown():
    # "admin" spelled with hidden characters between its letters, and a reversed file extension
    hostile = "a\u200bd\u2060m\ufeffi\u200dn " + "faktur\u202egpj.exe" + "".join(INVISIBLE)
    shown = "admin fakturgpj.exe"
    assert plain_line(hostile) == shown
    assert inert_inline(hostile) == f"`{shown}`"
    assert inert_block(hostile) == f"~~~text\n{shown}\n~~~"
    for ch in INVISIBLE:
        assert ch not in inert_block(f"x{ch}y")


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ('=HYPERLINK("http://evil.test")', '\'=HYPERLINK("http://evil.test")'),
        ("  =1+1", "'  =1+1"),
        ("\u00a0+62 812", "'\u00a0+62 812"),
        (" \n-2", "' \n-2"),
        ("\t@SUM(A1)", "'\t@SUM(A1)"),
        ("\r=1", "'\n=1"),
        ("\u200b=1", "'=1"),
        ("Jam buka = 08.00", "Jam buka = 08.00"),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(cell, shown):
    import csv
    import io

    from sop_tasks.cli import _write_csv

    out = io.StringIO()
    _write_csv([{"pesan": cell}], out)
    (row,) = csv.DictReader(io.StringIO(out.getvalue()))
    assert row["pesan"] == shown
