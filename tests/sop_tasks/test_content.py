from pathlib import Path

import pytest

from sop_tasks.content import (
    IG_MAX_CAPTION,
    PreparedContent,
    fit_for_x,
    hashtags,
    prepare,
    x_weighted_length,
)
from sop_tasks.errors import ContentError
from tests.support.media import make_jpeg, make_mp4, make_png


@pytest.fixture
def cfg(office_cfg):
    return office_cfg


def _form(**over):
    form = {"title": "Judul", "body": "Isi.", "channels": ["website"], "media": []}
    form.update(over)
    return form


def _problems(form, cfg, tmp_path) -> list[str]:
    with pytest.raises(ContentError) as ei:
        prepare(form, cfg, tmp_path / "staging")
    return ei.value.problems


def test_x_weighting_emoji_and_urls():
    assert x_weighted_length("a" * 280) == 280
    assert x_weighted_length("😀") == 2
    url = "https://dinarpus.kendalkab.go.id/" + "x" * 200
    assert x_weighted_length(url) == 23
    assert x_weighted_length("Halo " + url) == 28


def test_x_text_limit_counts_like_x(cfg, tmp_path):
    ok = "😀" * 140  # 280 weighted
    prepare(_form(channels=["twitter"], text_twitter=ok), cfg, tmp_path / "s")
    problems = _problems(_form(channels=["twitter"], text_twitter=ok + "a"), cfg, tmp_path)
    assert any("281" in p and "280" in p for p in problems)
    long_url = "Info https://example.com/" + "p" * 400
    prepare(_form(channels=["twitter"], text_twitter=long_url), cfg, tmp_path / "s2")


def test_derived_x_text_is_cut_to_fit():
    text = fit_for_x("Judul\n\n" + "kata " * 200)
    assert x_weighted_length(text) <= 280 and text.endswith("…")


def test_instagram_needs_media_caption_and_hashtag_limits(cfg, tmp_path, media_dir):
    problems = _problems(_form(channels=["instagram"]), cfg, tmp_path)
    assert any("minimal satu gambar" in p for p in problems)
    make_jpeg(media_dir / "ig.jpg")
    tags = " ".join(f"#tag{i}" for i in range(31))
    problems = _problems(
        _form(channels=["instagram"], media=["ig.jpg"], caption_instagram=tags), cfg, tmp_path
    )
    assert any("31 tagar" in p for p in problems)
    assert len(hashtags(" ".join(f"#t{i}" for i in range(30)))) == 30
    prepare(
        _form(channels=["instagram"], media=["ig.jpg"], caption_instagram=tags.rsplit(" ", 1)[0]),
        cfg,
        tmp_path / "ok",
    )
    problems = _problems(
        _form(channels=["instagram"], media=["ig.jpg"], caption_instagram="a" * (IG_MAX_CAPTION + 1)),
        cfg,
        tmp_path,
    )
    assert any("2201" in p for p in problems)


def test_media_checked_by_content_not_extension(cfg, tmp_path, media_dir):
    (media_dir / "fake.jpg").write_bytes(b"GIF89a not really")
    (media_dir / "empty.png").write_bytes(b"")
    make_png(media_dir / "real.png")
    make_mp4(media_dir / "clip.mp4")
    problems = _problems(
        _form(media=["fake.jpg", "empty.png", "missing.jpg", "../../etc/passwd"]), cfg, tmp_path
    )
    text = "\n".join(problems)
    assert "fake.jpg" in text and "bukan gambar" in text
    assert "empty.png" in text and "kosong" in text
    assert "missing.jpg" in text and "tidak ditemukan" in text
    assert "harus berada di dalam folder media" in text
    content = prepare(_form(media=["real.png", "clip.mp4"]), cfg, tmp_path / "s")
    assert [(m.kind, m.format) for m in content.media] == [("image", "png"), ("video", "mp4")]
    assert all(Path(m.path).exists() for m in content.media)


def test_every_problem_listed_at_once(cfg, tmp_path):
    problems = _problems(
        {"title": "", "body": "", "channels": ["website", "twitter", "tiktok"], "text_twitter": "x" * 300},
        cfg,
        tmp_path,
    )
    text = "\n".join(problems)
    assert "tiktok" in text and "Judul" in text and "isi (body)" in text and "300" in text


def test_no_channel_and_bad_publish_time(cfg, tmp_path):
    problems = _problems(_form(channels=[], publish_at="besok pagi"), cfg, tmp_path)
    assert any("minimal satu kanal" in p for p in problems)
    assert any("publish_at" in p for p in problems)


def test_publish_at_without_offset_is_wib_and_roundtrip(cfg, tmp_path):
    c = prepare(_form(publish_at="2026-12-01T09:00"), cfg, tmp_path / "s")
    assert c.publish_at == "2026-12-01T09:00:00+07:00"
    again = PreparedContent.from_json(c.to_json())
    assert again == c and again.content_hash() == c.content_hash()


@pytest.fixture
def http_dir(tmp_path):
    import functools
    import http.server
    import threading

    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_media_by_url_is_downloaded_and_checked(cfg, tmp_path, http_dir):
    root, base = http_dir
    make_jpeg(root / "poster.jpg")
    (root / "page.jpg").write_text("<html>not an image</html>")
    content = prepare(_form(media=[f"{base}/poster.jpg"]), cfg, tmp_path / "s")
    assert content.media[0].name == "poster.jpg" and Path(content.media[0].path).is_relative_to(
        tmp_path / "s"
    )
    problems = _problems(
        _form(media=[f"{base}/nope.jpg", f"{base}/page.jpg", "ftp://x/y.jpg"]), cfg, tmp_path
    )
    text = "\n".join(problems)
    assert "HTTP 404" in text and "page.jpg" in text and "http(s)" in text


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        ("Pameran arsip\nBcc: semua@evil.test", "baris baru (U+000A pada posisi 14)"),
        ("Pameran\r", None),  # a trailing break is trimmed like any blank: accepted
        ("Pameran\u2028arsip", "baris baru (U+2028 pada posisi 8)"),
        ("Pameran\x1b[2J arsip", "karakter kendali/tersembunyi (U+001B pada posisi 8)"),
        ("Pameran \u202egpj.exe", "karakter kendali/tersembunyi (U+202E pada posisi 9)"),
    ],
)
def test_a_title_must_be_one_clean_line(cfg, tmp_path, title, shown):
    if shown is None:
        assert prepare(_form(title=title), cfg, tmp_path / "s").title == "Pameran"
        return
    (problem,) = _problems(_form(title=title), cfg, tmp_path)
    assert problem.startswith(f"Judul (title) berisi {shown}; tulis judul dalam satu baris")
