"""X replies (SOP step 9) and updates (SOP step 10), tested at the HTTP edge with ``responses``.

Every request the code sends is checked against X API v2's OpenAPI spec by the ``x_api`` fixture
(tests skip, with the reason, when the spec file is absent). The account, its fixtures and the
timeline helpers are shared with the other X test modules (``tests.support.x_fake``).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import responses

from sop_tasks.channels.base import Replier, ReplyTarget, Updater, build_payload, payload_hash
from sop_tasks.channels.twitter import XPublisher, normalise_reply_text, reply_payload_hash
from sop_tasks.content import PreparedContent
from sop_tasks.errors import CredentialsError, RateLimitedError, RejectedContentError, TransientChannelError
from tests.support.media import make_jpeg
from tests.support.x_fake import (
    CORRECTED,
    CREDS,
    MEDIA,
    NEW_ID,
    POST_ID,
    RESET,
    TIMELINE_URL,
    TWEETS_URL,
    USERNAME,
    add_me,
    add_post,
    assert_no_secrets,
    calls,
    content,
    form_fields,
    json_body,
    media_file,
    post,
    posts_read,
    replies_read,
    timeline,
)

CITIZEN_ID = "1800000000000000050"  # the citizen's mention being answered
REPLY_ID = "1800000000000000060"  # our reply
DELETE_URL = f"{TWEETS_URL}/{POST_ID}"
REPLY = "Terima kasih, Kak. Pameran dibuka pukul 08.00–15.00 WIB. Info: https://dinarpus.kendalkab.go.id"
TARGET = ReplyTarget(
    channel="twitter",
    platform_id=CITIZEN_ID,
    kind="mention",
    thread_id=CITIZEN_ID,
    author="warga_kendal",
)
GONE = "pesan asli sudah dihapus atau tidak dapat dibalas"


@pytest.fixture
def pub() -> XPublisher:
    return XPublisher(CREDS, sleep=lambda _: None)


def corrected(media: tuple[Any, ...] = ()) -> PreparedContent:
    return content(text=CORRECTED, media=media)


# ---- the interfaces ----------------------------------------------------------------------------
def test_is_a_replier_and_an_updater(pub: XPublisher) -> None:
    replier: Replier = pub
    updater: Updater = pub
    assert (replier.channel, updater.mode) == ("twitter", "live")


# ---- reply -----------------------------------------------------------------------------------------
def test_reply_posts_in_reply_to_the_message(x_api: responses.RequestsMock, pub: XPublisher) -> None:
    add_me(x_api)
    add_post(x_api, REPLY_ID, "@warga_kendal " + REPLY)

    result = pub.reply(TARGET, REPLY, "item-7-reply")

    assert (result.channel, result.mode, result.status) == ("twitter", "live", "published")
    assert result.post_id == REPLY_ID
    assert result.url == f"https://x.com/{USERNAME}/status/{REPLY_ID}"
    assert result.payload_hash == reply_payload_hash(TARGET, REPLY)
    assert calls(x_api) == [("GET", "/2/users/me"), ("POST", "/2/tweets")]
    assert json_body(x_api.calls[1].request) == {"text": REPLY, "reply": {"in_reply_to_tweet_id": CITIZEN_ID}}


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (
            403,
            {
                "title": "Forbidden",
                "type": "about:blank",
                "status": 403,
                "detail": "You attempted to reply to a Tweet that is deleted or not visible to you.",
            },
        ),
        (404, {"title": "Not Found Error", "type": "about:blank", "status": 404, "detail": "Not Found"}),
        (
            403,
            {
                "title": "Forbidden",
                "type": "about:blank",
                "status": 403,
                "detail": "Reply to this conversation is not allowed because you have not been mentioned "
                "or otherwise engaged by the author of the post you are replying to.",
            },
        ),
    ],
    ids=["403-deleted", "404", "403-replies-limited"],
)
def test_reply_to_a_deleted_or_closed_post_is_rejected(
    x_api: responses.RequestsMock, pub: XPublisher, status: int, body: dict[str, Any]
) -> None:
    add_me(x_api)
    x_api.post(TWEETS_URL, status=status, json=body)

    with pytest.raises(RejectedContentError) as info:
        pub.reply(TARGET, REPLY, "k")

    assert GONE in str(info.value) and f"HTTP {status}" in str(info.value)
    assert info.value.__cause__ is None


def test_reply_refused_for_app_permissions_is_still_a_credentials_error(
    x_api: responses.RequestsMock, pub: XPublisher
) -> None:
    add_me(x_api)
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
    with pytest.raises(CredentialsError, match="Read and Write"):
        pub.reply(TARGET, REPLY, "k")


def test_reply_text_refused_names_the_reply_text(x_api: responses.RequestsMock, pub: XPublisher) -> None:
    add_me(x_api)
    x_api.post(
        TWEETS_URL,
        status=400,
        json={"errors": [{"message": "Tweet text is too long."}], "title": "Invalid Request"},
    )
    with pytest.raises(RejectedContentError) as info:
        pub.reply(TARGET, REPLY, "k")
    assert "Tweet text is too long." in str(info.value) and "teks balasan" in str(info.value)
    assert GONE not in str(info.value)


def test_429_on_reply_is_rate_limited(x_api: responses.RequestsMock, pub: XPublisher) -> None:
    add_me(x_api)
    x_api.post(
        TWEETS_URL,
        status=429,
        headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(RESET)},
        json={"title": "Too Many Requests", "type": "about:blank", "status": 429},
    )
    with pytest.raises(RateLimitedError) as info:
        pub.reply(TARGET, REPLY, "k")
    assert info.value.reset_at == datetime(2030, 1, 1, tzinfo=UTC)


def test_empty_reply_or_correction_is_refused_before_any_request(
    x_api: responses.RequestsMock, pub: XPublisher
) -> None:
    with pytest.raises(RejectedContentError, match="teks balasan kosong"):
        pub.reply(TARGET, "  \n", "k")
    with pytest.raises(RejectedContentError, match="'text_twitter' kosong"):
        pub.update(POST_ID, content(text=" "), "k")
    assert not x_api.calls


# ---- find_reply ------------------------------------------------------------------------------------
def test_timeout_on_reply_then_find_reply_finds_it(x_api: responses.RequestsMock, pub: XPublisher) -> None:
    add_me(x_api)
    x_api.post(TWEETS_URL, body=requests.exceptions.ReadTimeout("Read timed out. (read timeout=60)"))
    with pytest.raises(TransientChannelError, match="mungkin sudah diterima X"):
        pub.reply(TARGET, REPLY, "item-7-reply")

    on_x = REPLY.replace("https://dinarpus.kendalkab.go.id", "https://t.co/Zz9") + " "
    x_api.get(
        TIMELINE_URL,
        match=[replies_read(CITIZEN_ID)],
        json=timeline(
            post("1800000000000000066", "@warga_lain " + REPLY, replied_to="1800000000000000055"),
            post("1800000000000000065", REPLY),  # same text, not a reply
            post(REPLY_ID, "@warga_kendal " + on_x, replied_to=CITIZEN_ID),
        ),
    )

    found = pub.find_reply(TARGET, REPLY, "item-7-reply")

    assert found is not None
    assert found.post_id == REPLY_ID
    assert found.url == f"https://x.com/{USERNAME}/status/{REPLY_ID}"
    assert found.status == "published" and found.payload_hash == reply_payload_hash(TARGET, REPLY)
    assert len(x_api.calls) == 3  # ONE read: the profile was cached by reply()


def test_find_reply_returns_none_when_no_reply_matches(
    x_api: responses.RequestsMock, pub: XPublisher
) -> None:
    add_me(x_api)
    x_api.get(
        TIMELINE_URL,
        match=[replies_read(CITIZEN_ID)],
        json=timeline(
            post("1800000000000000066", "@warga_kendal Jawaban lain", replied_to=CITIZEN_ID),
            post("1800000000000000065", "@warga_lain " + REPLY, replied_to="1800000000000000055"),
        ),
    )
    assert pub.find_reply(TARGET, REPLY, "k") is None
    assert calls(x_api) == [("GET", "/2/users/me"), ("GET", urlsplit(TIMELINE_URL).path)]


def test_find_reply_on_an_empty_timeline(x_api: responses.RequestsMock, pub: XPublisher) -> None:
    add_me(x_api)
    x_api.get(TIMELINE_URL, match=[replies_read(CITIZEN_ID)], json=timeline())
    assert pub.find_reply(TARGET, REPLY, "k") is None


def test_find_reply_translates_errors(x_api: responses.RequestsMock, pub: XPublisher) -> None:
    add_me(x_api)
    x_api.get(TIMELINE_URL, status=503, json={"title": "Service Unavailable", "type": "about:blank"})
    with pytest.raises(TransientChannelError, match="HTTP 503"):
        pub.find_reply(TARGET, REPLY, "k")


def test_normalise_reply_text_drops_leading_mentions_only() -> None:
    assert normalise_reply_text("@warga_kendal @dinarpus Terima kasih &amp; salam @admin") == (
        "Terima kasih & salam @admin"
    )
    assert normalise_reply_text("Terima kasih") == normalise_reply_text("@a_b Terima  kasih")


# ---- update, mode="reply" (a correction reply) ---------------------------------------------------
def test_update_reply_mode_posts_a_correction_reply(x_api: responses.RequestsMock, pub: XPublisher) -> None:
    c = corrected()
    add_me(x_api)
    x_api.get(TIMELINE_URL, match=[replies_read(POST_ID)], json=timeline())
    add_post(x_api, NEW_ID, CORRECTED)

    result = pub.update(POST_ID, c, "sub-9-twitter-v2")

    assert result.post_id == NEW_ID  # the correction; the original stays
    assert result.url == f"https://x.com/{USERNAME}/status/{NEW_ID}"
    assert result.payload_hash == payload_hash(build_payload("twitter", c))
    assert calls(x_api) == [
        ("GET", "/2/users/me"),
        ("GET", urlsplit(TIMELINE_URL).path),
        ("POST", "/2/tweets"),
    ]
    assert json_body(x_api.calls[2].request) == {
        "text": CORRECTED,
        "reply": {"in_reply_to_tweet_id": POST_ID},
    }
    assert not any(method == "DELETE" for method, _ in calls(x_api))


def test_update_reply_mode_is_idempotent(x_api: responses.RequestsMock, pub: XPublisher) -> None:
    add_me(x_api)
    on_x = CORRECTED.replace("&", "&amp;").replace(
        "https://dinarpus.kendalkab.go.id/pameran", "https://t.co/a"
    )
    x_api.get(
        TIMELINE_URL,
        match=[replies_read(POST_ID)],
        json=timeline(post(NEW_ID, on_x, replied_to=POST_ID)),
    )

    result = pub.update(POST_ID, corrected(), "sub-9-twitter-v2")

    assert result.post_id == NEW_ID
    assert not any(method == "POST" for method, _ in calls(x_api))


def test_update_reply_mode_on_a_deleted_original_is_rejected(
    x_api: responses.RequestsMock, pub: XPublisher
) -> None:
    add_me(x_api)
    x_api.get(TIMELINE_URL, json=timeline())
    x_api.post(
        TWEETS_URL,
        status=403,
        json={
            "title": "Forbidden",
            "detail": "You attempted to reply to a Tweet that is deleted or not visible",
        },
    )
    with pytest.raises(RejectedContentError, match=GONE):
        pub.update(POST_ID, corrected(), "k")


# ---- update, mode="repost" (delete, then post anew) ---------------------------------------------
def test_update_repost_mode_deletes_then_posts_anew_with_media(
    x_api: responses.RequestsMock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pub = XPublisher(CREDS, sleep=lambda _: None)  # after set_level, as the worker's logging is set first
    jpg = media_file(make_jpeg(tmp_path / "poster-ralat.jpg"), "image", "jpg")
    c = corrected(media=(jpg,))
    add_me(x_api)
    x_api.get(TIMELINE_URL, match=[posts_read(POST_ID)], json=timeline(post("1800000000000000099", "Lain")))
    x_api.post(MEDIA, json={"data": {"id": "1900000000000000009", "media_key": "3_1900000000000000009"}})
    x_api.delete(DELETE_URL, json={"data": {"deleted": True}})
    add_post(x_api, NEW_ID, CORRECTED)

    result = pub.update(POST_ID, c, "sub-9-twitter-v2", mode="repost")

    assert result.post_id == NEW_ID
    assert result.url == f"https://x.com/{USERNAME}/status/{NEW_ID}"
    assert result.payload_hash == payload_hash(build_payload("twitter", c))
    assert calls(x_api) == [
        ("GET", "/2/users/me"),
        ("GET", urlsplit(TIMELINE_URL).path),
        ("POST", "/2/media/upload"),  # media first: a local or upload problem never costs the original
        ("DELETE", f"/2/tweets/{POST_ID}"),
        ("POST", "/2/tweets"),
    ]
    assert form_fields(x_api.calls[2].request)["media"] == Path(jpg.path).read_bytes()
    assert json_body(x_api.calls[4].request) == {
        "text": CORRECTED,
        "media": {"media_ids": ["1900000000000000009"]},
    }
    assert_no_secrets(caplog.text, json.dumps(result.to_json()))


def test_update_repost_mode_with_the_original_already_deleted(
    x_api: responses.RequestsMock, pub: XPublisher
) -> None:
    add_me(x_api)
    x_api.get(TIMELINE_URL, match=[posts_read(POST_ID)], json=timeline())
    x_api.delete(
        DELETE_URL,
        status=404,
        json={"title": "Not Found Error", "type": "about:blank", "status": 404, "detail": "Not Found"},
    )
    add_post(x_api, NEW_ID, CORRECTED)

    assert pub.update(POST_ID, corrected(), "k", mode="repost").post_id == NEW_ID
    assert [m for m, _ in calls(x_api)] == ["GET", "GET", "DELETE", "POST"]


def test_update_repost_mode_is_idempotent_when_the_new_post_exists(
    x_api: responses.RequestsMock, pub: XPublisher
) -> None:
    c = corrected()
    add_me(x_api)
    x_api.delete(DELETE_URL, json={"data": {"deleted": True}})
    x_api.post(TWEETS_URL, body=requests.exceptions.ReadTimeout("Read timed out."))
    x_api.get(TIMELINE_URL, match=[posts_read(POST_ID)], json=timeline())

    # first attempt: deleted, then the post timed out after X may have accepted it
    with pytest.raises(TransientChannelError, match="mungkin sudah diterima X"):
        pub.update(POST_ID, c, "sub-9-twitter-v2", mode="repost")

    # the retry finds the new post (newer than the original, same text) and posts nothing
    x_api.calls.reset()
    on_x = CORRECTED.replace("&", "&amp;").replace(
        "https://dinarpus.kendalkab.go.id/pameran", "https://t.co/b"
    )
    x_api.replace(
        responses.GET,
        TIMELINE_URL,
        match=[posts_read(POST_ID)],
        json=timeline(post(NEW_ID, on_x)),
    )
    result = pub.update(POST_ID, c, "sub-9-twitter-v2", mode="repost")

    assert result.post_id == NEW_ID
    assert calls(x_api) == [("GET", urlsplit(TIMELINE_URL).path)]


def test_update_repost_with_a_changed_file_keeps_the_original(
    x_api: responses.RequestsMock, pub: XPublisher, tmp_path: Path
) -> None:
    jpg = media_file(make_jpeg(tmp_path / "a.jpg"), "image", "jpg")
    Path(jpg.path).write_bytes(b"changed after approval")
    add_me(x_api)
    x_api.get(TIMELINE_URL, match=[posts_read(POST_ID)], json=timeline())

    with pytest.raises(RejectedContentError, match="berubah setelah diverifikasi"):
        pub.update(POST_ID, corrected(media=(jpg,)), "k", mode="repost")

    assert not any(method in ("DELETE", "POST") for method, _ in calls(x_api))


def test_update_repost_delete_refused_stops_before_posting(
    x_api: responses.RequestsMock, pub: XPublisher
) -> None:
    add_me(x_api)
    x_api.get(TIMELINE_URL, json=timeline())
    x_api.delete(
        DELETE_URL,
        status=429,
        headers={"x-rate-limit-reset": str(RESET)},
        json={"title": "Too Many Requests", "type": "about:blank"},
    )
    with pytest.raises(RateLimitedError):
        pub.update(POST_ID, corrected(), "k", mode="repost")
    assert not any(method == "POST" for method, _ in calls(x_api))


def test_update_repost_refused_after_the_delete_says_the_original_is_gone(
    x_api: responses.RequestsMock, pub: XPublisher
) -> None:
    add_me(x_api)
    x_api.delete(DELETE_URL, json={"data": {"deleted": True}})
    x_api.post(
        TWEETS_URL,
        status=403,
        json={
            "title": "Forbidden",
            "detail": "You are not allowed to create a Tweet with duplicate content.",
        },
    )
    with pytest.raises(RejectedContentError) as exc:
        pub.update(POST_ID, corrected(), "k", mode="repost", look_first=False)
    msg = str(exc.value)
    assert msg.startswith("[twitter] ") and msg.count("[twitter]") == 1
    assert f"postingan lama {POST_ID} sudah dihapus" in msg and "ajukan pemutakhiran baru (sop_update)" in msg
    assert ("GET", urlsplit(TIMELINE_URL).path) not in calls(x_api)  # a first attempt reads nothing
