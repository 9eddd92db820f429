"""The live X publisher, tested at the HTTP edge with ``responses``.

Every request the code sends is checked against X API v2's OpenAPI spec
(``../shared/specs/x-api-v2-openapi-2.159.json``) by the ``x_api`` fixture; tests that talk HTTP
skip (with the reason) when that file is absent. The account, its keys, URLs and request readers
are shared with the other X test modules (``tests.support.x_fake``).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from responses import matchers

from sop_tasks.channels.base import build_payload, payload_hash
from sop_tasks.channels.twitter import XPublisher, normalise_text
from sop_tasks.content import MediaFile, PreparedContent
from sop_tasks.errors import (
    CredentialsError,
    RateLimitedError,
    RejectedContentError,
    TransientChannelError,
)
from tests.support.media import make_jpeg, make_mp4, make_png
from tests.support.x_fake import (
    CREDS,
    ME_URL,
    MEDIA,
    POST_ID,
    RESET,
    TEXT,
    TIMELINE_URL,
    TWEETS_URL,
    USER_ID,
    USERNAME,
    add_me,
    assert_no_secrets,
    content,
    form_fields,
    json_body,
    media_file,
)
from tests.support.x_spec import SpecViolation, XSpec


# ---- fixtures and helpers (x_spec / x_api come from conftest.py) -------------------------------
@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def pub(sleeps: list[float]) -> XPublisher:
    return XPublisher(CREDS, sleep=sleeps.append, max_processing_wait=60.0)


def add_tweet(rsps: responses.RequestsMock, text: str = TEXT) -> None:
    rsps.post(
        TWEETS_URL,
        status=201,
        json={"data": {"id": POST_ID, "text": text, "edit_history_tweet_ids": [POST_ID]}},
    )


def expected_hash(c: PreparedContent) -> str:
    return payload_hash(build_payload("twitter", c))


# ---- the spec validator can fail -----------------------------------------------------------
def test_spec_validator_rejects_wrong_path_method_and_bodies(x_spec: XSpec) -> None:
    from requests_oauthlib import OAuth1

    auth = OAuth1("k", client_secret="s", resource_owner_key="t", resource_owner_secret="u")

    def req(method: str, url: str, **kw: Any) -> requests.PreparedRequest:
        return requests.Request(method, url, auth=auth, **kw).prepare()

    good = req("POST", f"{MEDIA}/initialize", json={"media_type": "video/mp4", "total_bytes": 9})
    assert x_spec.validate(good) == "initializeMediaUpload"
    bad = {
        "no such path": req("POST", "https://api.x.com/2/media/uploads"),
        "no such method": req("DELETE", MEDIA),
        "enum": req("POST", f"{MEDIA}/initialize", json={"media_type": "video/avi", "total_bytes": 9}),
        "unknown field": req("POST", f"{MEDIA}/initialize", json={"media_type": "video/mp4", "size": 9}),
        "bad path id": req("POST", f"{MEDIA}/abc/append", files={"media": b"x"}, data={"segment_index": "0"}),
        "multipart required": req("POST", f"{MEDIA}/123/append", files={"media": b"x"}),
        "one-shot required": req("POST", MEDIA, files={"media": ("a.jpg", b"x", "image/jpeg")}),
        "json where none": req("POST", f"{MEDIA}/123/finalize", json={"x": 1}),
        "query required": req("GET", MEDIA, params={"command": "STATUS"}),
        "query range": req("GET", TIMELINE_URL, params={"max_results": 500}),
        "query unknown": req("GET", TIMELINE_URL, params={"count": 20}),
        "tweet body": req("POST", TWEETS_URL, json={"text": "x", "media": {"media_ids": [1]}}),
        "wrong host": req("GET", "https://example.org/2/users/me"),
        "no oauth": requests.Request("GET", ME_URL).prepare(),
    }
    for why, request in bad.items():
        with pytest.raises(SpecViolation):
            x_spec.validate(request)
            pytest.fail(f"validator accepted a request with: {why}")


# ---- publishing ------------------------------------------------------------------------------
def test_image_post_uploads_one_shot_then_posts_with_media_ids(
    x_api: responses.RequestsMock, pub: XPublisher, tmp_path: Path
) -> None:
    jpg = media_file(make_jpeg(tmp_path / "poster.jpg"), "image", "jpg")
    png = media_file(make_png(tmp_path / "denah.png"), "image", "png")
    c = content(media=(jpg, png))
    add_me(x_api)
    for media_id in ("1900000000000000001", "1900000000000000002"):
        x_api.post(MEDIA, json={"data": {"id": media_id, "media_key": f"3_{media_id}", "size": 1000}})
    add_tweet(x_api)

    result = pub.publish(c, "sub-1-twitter")

    assert result.channel == "twitter" and result.mode == "live" and result.status == "published"
    assert result.post_id == POST_ID
    assert result.url == f"https://x.com/{USERNAME}/status/{POST_ID}"
    assert result.payload_hash == expected_hash(c)
    calls = [c.request for c in x_api.calls]
    assert [(r.method, str(r.url).split("?")[0]) for r in calls] == [
        ("GET", ME_URL),
        ("POST", MEDIA),
        ("POST", MEDIA),
        ("POST", TWEETS_URL),
    ]
    first, second = form_fields(calls[1]), form_fields(calls[2])
    assert first["media"] == Path(jpg.path).read_bytes()
    assert first["media_category"] == b"tweet_image" and first["media_type"] == b"image/jpeg"
    assert second["media"] == Path(png.path).read_bytes() and second["media_type"] == b"image/png"
    assert json_body(calls[3]) == {
        "text": TEXT,
        "media": {"media_ids": ["1900000000000000001", "1900000000000000002"]},
    }


def test_no_credential_in_logs_even_at_debug(
    x_api: responses.RequestsMock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    add_me(x_api)
    x_api.post(MEDIA, json={"data": {"id": "1900000000000000001"}})
    add_tweet(x_api)
    pub = XPublisher(CREDS, sleep=lambda _: None)
    result = pub.publish(content(media=(media_file(make_jpeg(tmp_path / "a.jpg"), "image", "jpg"),)), "k")
    assert caplog.records  # logging did happen
    assert_no_secrets(caplog.text, json.dumps(result.to_json()))


def test_text_only_post_sends_no_media(x_api: responses.RequestsMock, pub: XPublisher) -> None:
    add_me(x_api)
    add_tweet(x_api)
    assert pub.publish(content(), "k").post_id == POST_ID
    assert json_body(x_api.calls[-1].request) == {"text": TEXT}


def test_video_upload_is_chunked_and_waits_for_processing(
    x_api: responses.RequestsMock, pub: XPublisher, sleeps: list[float], tmp_path: Path
) -> None:
    video = media_file(make_mp4(tmp_path / "liputan.mp4", payload=2500), "video", "mp4")
    pub.chunk_size = 1024  # 3 segments for a 2 532-byte file
    media_id = "1910000000000000001"
    status = matchers.query_param_matcher({"command": "STATUS", "media_id": media_id})
    add_me(x_api)
    x_api.post(
        f"{MEDIA}/initialize",
        json={"data": {"id": media_id, "media_key": f"7_{media_id}", "expires_after_secs": 86400}},
    )
    x_api.post(f"{MEDIA}/{media_id}/append", json={"data": {"expires_at": 1893456000}})
    x_api.post(
        f"{MEDIA}/{media_id}/finalize",
        json={"data": {"id": media_id, "processing_info": {"state": "pending", "check_after_secs": 1}}},
    )
    x_api.get(
        MEDIA,
        match=[status],
        json={
            "data": {
                "id": media_id,
                "processing_info": {"state": "in_progress", "check_after_secs": 3, "progress_percent": 40},
            }
        },
    )
    x_api.get(
        MEDIA,
        match=[status],
        json={"data": {"id": media_id, "processing_info": {"state": "succeeded", "progress_percent": 100}}},
    )
    add_tweet(x_api)

    result = pub.publish(content(media=(video,)), "sub-2-twitter")

    assert result.post_id == POST_ID
    assert sleeps == [1.0, 3.0]  # check_after_secs honoured, via the injected sleep
    calls = [c.request for c in x_api.calls]
    paths = [(r.method, urlsplit(str(r.url)).path) for r in calls]
    assert paths == [
        ("GET", "/2/users/me"),
        ("POST", "/2/media/upload/initialize"),
        ("POST", f"/2/media/upload/{media_id}/append"),
        ("POST", f"/2/media/upload/{media_id}/append"),
        ("POST", f"/2/media/upload/{media_id}/append"),
        ("POST", f"/2/media/upload/{media_id}/finalize"),
        ("GET", "/2/media/upload"),
        ("GET", "/2/media/upload"),
        ("POST", "/2/tweets"),
    ]
    assert json_body(calls[1]) == {
        "media_type": "video/mp4",
        "total_bytes": video.size,
        "media_category": "tweet_video",
    }
    segments = [form_fields(r) for r in calls[2:5]]
    assert [s["segment_index"] for s in segments] == [b"0", b"1", b"2"]
    assert b"".join(s["media"] for s in segments) == Path(video.path).read_bytes()
    assert parse_qs(urlsplit(str(calls[6].url)).query) == {"command": ["STATUS"], "media_id": [media_id]}
    assert json_body(calls[-1])["media"] == {"media_ids": [media_id]}


def _video_until_finalize(rsps: responses.RequestsMock, media_id: str, info: dict[str, Any]) -> None:
    add_me(rsps)
    rsps.post(f"{MEDIA}/initialize", json={"data": {"id": media_id}})
    rsps.post(f"{MEDIA}/{media_id}/append", json={})
    rsps.post(f"{MEDIA}/{media_id}/finalize", json={"data": {"id": media_id, "processing_info": info}})


def test_video_processing_is_bounded_by_max_processing_wait(
    x_api: responses.RequestsMock, sleeps: list[float], tmp_path: Path
) -> None:
    pub = XPublisher(CREDS, sleep=sleeps.append, max_processing_wait=5)
    video = media_file(make_mp4(tmp_path / "v.mov"), "video", "mov")
    media_id = "1910000000000000002"
    _video_until_finalize(x_api, media_id, {"state": "in_progress", "check_after_secs": 2})
    x_api.get(
        MEDIA,
        json={"data": {"id": media_id, "processing_info": {"state": "in_progress", "check_after_secs": 2}}},
    )

    with pytest.raises(TransientChannelError, match="masih memproses"):
        pub.publish(content(media=(video,)), "k")

    assert sleeps == [2.0, 2.0]  # 2 + 2 + 2 would pass the 5 s bound
    assert json_body(x_api.calls[1].request)["media_type"] == "video/quicktime"
    assert not any(urlsplit(str(c.request.url)).path == "/2/tweets" for c in x_api.calls)


def test_video_processing_failure_is_rejected_content(
    x_api: responses.RequestsMock, pub: XPublisher, tmp_path: Path
) -> None:
    video = media_file(make_mp4(tmp_path / "v.mp4"), "video", "mp4")
    info = {
        "state": "failed",
        "error": {"code": 1, "name": "InvalidMedia", "message": "Unsupported video codec"},
    }
    _video_until_finalize(x_api, "1910000000000000003", info)

    with pytest.raises(RejectedContentError, match="Unsupported video codec"):
        pub.publish(content(media=(video,)), "k")


def test_too_much_media_or_changed_file_fails_before_any_request(
    x_api: responses.RequestsMock, pub: XPublisher, tmp_path: Path
) -> None:
    images = tuple(media_file(make_jpeg(tmp_path / f"{i}.jpg"), "image", "jpg") for i in range(5))
    with pytest.raises(RejectedContentError, match="maksimal 4 gambar"):
        pub.publish(content(media=images), "k")
    video = media_file(make_mp4(tmp_path / "v.mp4"), "video", "mp4")
    with pytest.raises(RejectedContentError, match="1 video"):
        pub.publish(content(media=(video, images[0])), "k")

    add_me(x_api)
    Path(images[0].path).write_bytes(b"changed after approval")
    with pytest.raises(RejectedContentError, match="berubah setelah diverifikasi"):
        pub.publish(content(media=(images[0],)), "k")
    assert len(x_api.calls) == 1  # only the profile read, nothing uploaded


# ---- error translation -----------------------------------------------------------------------
@pytest.mark.parametrize("where", ["create_tweet", "media_upload"])
def test_429_is_rate_limited_until_x_rate_limit_reset(
    x_api: responses.RequestsMock, pub: XPublisher, tmp_path: Path, where: str
) -> None:
    limited = {
        "status": 429,
        "json": {
            "title": "Too Many Requests",
            "detail": "Too Many Requests",
            "type": "about:blank",
            "status": 429,
        },
        "headers": {
            "x-rate-limit-limit": "100",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(RESET),
        },
    }
    add_me(x_api)
    media: tuple[MediaFile, ...] = ()
    if where == "media_upload":
        media = (media_file(make_jpeg(tmp_path / "a.jpg"), "image", "jpg"),)
        x_api.post(MEDIA, **limited)
    else:
        x_api.post(TWEETS_URL, **limited)

    with pytest.raises(RateLimitedError) as info:
        pub.publish(content(media=media), "k")

    assert info.value.reset_at == datetime(2030, 1, 1, tzinfo=UTC)
    assert info.value.channel == "twitter"
    assert "2030-01-01 00:00" in str(info.value)


def test_429_without_reset_header_waits_fifteen_minutes(
    x_api: responses.RequestsMock, pub: XPublisher
) -> None:
    add_me(x_api)
    x_api.post(TWEETS_URL, status=429, json={"title": "Too Many Requests", "type": "about:blank"})
    before = datetime.now(UTC)
    with pytest.raises(RateLimitedError) as info:
        pub.publish(content(), "k")
    assert before + timedelta(minutes=14) < info.value.reset_at < datetime.now(UTC) + timedelta(minutes=16)


UNAUTHORIZED = {
    "status": 401,
    "json": {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
}


@pytest.mark.parametrize("where", ["users_me", "media_upload"])
def test_401_is_credentials_error_naming_the_connection_without_secrets(
    x_api: responses.RequestsMock,
    pub: XPublisher,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    where: str,
) -> None:
    caplog.set_level(logging.INFO)
    media: tuple[MediaFile, ...] = ()
    if where == "users_me":
        x_api.get(ME_URL, **UNAUTHORIZED)
    else:
        add_me(x_api)
        media = (media_file(make_jpeg(tmp_path / "a.jpg"), "image", "jpg"),)
        x_api.post(MEDIA, **UNAUTHORIZED)

    with pytest.raises(CredentialsError) as info:
        pub.publish(content(media=media), "k")

    message = str(info.value)
    assert "sop_twitter" in message and "HTTP 401" in message
    assert "kredensial" in message
    assert_no_secrets(message, repr(info.value), repr(info.value.args), caplog.text, repr(CREDS), repr(pub))
    assert info.value.__cause__ is None  # no tweepy/requests object (with the signed request) attached


def test_403_duplicate_is_rejected_content_other_403_is_credentials(
    x_api: responses.RequestsMock, pub: XPublisher
) -> None:
    add_me(x_api)
    x_api.post(
        TWEETS_URL,
        status=403,
        json={
            "detail": "You are not allowed to create a Tweet with duplicate content.",
            "type": "about:blank",
            "title": "Forbidden",
            "status": 403,
        },
    )
    x_api.post(
        TWEETS_URL,
        status=403,
        json={
            "title": "Forbidden",
            "type": "about:blank",
            "status": 403,
            "detail": "Your client app is not configured with the appropriate oauth1 app permissions",
        },
    )
    with pytest.raises(RejectedContentError, match="duplicate content"):
        pub.publish(content(), "k")
    with pytest.raises(CredentialsError, match="Read and Write"):
        pub.publish(content(), "k")


def test_400_is_rejected_content_naming_what_x_said(x_api: responses.RequestsMock, pub: XPublisher) -> None:
    add_me(x_api)
    x_api.post(
        TWEETS_URL,
        status=400,
        json={
            "errors": [{"parameters": {"text": ["…"]}, "message": "Tweet text is too long."}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        },
    )
    with pytest.raises(RejectedContentError) as info:
        pub.publish(content(), "k")
    assert "Tweet text is too long." in str(info.value) and "text_twitter" in str(info.value)


@pytest.mark.parametrize("where", ["create_tweet", "append"])
def test_5xx_is_transient(x_api: responses.RequestsMock, pub: XPublisher, tmp_path: Path, where: str) -> None:
    add_me(x_api)
    media: tuple[MediaFile, ...] = ()
    if where == "append":
        media = (media_file(make_mp4(tmp_path / "v.mp4"), "video", "mp4"),)
        x_api.post(f"{MEDIA}/initialize", json={"data": {"id": "1910000000000000009"}})
        x_api.post(f"{MEDIA}/1910000000000000009/append", status=500, body="Internal Server Error")
    else:
        x_api.post(TWEETS_URL, status=503, json={"title": "Service Unavailable", "type": "about:blank"})
    with pytest.raises(TransientChannelError, match="HTTP 5"):
        pub.publish(content(media=media), "k")


def test_connection_error_is_transient(x_api: responses.RequestsMock, pub: XPublisher) -> None:
    x_api.get(ME_URL, body=requests.exceptions.ConnectionError("connection reset by peer"))
    with pytest.raises(TransientChannelError, match="X tidak menjawab"):
        pub.publish(content(), "k")


# ---- the ambiguous failure and find_existing ------------------------------------------------
def test_timeout_after_x_accepted_then_find_existing_finds_the_post(
    x_api: responses.RequestsMock, pub: XPublisher
) -> None:
    c = content()
    add_me(x_api)
    x_api.post(TWEETS_URL, body=requests.exceptions.ReadTimeout("Read timed out. (read timeout=60)"))

    with pytest.raises(TransientChannelError) as info:
        pub.publish(c, "sub-3-twitter")
    assert "mungkin sudah diterima X" in str(info.value)
    assert len(x_api.calls) == 2

    # X did accept it: the timeline shows it with the URL as a t.co link and & as &amp;
    on_x = (
        "Pameran arsip &amp; buku langka di Perpustakaan Daerah Kendal, 1–7 Des. "
        "Info: https://t.co/Ab12Cd34Ef #Kendal"
    )
    x_api.get(
        TIMELINE_URL,
        json={
            "data": [
                {"id": "1800000000000000009", "text": "Selamat Hari Guru!", "edit_history_tweet_ids": ["1"]},
                {"id": POST_ID, "text": on_x, "edit_history_tweet_ids": [POST_ID]},
            ],
            "meta": {"result_count": 2, "newest_id": "1800000000000000009", "oldest_id": POST_ID},
        },
    )
    found = pub.find_existing(c, "sub-3-twitter")

    assert found is not None
    assert found.post_id == POST_ID
    assert found.url == f"https://x.com/{USERNAME}/status/{POST_ID}"
    assert found.status == "published" and found.mode == "live"
    assert found.payload_hash == expected_hash(c)
    assert len(x_api.calls) == 3  # ONE read: the profile was cached by publish()
    query = parse_qs(urlsplit(str(x_api.calls[2].request.url)).query)
    assert 20 <= int(query["max_results"][0]) <= 100


def test_find_existing_returns_none_when_nothing_matches(
    x_api: responses.RequestsMock, pub: XPublisher
) -> None:
    add_me(x_api)
    x_api.get(
        TIMELINE_URL,
        json={"data": [{"id": "1800000000000000009", "text": "Pameran arsip di Kendal https://t.co/x"}]},
    )
    assert pub.find_existing(content(), "k") is None
    assert [urlsplit(str(c.request.url)).path for c in x_api.calls] == [
        "/2/users/me",
        f"/2/users/{USER_ID}/tweets",
    ]


def test_find_existing_on_an_empty_timeline(x_api: responses.RequestsMock, pub: XPublisher) -> None:
    add_me(x_api)
    x_api.get(TIMELINE_URL, json={"meta": {"result_count": 0}})
    assert pub.find_existing(content(), "k") is None


def test_find_existing_translates_errors(x_api: responses.RequestsMock, pub: XPublisher) -> None:
    add_me(x_api)
    x_api.get(
        TIMELINE_URL, status=429, headers={"x-rate-limit-reset": str(RESET)}, json={"title": "Too Many"}
    )
    with pytest.raises(RateLimitedError):
        pub.find_existing(content(), "k")


# ---- test_connection --------------------------------------------------------------------------
def test_connection_ok(x_api: responses.RequestsMock, pub: XPublisher) -> None:
    add_me(x_api)
    assert pub.test_connection() == (True, f"Terhubung ke X sebagai @{USERNAME}")


def test_connection_401(x_api: responses.RequestsMock, pub: XPublisher) -> None:
    x_api.get(ME_URL, **UNAUTHORIZED)
    ok, message = pub.test_connection()
    assert not ok
    assert "sop_twitter" in message
    assert_no_secrets(message)


# ---- no HTTP ------------------------------------------------------------------------------------
def test_credentials_never_show_in_repr() -> None:
    assert_no_secrets(repr(CREDS), str(CREDS))


def test_normalise_text_drops_urls_entities_and_spacing() -> None:
    mine = "Info:  https://dinarpus.kendalkab.go.id/a?b=1 &  kendalkab.go.id\n#Kendal"
    on_x = "Info: https://t.co/AbC &amp; https://t.co/xYz #Kendal https://t.co/media1"
    assert normalise_text(mine) == normalise_text(on_x) == "Info: & #Kendal"
    assert normalise_text("Pameran A") != normalise_text("Pameran B")
