"""The website channel against a real WordPress (Debian's package, MariaDB, php -S)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import requests
import responses

from sop_tasks.channels.website import (
    WordPressCredentials,
    WordPressPublisher,
    discover_root,
    slug_for,
)
from sop_tasks.content import PreparedContent, prepare
from sop_tasks.errors import CredentialsError, RejectedContentError, TransientChannelError
from tests.support.media import make_jpeg


def _pub(site, **kw) -> WordPressPublisher:
    return WordPressPublisher(WordPressCredentials(site.url, site.admin_user, site.app_password), **kw)


def _content(title: str, body: str = "Paragraf satu.\n\nParagraf <b>dua</b>.", media=()) -> PreparedContent:
    return PreparedContent(
        title=title,
        body=body,
        channels=("website",),
        caption_instagram="",
        text_twitter="",
        media=tuple(media),
    )


def _key() -> str:
    return f"sop1-website-{uuid.uuid4().hex[:12]}"


def test_discovers_plain_permalink_root(wordpress):
    pub = _pub(wordpress)
    assert pub.api_root() == f"{wordpress.url}/index.php?rest_route=/"
    ok, msg = pub.test_connection()
    assert ok and "admin" in msg


def test_publish_without_image_and_read_back(wordpress):
    key = _key()
    c = _content(f"Jam layanan {key[-6:]}")
    res = _pub(wordpress).publish(c, key)
    assert res.status == "published" and res.mode == "live" and res.post_id and res.url
    post = requests.get(
        f"{wordpress.url}/index.php", params={"rest_route": f"/wp/v2/posts/{res.post_id}"}, timeout=10
    ).json()
    assert post["title"]["rendered"] == c.title
    assert "<p>Paragraf <b>dua</b>" not in post["content"]["rendered"]  # the body is text, never HTML
    assert "&lt;b&gt;dua&lt;/b&gt;" in post["content"]["rendered"]
    assert post["status"] == "publish" and post["slug"] == slug_for(c.title, key)
    assert requests.get(res.url, timeout=10).status_code == 200


def test_publish_with_image_sets_featured_media(wordpress, office_cfg, media_dir, tmp_path):
    make_jpeg(media_dir / "wp-poster.jpg", (800, 600))
    c = prepare(
        {"title": "Pameran foto", "body": "Isi", "channels": ["website"], "media": ["wp-poster.jpg"]},
        office_cfg,
        tmp_path,
    )
    key = _key()
    res = _pub(wordpress).publish(c, key)
    post = requests.get(
        f"{wordpress.url}/index.php", params={"rest_route": f"/wp/v2/posts/{res.post_id}"}, timeout=10
    ).json()
    assert post["featured_media"] > 0
    media = requests.get(
        f"{wordpress.url}/index.php",
        params={"rest_route": f"/wp/v2/media/{post['featured_media']}"},
        timeout=10,
    ).json()
    assert media["mime_type"] == "image/jpeg" and media["media_details"]["width"] == 800
    assert media["source_url"] in post["content"]["rendered"]


def test_bad_credentials_say_which_connection_to_fix(wordpress):
    pub = WordPressPublisher(WordPressCredentials(wordpress.url, "admin", "xxxx xxxx xxxx xxxx xxxx xxxx"))
    with pytest.raises(CredentialsError) as ei:
        pub.publish(_content("Tidak boleh"), _key())
    msg = str(ei.value)
    assert "401" in msg and "sop_website" in msg and "xxxx" not in msg
    ok, why = pub.test_connection()
    assert not ok and "sop_website" in why


def test_user_without_publish_rights_gets_credentials_error(wordpress):
    pub = WordPressPublisher(
        WordPressCredentials(wordpress.url, wordpress.subscriber_user, wordpress.subscriber_app_password)
    )
    with pytest.raises(CredentialsError, match="403"):
        pub.publish(_content("Pelanggan mencoba"), _key())
    ok, why = pub.test_connection()
    assert not ok and "Author/Editor" in why


def test_invalid_param_names_the_field(wordpress):
    with pytest.raises(RejectedContentError, match="status"):
        _pub(wordpress).request("POST", "wp/v2/posts", json={"title": "x", "status": "terbit-dong"})


def test_unknown_category_is_a_clear_error(wordpress):
    with pytest.raises(RejectedContentError, match="Kategori 'Tidak Ada'"):
        _pub(wordpress, categories=("Tidak Ada",)).publish(_content("Berkategori"), _key())


def test_find_existing_by_key(wordpress):
    key = _key()
    c = _content(f"Dicari {key[-6:]}")
    pub = _pub(wordpress)
    assert pub.find_existing(c, key) is None
    made = pub.publish(c, key)
    assert pub.find_existing(c, key) == made


# ---- at the HTTP edge: discovery variants and transient failures --------------------------


@responses.activate
def test_discovery_from_html_link_tag_and_pretty_root():
    responses.get(
        "https://situs.test/",
        body='<html><head><link rel="https://api.w.org/" href="https://situs.test/wp-json/" /></head></html>',
        content_type="text/html",
    )
    responses.get(
        "https://situs.test/wp-json/wp/v2/users/me",
        json={"slug": "admin", "capabilities": {"publish_posts": True}},
    )
    pub = WordPressPublisher(WordPressCredentials("https://situs.test", "admin", "pw pw"))
    assert pub.api_root() == "https://situs.test/wp-json/"
    assert pub.test_connection()[0]


@responses.activate
def test_no_rest_api_and_5xx_and_timeout():
    responses.get("https://bukan-wp.test/", body="<html>halo</html>", content_type="text/html")
    with pytest.raises(CredentialsError, match="tidak mengumumkan REST API"):
        WordPressPublisher(WordPressCredentials("https://bukan-wp.test", "a", "b")).api_root()
    responses.get(
        "https://wp5.test/", headers={"Link": '<https://wp5.test/wp-json/>; rel="https://api.w.org/"'}
    )
    responses.post("https://wp5.test/wp-json/wp/v2/posts", status=503)
    pub = WordPressPublisher(WordPressCredentials("https://wp5.test", "a", "b"))
    with pytest.raises(TransientChannelError, match="503"):
        pub.request("POST", "wp/v2/posts", json={})
    responses.get("https://wp5.test/wp-json/wp/v2/posts", body=requests.ReadTimeout("lambat"))
    with pytest.raises(TransientChannelError, match="ReadTimeout"):
        pub.request("GET", "wp/v2/posts")


def test_discover_root_prefers_link_header():
    r = requests.Response()
    r.headers["Link"] = (
        '<https://a.test/wp-json/>; rel="https://api.w.org/", <https://a.test/?p=1>; rel="shortlink"'
    )
    assert discover_root(r) == "https://a.test/wp-json/"


def test_collects_comments_left_through_the_site_form(wordpress):
    from sop_tasks.channels.website import WordPressCollector

    pub = _pub(wordpress)
    post = pub.publish(_content(f"Dibuka komentar {uuid.uuid4().hex[:4]}"), _key())
    collector = WordPressCollector(pub, per_page=2)  # small pages: pagination is exercised
    start = collector.collect(None).watermark
    wordpress.post_comment(post.post_id, "Budi", "budi@warga.test", "Min, perpus buka hari Sabtu gmn?")
    wordpress.post_comment(post.post_id, "Sari", "sari@warga.test", "Arsip tanah desa <b>tahun 1970</b> ada?")
    wordpress.post_comment(post.post_id, "Andi", "andi@warga.test", "Terima kasih infonya")
    got = collector.collect(start)
    assert [i.author for i in got.items] == ["Budi", "Sari", "Andi"]
    first = got.items[0]
    assert first.channel == "website" and first.kind == "comment" and first.post_ref == post.post_id
    assert first.raw["status"] == "hold"  # a first-time commenter waits for moderation: still collected
    assert got.items[1].text == "Arsip tanah desa <b>tahun 1970</b> ada?"  # raw text, rendered inert later
    assert first.created_at.utcoffset() == timedelta(hours=7)
    assert int(got.watermark) > int(start)
    assert collector.collect(got.watermark).items == []


def test_reply_under_a_held_comment_is_visible_once(wordpress):
    from sop_tasks.channels.base import ReplyTarget
    from sop_tasks.channels.website import WordPressCollector

    pub = _pub(wordpress)
    post = pub.publish(_content(f"Tanya jawab {uuid.uuid4().hex[:4]}"), _key())
    start = WordPressCollector(pub).collect(None).watermark
    wordpress.post_comment(post.post_id, "Rina", "rina@warga.test", "Perpus buka hari Minggu?")
    item = WordPressCollector(pub).collect(start).items[0]
    target = ReplyTarget("website", item.platform_id, "comment", post_ref=item.post_ref)
    key = f"balas1-website-{uuid.uuid4().hex[:12]}"
    answer = "Halo Kak Rina, hari Minggu perpustakaan tutup. <Senin> buka 08.00."
    assert pub.find_reply(target, answer, key) is None
    res = pub.reply(target, answer, key)
    assert res.status == "published" and res.url and res.post_id
    assert pub.find_reply(target, answer, key) == res
    page = requests.get(post.url, timeout=10).text
    assert "Perpus buka hari Minggu?" in page and "hari Minggu perpustakaan tutup" in page
    assert "&lt;Senin&gt;" in page  # the answer is text, not HTML
    status = wordpress.sql(
        f"SELECT comment_approved FROM wp_comments WHERE comment_ID={item.platform_id}"
    ).strip()
    assert status == "1"


def test_reply_to_deleted_comment_and_update_deleted_post_are_clear(wordpress):
    from sop_tasks.channels.base import ReplyTarget

    pub = _pub(wordpress)
    with pytest.raises(RejectedContentError, match="sudah dihapus"):
        pub.reply(ReplyTarget("website", "999999", "comment", post_ref="1"), "halo", _key())
    with pytest.raises(RejectedContentError, match="sudah dihapus"):
        pub.update("999999", _content("x"), _key())


def test_update_changes_the_same_post_in_place(wordpress):
    pub = _pub(wordpress)
    key = _key()
    made = pub.publish(_content(f"Jadwal lama {key[-4:]}", "Buka jam 08.00"), key)
    new = pub.update(made.post_id, _content(f"Jadwal baru {key[-4:]}", "Buka jam 07.30"), key + "-v2")
    assert new.post_id == made.post_id and new.url == made.url
    post = requests.get(
        f"{wordpress.url}/index.php", params={"rest_route": f"/wp/v2/posts/{made.post_id}"}, timeout=10
    ).json()
    assert post["title"]["rendered"].startswith("Jadwal baru") and "07.30" in post["content"]["rendered"]


def test_whoami_names_the_application_passwords_user_once(wordpress):
    api = _pub(wordpress)
    user_id, name = api.whoami()
    assert (
        user_id
        == wordpress.sql(f"SELECT ID FROM wp_users WHERE user_login = '{wordpress.admin_user}'").strip()
    )
    assert name  # WordPress's display name of that user
    calls = len(api.round_trips)
    assert api.whoami() == (user_id, name) and len(api.round_trips) == calls  # read once, cached
