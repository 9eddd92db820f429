import time
from pathlib import Path

import pytest

from sop_tasks.content import (
    IG_MAX_CAPTION,
    MAX_MEDIA_SOURCES,
    PreparedContent,
    fit_for_x,
    hashtags,
    prepare,
    x_weighted_length,
)
from sop_tasks.errors import ContentError
from tests.support.media import make_jpeg, make_mp4, make_png, make_png_bomb
from tests.support.media_server import Route, elapsed, media_server, self_signed, test_policy
from tests.support.video import make_video_mp4


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
    make_video_mp4(media_dir / "clip.mp4")
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


def test_media_by_url_is_downloaded_and_checked(cfg, tmp_path):
    with media_server() as srv:
        poster = srv.file("/poster.jpg", make_jpeg(tmp_path / "poster.jpg"))
        page = srv.add("/page.jpg", body=b"<html>not an image</html>")
        content = prepare(_form(media=[poster]), cfg, tmp_path / "s", fetch=test_policy())
        assert content.media[0].name == "poster.jpg"
        assert Path(content.media[0].path).is_relative_to(tmp_path / "s")
        with pytest.raises(ContentError) as ei:
            prepare(
                _form(media=[f"{srv.base}/nope.jpg", page, "ftp://x/y.jpg"]),
                cfg,
                tmp_path / "s2",
                fetch=test_policy(),
            )
    text = "\n".join(ei.value.problems)
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


# -- bad media found on the way --------------------------------------------------------------------


def _staged(staging: Path) -> list[str]:
    return sorted(p.name for p in staging.rglob("*")) if staging.exists() else []


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:{port}/poster.jpg", "loopback"),
        ("http://localhost:{port}/poster.jpg", "loopback"),
        ("http://2130706433:{port}/poster.jpg", "loopback"),  # 127.0.0.1 written as one number
        ("http://[::1]:{port}/poster.jpg", "loopback"),
        ("http://[::ffff:127.0.0.1]:{port}/poster.jpg", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.0.0.8/poster.jpg", "privat"),
        ("http://192.168.1.1/poster.jpg", "privat"),
        ("http://100.64.0.1/poster.jpg", "bukan alamat publik"),
        ("http://224.0.0.1/poster.jpg", "multicast"),
        ("http://240.0.0.1/poster.jpg", "dicadangkan"),
        ("http://0.0.0.0:{port}/poster.jpg", "tak tertentu"),
    ],
)
def test_production_never_downloads_from_the_office_network_or_this_machine(cfg, tmp_path, url, why):
    with media_server() as srv:
        srv.file("/poster.jpg", make_jpeg(tmp_path / "poster.jpg"))
        url = url.format(port=srv.port)
        (problem,) = _problems(_form(media=[url]), cfg, tmp_path)  # the production rules
        assert srv.seen == []  # refused before any connection
    assert problem.startswith(f"Media '{url}': server ") and why in problem
    assert "unggah berkasnya ke folder media" in problem
    assert _staged(tmp_path / "staging") == []


def test_every_resolved_address_is_checked_and_the_checked_one_is_used(cfg, tmp_path):
    with media_server() as srv:
        poster = srv.file("/poster.jpg", make_jpeg(tmp_path / "poster.jpg"))
        named = poster.replace("127.0.0.1", "media.kendalkab.test")
        # one good and one internal answer (DNS rebinding): refused, nothing fetched
        policy = test_policy({"media.kendalkab.test": ["127.0.0.1", "10.20.30.40"]})
        (problem,) = _problems(_form(media=[named]), cfg, tmp_path)
        assert "tidak ditemukan" in problem  # production resolver: the test name does not exist
        with pytest.raises(ContentError, match=r"alamat jaringan privat/internal \(10\.20\.30\.40\)"):
            prepare(_form(media=[named]), cfg, tmp_path / "s", fetch=policy)
        assert srv.seen == []
        # a name answered with the checked address only: fetched from it, looked up exactly once,
        # and the server sees the URL's own host name
        policy = test_policy({"media.kendalkab.test": ["127.0.0.1"]})
        content = prepare(_form(media=[named]), cfg, tmp_path / "s2", fetch=policy)
    assert content.media[0].name == "poster.jpg"
    assert policy.resolve.calls == ["media.kendalkab.test"]  # type: ignore[attr-defined]
    assert srv.seen == [("/poster.jpg", f"media.kendalkab.test:{srv.port}")]


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("http://internal.kendalkab.test/admin.jpg", "alamat jaringan privat/internal (10.0.0.5)"),
        ("http://169.254.169.254/latest/meta-data/", "alamat link-local"),
        ("file:///etc/passwd", "hanya alamat http(s)"),
        ("/loop", "dialihkan lebih dari 5 kali"),
    ],
)
def test_every_redirect_is_checked_again(cfg, tmp_path, target, why):
    with media_server() as srv:
        srv.add("/loop", status=302, location="/loop")
        start = srv.add("/poster.jpg", status=302, location=target)
        policy = test_policy({"internal.kendalkab.test": ["10.0.0.5"]})
        with pytest.raises(ContentError) as ei:
            prepare(_form(media=[start]), cfg, tmp_path / "s", fetch=policy)
    (problem,) = ei.value.problems
    assert problem.startswith(f"Media '{start}': ") and why in problem
    assert {path for path, _ in srv.seen} <= {"/poster.jpg", "/loop"}
    assert _staged(tmp_path / "s") == []


def test_a_redirect_to_an_allowed_server_is_followed(cfg, tmp_path):
    with media_server() as srv:
        srv.file("/real/poster.jpg", make_jpeg(tmp_path / "poster.jpg"))
        start = srv.add("/poster.jpg", status=301, location="/real/poster.jpg")
        content = prepare(_form(media=[start]), cfg, tmp_path / "s", fetch=test_policy())
    assert [p for p, _ in srv.seen] == ["/poster.jpg", "/real/poster.jpg"]
    assert content.media[0].kind == "image"


@pytest.mark.parametrize(
    "route",
    [
        pytest.param(Route(body=b"\xff" * 100, trickle_seconds=0.4), id="one-byte-at-a-time"),
        pytest.param(Route(body=b"x", stall_before_headers=30), id="no-answer"),
    ],
)
def test_a_slow_server_is_cut_off_at_the_total_deadline(cfg, tmp_path, route):
    with media_server() as srv:
        url = srv.add("/lambat.jpg", route)
        started = time.monotonic()
        with pytest.raises(ContentError) as ei:
            prepare(_form(media=[url]), cfg, tmp_path / "s", fetch=test_policy(deadline_seconds=2))
        took = elapsed(started)
    (problem,) = ei.value.problems
    assert "unduhan tidak selesai dalam 2 detik" in problem and "folder media" in problem
    assert 2 <= took < 20  # the deadline, not a byte's timeout (the trickle alone would take 40 s)
    assert _staged(tmp_path / "s") == []


def test_download_size_is_capped_from_the_header_and_while_streaming(tmp_path):
    from sop_tasks.media_fetch import FetchRefused, download

    with media_server() as srv:
        huge = srv.add("/huge.mp4", body=b"", length=3 * 2**30)  # announces 3 GB
        endless = srv.add("/endless.mp4", body=b"\0" * 5000, length=-1)  # no length: capped while read
        for url in (huge, endless):
            dest = tmp_path / "video.mp4"
            with pytest.raises(FetchRefused, match="lebih dari"):
                download(url, dest, 1000, test_policy())
            assert not dest.exists()


def test_a_huge_local_file_is_measured_not_copied(cfg, tmp_path, media_dir):
    sparse = media_dir / "besar.jpg"
    with sparse.open("wb") as fh:
        fh.truncate(3 * 2**30)  # 3 GB, sparse: reading it all took 194 s before
    started = time.monotonic()
    try:
        (problem,) = _problems(_form(media=["besar.jpg"]), cfg, tmp_path)
    finally:
        sparse.unlink()
    assert problem == "Media 'besar.jpg': gambar 3072.0 MB, maksimal 8 MB"
    assert elapsed(started) < 10
    assert _staged(tmp_path / "staging") == []


def test_refused_content_leaves_nothing_in_staging(cfg, tmp_path, media_dir):
    make_jpeg(media_dir / "ok.jpg")
    make_png(media_dir / "ok.png")
    (media_dir / "rusak.jpg").write_bytes(b"bukan gambar")
    staging = tmp_path / "staging"
    problems = _problems(_form(media=["ok.jpg", "rusak.jpg", "ok.png"]), cfg, tmp_path)
    assert len(problems) == 1 and "rusak.jpg" in problems[0]
    assert not staging.exists()  # the good files staged on the way are gone too
    # a refusal that is not about media at all removes the staged media as well
    _problems(_form(title="", media=["ok.jpg"]), cfg, tmp_path)
    assert not staging.exists()


@pytest.mark.parametrize(
    ("side", "size"),
    [(30000, "900 megapiksel"), (7500, "7500×7500 piksel")],  # Pillow's limit; then ours (50 MP)
)
def test_a_decompression_bomb_is_refused_not_a_traceback(cfg, tmp_path, media_dir, side, size):
    bomb = make_png_bomb(media_dir / "bom.png", side)
    assert bomb.stat().st_size < 200_000
    (problem,) = _problems(_form(media=["bom.png"]), cfg, tmp_path)
    assert problem == (
        f"Media 'bom.png': gambar {size}, maksimal 50 megapiksel; perkecil resolusinya "
        "(mis. 4096 piksel sisi terpanjang) lalu simpan ulang"
    )


@pytest.mark.parametrize("lenient", [False, True], ids=["pillow-default", "after-weasyprint"])
def test_images_are_decoded_in_full_and_videos_probed(cfg, tmp_path, media_dir, monkeypatch, lenient):
    from PIL import ImageFile

    # importing WeasyPrint (the monthly report, same process) turns this on for everyone
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", lenient)
    whole = make_jpeg(media_dir / "utuh.jpg", size=(1200, 900)).read_bytes()
    (media_dir / "terpotong.jpg").write_bytes(whole[: len(whole) // 2])  # opens; pixels missing
    make_mp4(media_dir / "kosong.mp4")  # an MP4 header and nothing playable
    make_video_mp4(media_dir / "liputan.mp4")
    problems = _problems(_form(media=["terpotong.jpg", "kosong.mp4", "liputan.mp4"]), cfg, tmp_path)
    assert len(problems) == 2
    assert problems[0].startswith("Media 'terpotong.jpg': gambar JPEG rusak atau terpotong")
    assert problems[1].startswith("Media 'kosong.mp4': video tidak dapat dibaca (")
    assert "MP4 standar (H.264)" in problems[1]
    content = prepare(_form(media=["utuh.jpg", "liputan.mp4"]), cfg, tmp_path / "ok")
    assert [m.kind for m in content.media] == ["image", "video"]
    assert ImageFile.LOAD_TRUNCATED_IMAGES is lenient  # the report's setting is left as it was


@pytest.mark.parametrize(
    "raw",
    ["0001-01-01T00:00+14:00", "9999-12-31T23:59-12:00", "1900-01-01T09:00", "3000-01-01T09:00"],
)
def test_a_publish_time_out_of_range_is_a_clear_error(cfg, tmp_path, raw):
    (problem,) = _problems(_form(publish_at=raw), cfg, tmp_path)
    assert problem.startswith(f"Waktu tayang (publish_at) '{raw}' ")
    assert "2026-12-01T09:00 (WIB)" in problem


def test_https_is_checked_for_the_url_host_name_while_connected_to_the_checked_address(cfg, tmp_path):
    cert, key = self_signed(tmp_path, "media.kendalkab.test")
    with media_server(tls=(cert, key)) as srv:
        srv.file("/poster.jpg", make_jpeg(tmp_path / "poster.jpg"))
        policy = test_policy(
            {"media.kendalkab.test": ["127.0.0.1"], "lain.kendalkab.test": ["127.0.0.1"]},
            ca_file=str(cert),
        )
        good = f"https://media.kendalkab.test:{srv.port}/poster.jpg"
        content = prepare(_form(media=[good]), cfg, tmp_path / "s", fetch=policy)
        assert content.media[0].name == "poster.jpg"  # SNI and certificate matched the name
        other = f"https://lain.kendalkab.test:{srv.port}/poster.jpg"
        with pytest.raises(ContentError, match=r"sertifikat HTTPS server 'lain\.kendalkab\.test' tidak sah"):
            prepare(_form(media=[other]), cfg, tmp_path / "s2", fetch=policy)
    assert srv.seen == [("/poster.jpg", f"media.kendalkab.test:{srv.port}")]


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("2002:7f00:1::", "loopback"),  # 6to4 carrying 127.0.0.1
        ("2002:a00:8::1", "privat"),  # 6to4 carrying 10.0.0.8
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),  # Teredo, client 127.0.0.1
        ("fec0::1", "privat"),  # IPv6 site-local
    ],
)
def test_an_ipv4_address_hidden_in_ipv6_is_judged_as_that_address(cfg, tmp_path, address, why):
    policy = test_policy({"media.kendalkab.test": [address]})
    with pytest.raises(ContentError) as ei:
        prepare(_form(media=["http://media.kendalkab.test/a.jpg"]), cfg, tmp_path / "s", fetch=policy)
    (problem,) = ei.value.problems
    assert why in problem and "folder media" in problem


def test_a_url_with_user_or_password_is_refused_before_any_connection(cfg, tmp_path):
    with media_server() as srv:
        srv.file("/poster.jpg", make_jpeg(tmp_path / "poster.jpg"))
        url = srv.base.replace("://", "://situs-resmi.go.id:rahasia@") + "/poster.jpg"
        moved = srv.add("/pindah.jpg", status=302, location=url)
        for start in (url, moved):
            with pytest.raises(ContentError) as ei:
                prepare(_form(media=[start]), cfg, tmp_path / "s", fetch=test_policy())
            (problem,) = ei.value.problems
            assert "tidak boleh memuat nama pengguna atau sandi" in problem
        assert [p for p, _ in srv.seen] == ["/pindah.jpg"]
    assert _staged(tmp_path / "s") == []


def test_a_malformed_url_or_redirect_is_a_clear_error_not_a_traceback(cfg, tmp_path):
    with media_server() as srv:
        moved = srv.add("/pindah.jpg", status=302, location="http://[::1/x.jpg")
        for bad in ("http://[::1/x.jpg", moved):
            with pytest.raises(ContentError) as ei:
                prepare(_form(media=[bad]), cfg, tmp_path / "s", fetch=test_policy())
            (problem,) = ei.value.problems
            assert (
                problem.startswith(f"Media '{bad}': alamat tidak sah") and "periksa penulisannya" in problem
            )
    assert _staged(tmp_path / "s") == []


def test_an_international_host_name_is_sent_in_idna_form(cfg, tmp_path):
    with media_server() as srv:
        poster = srv.file("/poster.jpg", make_jpeg(tmp_path / "poster.jpg"))
        named = poster.replace("127.0.0.1", "пример.kendalkab.test")
        policy = test_policy({"xn--e1afmkfd.kendalkab.test": ["127.0.0.1"]})
        content = prepare(_form(media=[named]), cfg, tmp_path / "s", fetch=policy)
    assert content.media[0].kind == "image"
    assert srv.seen == [("/poster.jpg", f"xn--e1afmkfd.kendalkab.test:{srv.port}")]


def test_a_long_media_list_is_refused_before_anything_is_downloaded(cfg, tmp_path):
    with media_server() as srv:
        url = srv.file("/poster.jpg", make_jpeg(tmp_path / "poster.jpg"))
        many = [f"{url}?n={i}" for i in range(MAX_MEDIA_SOURCES + 1)]
        with pytest.raises(ContentError) as ei:
            prepare(_form(media=many), cfg, tmp_path / "s", fetch=test_policy())
        assert srv.seen == []
    (problem,) = ei.value.problems
    assert f"maksimal {MAX_MEDIA_SOURCES} per konten" in problem
    assert _staged(tmp_path / "s") == []
