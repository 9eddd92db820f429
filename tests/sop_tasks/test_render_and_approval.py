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
