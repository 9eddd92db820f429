"""InstagramPublisher replies (SOP step 9) and caption edits (SOP step 10) at the HTTP edge.

instagrapi's real requests (``private_transport="requests"``, no delays) against Instagram's
answers faked with ``responses``; the session discipline is the publisher's (stored session used
as it is, one login at most).
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from sop_tasks.channels.base import Replier, ReplyTarget, Updater, build_payload, payload_hash
from sop_tasks.channels.instagram import MemorySessionStore, reply_payload_hash
from sop_tasks.errors import (
    ActionRequiredError,
    RateLimitedError,
    RejectedContentError,
    TransientChannelError,
)
from tests.support.instagram_fake import (
    API,
    CODE,
    EDIT_URL,
    INFO_URL,
    MEDIA_ID,
    MEDIA_PK,
    NEW_CAPTION,
    OLD_SESSION,
    USER_ID,
    USERNAME,
    InstagramFake,
    assert_no_secrets,
    auth_session,
    challenge_body,
    comment,
    comment_url,
    comments_url,
    media_info,
    media_item,
    prepared_content,
    publisher,
    stored_session_store,  # noqa: F401 (the ``store`` fixture)
)

COMMENT_PK = "17900000000000001"  # the citizen's comment
OUR_PK = "17900000000000099"  # our reply
CITIZEN = {"pk": "61000000001", "username": "warga.kendal", "full_name": "Warga"}
OFFICE = {"pk": USER_ID, "username": USERNAME, "full_name": "Dinarpus Kendal"}
NOW = int(time.time())
THREAD = "340282366841710300949128531777654287254"
CITIZEN_ITEM = "32000000000000000000000000000000001"
OUR_ITEM = "32000000000000000000000000000000009"
REPLY = "Terima kasih, Kak. Pameran buka pukul 08.00–15.00 WIB."

COMMENT_URL = comment_url()
COMMENTS_URL = comments_url()
BROADCAST_TEXT_URL = f"{API}/direct_v2/threads/broadcast/text/"
BROADCAST_LINK_URL = f"{API}/direct_v2/threads/broadcast/link/"
THREAD_URL = f"{API}/direct_v2/threads/{THREAD}/"

COMMENT_TARGET = ReplyTarget(
    channel="instagram",
    platform_id=COMMENT_PK,
    kind="comment",
    post_ref=str(MEDIA_PK),
    thread_id=str(MEDIA_PK),
    author="warga.kendal",
)
DM_TARGET = ReplyTarget(
    channel="instagram",
    platform_id=f"dm:{THREAD}:{CITIZEN_ITEM}",
    kind="dm",
    thread_id=THREAD,
    author="warga.kendal",
)
GONE = "komentar/unggahan asli sudah dihapus"


def _form(call: Any) -> dict[str, list[str]]:
    """An unsigned form body (direct messages)."""
    body = call.request.body
    return parse_qs(body.decode() if isinstance(body, bytes) else str(body))


def _ack(item_id: str = OUR_ITEM) -> dict[str, Any]:
    return {
        "action": "item_ack",
        "status_code": "200",
        "payload": {
            "client_context": "7123",
            "item_id": item_id,
            "timestamp": str(int(time.time() * 1_000_000)),
            "thread_id": THREAD,
        },
        "status": "ok",
    }


def _thread(*items: dict[str, Any]) -> dict[str, Any]:
    return {"thread": {"thread_id": THREAD, "items": list(items), "has_older": False}, "status": "ok"}


def _message(item_id: str, user_id: str, text: str, *, link: bool = False) -> dict[str, Any]:
    item: dict[str, Any] = {
        "item_id": item_id,
        "user_id": int(user_id),
        "timestamp": int(time.time() * 1_000_000),
        "item_type": "link" if link else "text",
    }
    if link:
        item["link"] = {"text": text, "link_context": {"link_url": "https://dinarpus.kendalkab.go.id"}}
    else:
        item["text"] = text
    return item


def _query(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(str(call.request.url)).query)


def _requests(ig: InstagramFake) -> list[tuple[str, str]]:
    return [(str(c.request.method), str(c.request.url).split("?", 1)[0]) for c in ig.rsps.calls]


def _listed(ig: InstagramFake, *comments: dict[str, Any]) -> None:
    """The post's comments (``GET``) answered with ``comments`` (replies as their previews)."""
    ig.rsps.add(responses.GET, COMMENTS_URL, json={"comments": list(comments), "status": "ok"})


def _gone_at(ig: InstagramFake, where: str, write_url: str, status: int, body: dict[str, Any]) -> None:
    """Instagram answers ``status``/``body`` to the post's info read (``where == "info"``), or
    reads the post and answers so to the write at ``write_url``."""
    if where == "info":
        ig.rsps.add(responses.GET, INFO_URL, status=status, json=body)
    else:
        media_info(ig)
        ig.rsps.add(responses.POST, write_url, status=status, json=body)


# ---------------------------------------------------------------------- the interfaces


def test_is_a_replier_and_an_updater(store: MemorySessionStore) -> None:
    replier: Replier = publisher(store)
    updater: Updater = publisher(store)
    assert (replier.channel, updater.mode) == ("instagram", "live")


# ---------------------------------------------------------------------- reply to a comment


def test_reply_to_a_comment_answers_it_under_the_post(ig: InstagramFake, store: MemorySessionStore) -> None:
    media_info(ig)
    ig.rsps.add(
        responses.POST,
        COMMENT_URL,
        json={"comment": comment(OUR_PK, REPLY, OFFICE, NOW, parent=COMMENT_PK), "status": "ok"},
    )

    result = publisher(store).reply(COMMENT_TARGET, REPLY, "item-3-reply")

    assert (result.channel, result.mode, result.status) == ("instagram", "live", "published")
    assert result.post_id == OUR_PK
    assert result.url == f"https://www.instagram.com/p/{CODE}/"
    assert result.payload_hash == reply_payload_hash(COMMENT_TARGET, REPLY)
    assert _requests(ig) == [("GET", INFO_URL), ("POST", COMMENT_URL)]
    form = ig.form(ig.calls("POST", COMMENT_URL)[0])
    assert form["comment_text"] == REPLY
    assert form["replied_to_comment_id"] == int(COMMENT_PK)
    assert form["media_id"] == MEDIA_ID
    assert ig.login_attempts == 0 and store.saves == 0


@pytest.mark.parametrize(
    ("where", "status", "body"),
    [
        ("info", 404, {"message": "Media not found", "status": "fail"}),
        ("info", 400, {"message": "Media not found or unavailable", "status": "fail"}),
        ("comment", 400, {"message": "Sorry, this comment has been deleted.", "status": "fail"}),
        ("comment", 404, {"message": "not found", "status": "fail"}),
    ],
    ids=["media-404", "media-unavailable", "comment-deleted", "comment-404"],
)
def test_reply_to_a_deleted_comment_or_post_is_rejected(
    ig: InstagramFake, store: MemorySessionStore, where: str, status: int, body: dict[str, Any]
) -> None:
    _gone_at(ig, where, COMMENT_URL, status, body)

    with pytest.raises(RejectedContentError) as ei:
        publisher(store).reply(COMMENT_TARGET, REPLY, "k")

    assert GONE in str(ei.value)
    assert ei.value.__cause__ is None
    assert (where == "comment") == bool(ig.calls("POST", COMMENT_URL))
    assert ig.login_attempts == 0


@pytest.mark.parametrize(
    ("status", "answer", "error", "says"),
    [
        pytest.param(
            400,
            {"json": {"message": "This comment contains a word that is not allowed.", "status": "fail"}},
            RejectedContentError,
            ("not allowed", "teks balasan"),
            id="refused-by-instagram",
        ),
        pytest.param(
            400,
            {
                "json": {
                    "message": "feedback_required",
                    "feedback_message": "We restrict certain activity to protect our community.",
                    "status": "fail",
                }
            },
            ActionRequiredError,
            ("membatasi tindakan",),
            id="feedback-required-asks-for-the-app",
        ),
        pytest.param(
            429, {"json": {"message": "rate limited", "status": "fail"}}, RateLimitedError, (), id="429"
        ),
        pytest.param(502, {"body": "<html>Bad Gateway</html>"}, TransientChannelError, (), id="5xx"),
    ],
)
def test_a_refused_reply_raises_its_error(
    ig: InstagramFake,
    store: MemorySessionStore,
    status: int,
    answer: dict[str, Any],
    error: type[Exception],
    says: tuple[str, ...],
) -> None:
    media_info(ig)
    ig.rsps.add(responses.POST, COMMENT_URL, status=status, **answer)
    with pytest.raises(error) as ei:
        publisher(store).reply(COMMENT_TARGET, REPLY, "k")
    for text in says:
        assert text in str(ei.value)


def test_login_required_on_a_reply_logs_in_once_and_answers_once(
    ig: InstagramFake, store: MemorySessionStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    media_info(ig)
    ig.login_required("POST", COMMENT_URL)
    ig.login_ok()
    ig.rsps.add(
        responses.POST, COMMENT_URL, json={"comment": comment(OUR_PK, REPLY, OFFICE, NOW), "status": "ok"}
    )

    result = publisher(store).reply(COMMENT_TARGET, REPLY, "k")

    assert result.post_id == OUR_PK
    assert ig.login_attempts == 1 and store.saves == 1
    assert len(ig.calls("POST", COMMENT_URL)) == 2  # refused (not posted), then posted once
    assert_no_secrets(caplog.text)


def test_a_comment_target_without_its_post_is_refused_without_requests(
    ig: InstagramFake, store: MemorySessionStore
) -> None:
    target = ReplyTarget(channel="instagram", platform_id=COMMENT_PK, kind="comment")
    with pytest.raises(RejectedContentError):
        publisher(store).reply(target, REPLY, "k")
    with pytest.raises(RejectedContentError, match="kosong"):
        publisher(store).reply(COMMENT_TARGET, "   ", "k")
    assert not ig.rsps.calls


# ---------------------------------------------------------------------- reply to a DM


def test_reply_to_a_dm_answers_in_its_thread(ig: InstagramFake, store: MemorySessionStore) -> None:
    ig.rsps.add(responses.POST, BROADCAST_TEXT_URL, json=_ack())

    result = publisher(store).reply(DM_TARGET, REPLY, "item-4-reply")

    assert result.post_id == OUR_ITEM
    assert result.url == f"https://www.instagram.com/direct/t/{THREAD}/"
    assert result.status == "published" and result.payload_hash == reply_payload_hash(DM_TARGET, REPLY)
    (call,) = ig.rsps.calls
    form = _form(call)
    assert form["text"] == [REPLY]
    assert form["thread_ids"] == [f"[{THREAD}]"]
    assert form["action"] == ["send_item"]
    assert ig.login_attempts == 0


def test_dm_reply_with_a_link_and_the_thread_from_the_item_id(
    ig: InstagramFake, store: MemorySessionStore
) -> None:
    ig.rsps.add(responses.POST, BROADCAST_LINK_URL, json=_ack())
    target = ReplyTarget(channel="instagram", platform_id=f"dm:{THREAD}:{CITIZEN_ITEM}", kind="dm")
    text = "Jadwal lengkap: https://dinarpus.kendalkab.go.id/pameran"

    result = publisher(store).reply(target, text, "k")

    assert result.url == f"https://www.instagram.com/direct/t/{THREAD}/"
    form = _form(ig.calls("POST", BROADCAST_LINK_URL)[0])
    assert form["link_text"] == [text] and form["thread_ids"] == [f"[{THREAD}]"]


def test_dm_to_a_thread_that_is_gone_is_rejected(ig: InstagramFake, store: MemorySessionStore) -> None:
    ig.rsps.add(responses.POST, BROADCAST_TEXT_URL, status=404, json={"message": "Thread not found"})
    with pytest.raises(RejectedContentError, match=r"pesan langsung \(DM\) asli sudah dihapus"):
        publisher(store).reply(DM_TARGET, REPLY, "k")


# ---------------------------------------------------------------------- find_reply


def test_find_reply_finds_our_reply_to_the_comment(ig: InstagramFake, store: MemorySessionStore) -> None:
    reflowed = "  " + REPLY.replace(" ", "  ") + "\n"
    other = "17900000000000002"
    _listed(
        ig,
        comment(
            other,
            "Jam buka?",
            CITIZEN,
            NOW,
            # the same text elsewhere
            replies=[comment("17900000000000098", REPLY, OFFICE, NOW, parent=other)],
        ),
        comment(
            COMMENT_PK,
            "Pameran buka jam berapa?",
            CITIZEN,
            NOW,
            replies=[
                comment("17900000000000097", "Lainnya", OFFICE, NOW, parent=COMMENT_PK),
                comment(OUR_PK, reflowed, OFFICE, NOW, parent=COMMENT_PK),
            ],
        ),
    )

    found = publisher(store).find_reply(COMMENT_TARGET, REPLY, "item-3-reply")

    assert found is not None
    assert found.post_id == OUR_PK
    assert found.url is not None and re.fullmatch(r"https://www\.instagram\.com/p/[\w-]+/", found.url)
    assert found.payload_hash == reply_payload_hash(COMMENT_TARGET, REPLY)
    (call,) = ig.rsps.calls
    assert _query(call)["can_support_threading"] == ["true"]
    assert ig.login_attempts == 0


def test_find_reply_to_a_reply_in_a_thread(ig: InstagramFake, store: MemorySessionStore) -> None:
    parent = "17900000000000003"  # the citizen's comment is itself a reply under this one
    _listed(
        ig,
        comment(
            parent,
            "Ada pameran?",
            CITIZEN,
            NOW,
            replies=[
                comment(COMMENT_PK, "Jam berapa?", CITIZEN, NOW, parent=parent),
                comment(OUR_PK, REPLY, OFFICE, NOW, parent=parent, replied_to=COMMENT_PK),
            ],
        ),
    )
    found = publisher(store).find_reply(COMMENT_TARGET, REPLY, "k")
    assert found is not None and found.post_id == OUR_PK


def test_find_reply_returns_none_without_our_reply(ig: InstagramFake, store: MemorySessionStore) -> None:
    _listed(
        ig,
        comment(
            COMMENT_PK,
            "Pameran buka jam berapa?",
            CITIZEN,
            NOW,
            replies=[
                comment("17900000000000096", REPLY, CITIZEN, NOW, parent=COMMENT_PK),  # not ours
                comment("17900000000000095", REPLY + " (lama)", OFFICE, NOW, parent=COMMENT_PK),
            ],
        ),
        comment("17900000000000094", REPLY, OFFICE, NOW),  # ours, but not a reply to the comment
    )
    assert publisher(store).find_reply(COMMENT_TARGET, REPLY, "k") is None


def test_find_reply_does_not_answer_none_when_the_read_fails(
    ig: InstagramFake, store: MemorySessionStore
) -> None:
    ig.rsps.add(responses.GET, COMMENTS_URL, status=503, json={"message": "unavailable", "status": "fail"})
    with pytest.raises(TransientChannelError):
        publisher(store).find_reply(COMMENT_TARGET, REPLY, "k")


def test_find_reply_finds_our_dm_after_the_message(ig: InstagramFake, store: MemorySessionStore) -> None:
    ig.rsps.add(
        responses.GET,
        THREAD_URL,
        json=_thread(  # newest first
            _message(OUR_ITEM, USER_ID, REPLY),
            _message(CITIZEN_ITEM, CITIZEN["pk"], "Pameran buka jam berapa?"),
            _message("32000000000000000000000000000000000", USER_ID, "Halo"),
        ),
    )

    found = publisher(store).find_reply(DM_TARGET, REPLY, "item-4-reply")

    assert found is not None
    assert found.post_id == OUR_ITEM
    assert found.url == f"https://www.instagram.com/direct/t/{THREAD}/"
    (call,) = ig.rsps.calls
    assert _query(call)["limit"] == ["20"]


def test_find_reply_in_a_dm_ignores_the_same_text_before_the_message(
    ig: InstagramFake, store: MemorySessionStore
) -> None:
    ig.rsps.add(
        responses.GET,
        THREAD_URL,
        json=_thread(
            _message(CITIZEN_ITEM, CITIZEN["pk"], "Pameran buka jam berapa?"),
            _message("32000000000000000000000000000000000", USER_ID, REPLY),  # an earlier answer
        ),
    )
    assert publisher(store).find_reply(DM_TARGET, REPLY, "k") is None


def test_find_reply_in_a_dm_matches_a_link_message(ig: InstagramFake, store: MemorySessionStore) -> None:
    text = "Jadwal lengkap: https://dinarpus.kendalkab.go.id/pameran"
    ig.rsps.add(responses.GET, THREAD_URL, json=_thread(_message(OUR_ITEM, USER_ID, text, link=True)))
    found = publisher(store).find_reply(DM_TARGET, text, "k")
    assert found is not None and found.post_id == OUR_ITEM


# ---------------------------------------------------------------------- update (caption edit)


def test_update_edits_the_caption_in_place(ig: InstagramFake, store: MemorySessionStore) -> None:
    content = prepared_content(caption=NEW_CAPTION)
    media_info(ig)
    ig.rsps.add(
        responses.POST, EDIT_URL, json={"media": media_item(MEDIA_PK, CODE, NEW_CAPTION), "status": "ok"}
    )

    result = publisher(store).update(str(MEDIA_PK), content, "sub-9-instagram-v2")

    assert result.post_id == str(MEDIA_PK)  # the same post
    assert result.url == f"https://www.instagram.com/p/{CODE}/"
    assert result.status == "published" and result.mode == "live"
    assert result.payload_hash == payload_hash(build_payload("instagram", content))
    assert _requests(ig) == [("GET", INFO_URL), ("POST", EDIT_URL)]  # one read, one edit
    assert ig.form(ig.calls("POST", EDIT_URL)[0])["caption_text"] == NEW_CAPTION
    assert ig.login_attempts == 0 and store.saves == 0


def test_update_with_the_caption_already_in_place_sends_no_edit(
    ig: InstagramFake, store: MemorySessionStore
) -> None:
    media_info(ig, caption=NEW_CAPTION.replace("\n\n", "\n \n"))
    result = publisher(store).update(str(MEDIA_PK), prepared_content(caption=NEW_CAPTION), "k")
    assert result.url == f"https://www.instagram.com/p/{CODE}/"
    assert not ig.calls("POST", EDIT_URL)


@pytest.mark.parametrize(
    ("where", "status", "body"),
    [
        ("info", 404, {"message": "Media not found", "status": "fail"}),
        ("edit", 400, {"message": "Sorry, this photo has been deleted.", "status": "fail"}),
    ],
    ids=["info-404", "edit-deleted"],
)
def test_update_of_a_deleted_post_is_rejected(
    ig: InstagramFake, store: MemorySessionStore, where: str, status: int, body: dict[str, Any]
) -> None:
    _gone_at(ig, where, EDIT_URL, status, body)
    with pytest.raises(RejectedContentError, match="unggahan asli sudah dihapus"):
        publisher(store).update(str(MEDIA_PK), prepared_content(caption=NEW_CAPTION), "k")


def test_update_never_empties_a_caption(ig: InstagramFake, store: MemorySessionStore) -> None:
    with pytest.raises(RejectedContentError, match="caption_instagram"):
        publisher(store).update(str(MEDIA_PK), prepared_content(caption=" "), "k")
    assert not ig.rsps.calls


# ---------------------------------------------------------------------- the session


def test_one_publisher_replies_finds_and_updates_with_the_stored_session(
    ig: InstagramFake, store: MemorySessionStore
) -> None:
    pub = publisher(store)
    ig.rsps.add(responses.POST, BROADCAST_TEXT_URL, json=_ack())
    ig.rsps.add(responses.GET, THREAD_URL, json=_thread(_message(OUR_ITEM, USER_ID, REPLY)))
    media_info(ig)
    ig.rsps.add(responses.POST, EDIT_URL, json={"media": media_item(MEDIA_PK, CODE, NEW_CAPTION)})

    pub.reply(DM_TARGET, REPLY, "k1")
    pub.find_reply(DM_TARGET, REPLY, "k1")
    pub.update(str(MEDIA_PK), prepared_content(caption=NEW_CAPTION), "k2")

    assert ig.login_attempts == 0 and store.saves == 0  # the stored session, as it is
    assert {auth_session(c) for c in ig.rsps.calls} == {OLD_SESSION}


def test_a_challenge_stops_every_later_request(ig: InstagramFake, store: MemorySessionStore) -> None:
    pub = publisher(store)
    ig.rsps.add(responses.POST, BROADCAST_TEXT_URL, status=400, json=challenge_body())
    with pytest.raises(ActionRequiredError, match="Ini saya"):
        pub.reply(DM_TARGET, REPLY, "k")
    ig.rsps.calls.reset()
    with pytest.raises(ActionRequiredError):
        pub.find_reply(DM_TARGET, REPLY, "k")
    assert not ig.rsps.calls and ig.login_attempts == 0
