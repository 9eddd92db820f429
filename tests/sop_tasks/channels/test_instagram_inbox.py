"""InstagramCollector (SOP step 6 on Instagram) at the HTTP edge: instagrapi's real requests,
Instagram's answers faked with ``responses`` (``Client(private_transport="requests")``, no pauses).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from sop_tasks.channels.instagram import ACCOUNT_KEY, MemorySessionStore
from sop_tasks.channels.instagram_inbox import InstagramCollector
from sop_tasks.errors import ActionRequiredError, RateLimitedError, TransientChannelError
from sop_tasks.incoming import Collector
from tests.support.instagram_fake import (
    API,
    INBOX_URL,
    NEW_SESSION,
    PASSWORD,
    PASSWORD_KEY_URL,
    PENDING_INBOX_URL,
    USDID_URL,
    USER_ID,
    USERNAME,
    InstagramFake,
    assert_no_secrets,
    challenge_body,
    comment,
    comments_page,
    comments_url,
    fast_client,
    feed_url,
    media_item,
    stored_session_store,  # noqa: F401 (the ``store`` fixture)
)

WIB = timedelta(hours=7)

T0 = 1763600000  # 2025-11-20 00:53:20 UTC, epoch seconds
POST_A = (3500000000000000001, "C0dEpOsTa1")
POST_B = (3500000000000000002, "C0dEpOsTb2")
POST_QUIET = (3500000000000000003, "C0dEqUiEt3")  # no comments: never asked for them

WARGA = {"pk": 7100000001, "username": "warga.kendal", "full_name": "Warga Kendal"}
GURU = {"pk": 7100000002, "username": "bu.guru.sd", "full_name": "Bu Guru"}
OFFICE = {"pk": int(USER_ID), "username": USERNAME, "full_name": "Dinarpus Kendal"}
THREAD_ID = "340282366841710300949128137443944319108"


def _collector(store: MemorySessionStore) -> InstagramCollector:
    return InstagramCollector(USERNAME, PASSWORD, store, client_factory=fast_client, delay_range=(0, 0))


def post(pk_code: tuple[int, str], comment_count: int) -> dict[str, Any]:
    item = media_item(pk_code[0], pk_code[1], "Kiriman kantor")
    item["comment_count"] = comment_count
    return item


def message(
    item_id: str, user: dict[str, Any], micros: int, text: str | None, kind: str = "text"
) -> dict[str, Any]:
    m: dict[str, Any] = {
        "item_id": item_id,
        "user_id": user["pk"],
        "timestamp": micros,
        "item_type": kind,
        "client_context": f"6{item_id[-8:]}",
        "is_sent_by_viewer": user["pk"] == int(USER_ID),
    }
    if text is not None:
        m["text"] = text
    return m


def thread(
    messages: list[dict[str, Any]],
    users: list[dict[str, Any]],
    *,
    thread_id: str = THREAD_ID,
    has_older: bool = False,
    pending: bool = False,
) -> dict[str, Any]:
    return {
        "thread_id": thread_id,
        "thread_v2_id": "17900000000000001",
        "users": users,
        "viewer_id": int(USER_ID),
        "items": messages,  # newest first, as the inbox sends them
        "last_activity_at": max(m["timestamp"] for m in messages),
        "has_older": has_older,
        "oldest_cursor": messages[-1]["item_id"],
        "thread_title": users[0]["username"],
        "pending": pending,
        "is_group": False,
    }


def inbox_body(*threads: dict[str, Any]) -> dict[str, Any]:
    return {
        "viewer": {"pk": int(USER_ID), "username": USERNAME},
        "inbox": {
            "threads": list(threads),
            "has_older": False,
            "unseen_count": len(threads),
            "oldest_cursor": threads[-1]["thread_id"] if threads else None,
            "blended_inbox_enabled": True,
        },
        "seq_id": 4321,
        "snapshot_at_ms": (T0 + 3600) * 1000,
        "pending_requests_total": 0,
        "status": "ok",
    }


def add_inbox(ig: InstagramFake, *threads: dict[str, Any], pending: tuple[dict[str, Any], ...] = ()) -> None:
    ig.rsps.add(responses.GET, INBOX_URL, json=inbox_body(*threads))
    ig.rsps.add(responses.GET, PENDING_INBOX_URL, json=inbox_body(*pending))


def urls(ig: InstagramFake) -> list[str]:
    return [urlsplit(str(c.request.url)).path for c in ig.rsps.calls]


def mark(comments: int, dm: int) -> str:
    return json.dumps({"comment_created_at": comments, "dm_timestamp": dm})


# ---------------------------------------------------------------------- collecting


def test_is_a_collector() -> None:
    c: Collector = _collector(MemorySessionStore())
    assert c.channel == "instagram"
    assert PASSWORD not in repr(c)


def test_comments_on_two_posts_and_a_dm_thread_with_the_stored_session(
    ig: InstagramFake, store: MemorySessionStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ig.recent([post(POST_A, 3), post(POST_QUIET, 0), post(POST_B, 1)])
    office_answer = comment(
        18000000000000003, "@warga.kendal Buka pukul 08.00", OFFICE, T0 + 120, parent=18000000000000001
    )
    follow_up = comment(
        18000000000000004, "@dinarpus.kendal Terima kasih!", WARGA, T0 + 180, parent=18000000000000001
    )
    ig.rsps.add(
        responses.GET,
        comments_url(POST_A[0]),
        json=comments_page(
            comment(18000000000000002, "Sabtu buka?", GURU, T0 + 60),
            comment(18000000000000001, "Jam buka pameran?", WARGA, T0, replies=(office_answer, follow_up)),
        ),
    )
    ig.rsps.add(
        responses.GET,
        comments_url(POST_B[0]),
        json=comments_page(comment(18000000000000010, "Mantap 👍", GURU, T0 + 30)),
    )
    dm_t = (T0 + 90) * 1_000_000 + 123456
    add_inbox(
        ig,
        thread(
            [
                message("31640000000000000000000000000003", OFFICE, dm_t + 60_000_000, "Baik, kami cek."),
                message(
                    "31640000000000000000000000000002", WARGA, dm_t, "Kartu anggota saya hilang, bagaimana?"
                ),
                message("31640000000000000000000000000001", WARGA, dm_t - 5_000_000, None, kind="media"),
            ],
            [WARGA],
        ),
    )

    result = _collector(store).collect(None)

    # the stored session was used as it is: no login request of any kind, nothing re-saved
    assert ig.login_attempts == 0
    assert not ig.calls("POST", USDID_URL) and not ig.calls("GET", PASSWORD_KEY_URL)
    assert store.saves == 0
    assert f"/api/v1/media/{POST_QUIET[0]}_{USER_ID}/comments/" not in urls(ig)
    (feed,) = ig.calls("GET", feed_url())
    assert feed.request.params["count"] == "12"

    by_id = {i.platform_id: i for i in result.items}
    assert set(by_id) == {
        "18000000000000001",
        "18000000000000002",
        "18000000000000004",
        "18000000000000010",
        f"dm:{THREAD_ID}:31640000000000000000000000000001",
        f"dm:{THREAD_ID}:31640000000000000000000000000002",
    }  # not the office's own reply, not its own DM
    assert [i.created_at for i in result.items] == sorted(i.created_at for i in result.items)  # oldest first

    question = by_id["18000000000000001"]
    assert (question.channel, question.kind, question.author) == ("instagram", "comment", "warga.kendal")
    assert question.text == "Jam buka pameran?"
    assert question.created_at == datetime.fromtimestamp(T0, UTC)
    assert question.created_at.utcoffset() == WIB  # Asia/Jakarta
    assert question.url == "https://www.instagram.com/p/C0dEpOsTa1/"
    assert question.thread_id == question.post_ref == str(POST_A[0])
    assert question.parent_id is None
    assert "preview_child_comments" not in question.raw and question.raw["media"]["code"] == POST_A[1]

    answer = by_id["18000000000000004"]
    assert answer.parent_id == "18000000000000001" and answer.post_ref == str(POST_A[0])

    other = by_id["18000000000000010"]
    assert other.url == "https://www.instagram.com/p/C0dEpOsTb2/" and other.thread_id == str(POST_B[0])

    dm = by_id[f"dm:{THREAD_ID}:31640000000000000000000000000002"]
    assert (dm.kind, dm.author, dm.url, dm.thread_id) == ("dm", "warga.kendal", None, THREAD_ID)
    assert dm.text == "Kartu anggota saya hilang, bagaimana?"
    assert dm.created_at == datetime.fromtimestamp(T0 + 90, UTC).replace(microsecond=123456)
    assert dm.created_at.utcoffset() == WIB
    assert dm.raw["thread"]["pending"] is False and dm.raw["item_id"] == "31640000000000000000000000000002"
    photo = by_id[f"dm:{THREAD_ID}:31640000000000000000000000000001"]
    assert "foto/video" in photo.text and "aplikasi Instagram" in photo.text

    assert result.watermark is not None
    assert json.loads(result.watermark) == {"comment_created_at": T0 + 180, "dm_timestamp": dm_t}
    assert_no_secrets(caplog.text, repr(result.items))


def test_only_items_newer_than_the_watermark_are_returned(
    ig: InstagramFake, store: MemorySessionStore
) -> None:
    ig.recent([post(POST_A, 2)])
    ig.rsps.add(
        responses.GET,
        comments_url(POST_A[0]),
        json=comments_page(
            comment(18000000000000021, "baru", GURU, T0 + 500),
            comment(18000000000000020, "lama", WARGA, T0 + 100),
        ),
    )
    old_dm, new_dm = (T0 + 100) * 1_000_000, (T0 + 500) * 1_000_000
    add_inbox(
        ig,
        thread(
            [message("31640000000000000000000000000009", WARGA, new_dm, "baru")], [WARGA], thread_id="1111"
        ),
        thread([message("31640000000000000000000000000008", GURU, old_dm, "lama")], [GURU], thread_id="2222"),
    )

    result = _collector(store).collect(mark(T0 + 100, old_dm))

    assert [i.platform_id for i in result.items] == [
        "18000000000000021",
        "dm:1111:31640000000000000000000000000009",
    ]
    assert result.watermark is not None
    assert json.loads(result.watermark) == {"comment_created_at": T0 + 500, "dm_timestamp": new_dm}


def test_nothing_new_keeps_the_watermark_exactly(ig: InstagramFake, store: MemorySessionStore) -> None:
    ig.recent([post(POST_A, 1)])
    ig.rsps.add(
        responses.GET, comments_url(POST_A[0]), json=comments_page(comment(18000000000000030, "x", GURU, T0))
    )
    add_inbox(ig, thread([message("31640000000000000000000000000030", WARGA, T0 * 1_000_000, "x")], [WARGA]))
    watermark = mark(T0, T0 * 1_000_000)

    result = _collector(store).collect(watermark)

    assert result.items == [] and result.watermark is watermark


def test_an_empty_account_on_the_first_sweep_sets_no_watermark(
    ig: InstagramFake, store: MemorySessionStore
) -> None:
    ig.recent([])
    add_inbox(ig)
    result = _collector(store).collect(None)
    assert result.items == [] and result.watermark is None


def test_an_unreadable_watermark_is_read_like_a_first_sweep(
    ig: InstagramFake, store: MemorySessionStore, caplog: pytest.LogCaptureFixture
) -> None:
    ig.recent([post(POST_A, 1)])
    ig.rsps.add(
        responses.GET, comments_url(POST_A[0]), json=comments_page(comment(18000000000000040, "x", GURU, T0))
    )
    add_inbox(ig)
    result = _collector(store).collect("{rusak")
    assert [i.platform_id for i in result.items] == ["18000000000000040"]
    assert "penanda pemantauan tidak valid" in caplog.text


def test_older_comment_pages_are_read_only_while_they_hold_new_comments(
    ig: InstagramFake, store: MemorySessionStore
) -> None:
    ig.recent([post(POST_A, 60)])
    url = comments_url(POST_A[0])
    ig.rsps.add(
        responses.GET,
        url,
        json=comments_page(comment(18000000000000052, "c", GURU, T0 + 300), next_max_id="QVFCcGFnZTI="),
    )
    ig.rsps.add(
        responses.GET,
        url,
        json=comments_page(
            comment(18000000000000051, "b", WARGA, T0 + 200),
            comment(18000000000000050, "a", WARGA, T0 + 50),
            next_max_id="QVFCcGFnZTM=",
        ),
    )
    add_inbox(ig)

    result = _collector(store).collect(mark(T0 + 100, 0))

    assert [i.platform_id for i in result.items] == ["18000000000000051", "18000000000000052"]
    pages = ig.calls("GET", url)
    assert len(pages) == 2  # the third page would only hold older comments
    assert "max_id" not in pages[0].request.params
    assert pages[1].request.params["max_id"] == "QVFCcGFnZTI="


def test_a_deleted_post_is_skipped(ig: InstagramFake, store: MemorySessionStore) -> None:
    ig.recent([post(POST_A, 1), post(POST_B, 1)])
    ig.rsps.add(
        responses.GET,
        comments_url(POST_A[0]),
        status=404,
        json={"message": "Media not found", "status": "fail"},
    )
    ig.rsps.add(
        responses.GET, comments_url(POST_B[0]), json=comments_page(comment(18000000000000060, "ok", GURU, T0))
    )
    add_inbox(ig)
    result = _collector(store).collect(None)
    assert [i.platform_id for i in result.items] == ["18000000000000060"]


def test_message_requests_are_collected_too(ig: InstagramFake, store: MemorySessionStore) -> None:
    ig.recent([])
    request = thread(
        [message("31640000000000000000000000000070", GURU, T0 * 1_000_000, "Mohon info pinjam ruang")],
        [GURU],
        thread_id="3333",
        pending=True,
    )
    add_inbox(ig, pending=(request,))
    (item,) = _collector(store).collect(None).items
    assert item.platform_id == "dm:3333:31640000000000000000000000000070"
    assert item.author == "bu.guru.sd" and item.raw["thread"]["pending"] is True


def test_a_thread_with_more_new_messages_than_the_inbox_shows_is_read_further(
    ig: InstagramFake, store: MemorySessionStore
) -> None:
    ig.recent([])
    newest = message("31640000000000000000000000000082", WARGA, (T0 + 300) * 1_000_000, "tiga")
    add_inbox(ig, thread([newest], [WARGA], has_older=True))
    older = {
        "thread": {
            "thread_id": THREAD_ID,
            "items": [
                message("31640000000000000000000000000081", WARGA, (T0 + 200) * 1_000_000, "dua"),
                message("31640000000000000000000000000080", WARGA, (T0 + 50) * 1_000_000, "satu"),
            ],
            "has_older": True,
            "oldest_cursor": "31640000000000000000000000000080",
        },
        "status": "ok",
    }
    thread_url = f"{API}/direct_v2/threads/{THREAD_ID}/"
    ig.rsps.add(responses.GET, thread_url, json=older)

    result = _collector(store).collect(mark(0, (T0 + 100) * 1_000_000))

    assert [i.text for i in result.items] == ["dua", "tiga"]
    (call,) = ig.calls("GET", thread_url)  # one page back was enough to reach the watermark
    query = parse_qs(urlsplit(str(call.request.url)).query)
    assert query["cursor"] == ["31640000000000000000000000000082"] and query["direction"] == ["older"]


# ---------------------------------------------------------------------- session


def test_first_run_logs_in_once_and_saves_the_session(ig: InstagramFake) -> None:
    store = MemorySessionStore()
    ig.login_ok()
    ig.recent([])
    add_inbox(ig)

    _collector(store).collect(None)

    assert ig.login_attempts == 1 and store.saves == 1
    saved = store.load()
    assert saved is not None
    assert saved["authorization_data"]["sessionid"] == NEW_SESSION and saved[ACCOUNT_KEY] == USERNAME


def test_login_required_logs_in_once_then_the_read_is_retried(
    ig: InstagramFake, store: MemorySessionStore
) -> None:
    ig.recent([])
    ig.login_required("GET", INBOX_URL)
    ig.login_ok()
    add_inbox(
        ig, thread([message("31640000000000000000000000000090", WARGA, T0 * 1_000_000, "halo")], [WARGA])
    )

    result = _collector(store).collect(None)

    assert [i.text for i in result.items] == ["halo"]
    assert ig.login_attempts == 1 and store.saves == 1


def test_challenge_stops_with_action_required_and_no_login(
    ig: InstagramFake, store: MemorySessionStore
) -> None:
    ig.recent([post(POST_A, 1)])
    ig.rsps.add(responses.GET, comments_url(POST_A[0]), status=400, json=challenge_body())
    collector = _collector(store)

    with pytest.raises(ActionRequiredError) as ei:
        collector.collect(None)

    message_text = str(ei.value)
    assert "Instagram meminta verifikasi (challenge)" in message_text and "Ini saya" in message_text
    assert ig.login_attempts == 0
    assert not [c for c in ig.rsps.calls if "/challenge/" in (c.request.url or "")]  # no automatic resolver
    assert not ig.calls("GET", INBOX_URL)  # nothing more was read
    # the same collector refuses further work without another request
    ig.rsps.calls.reset()
    with pytest.raises(ActionRequiredError):
        collector.collect(None)
    assert not ig.rsps.calls


def test_please_wait_a_few_minutes_is_rate_limited(ig: InstagramFake, store: MemorySessionStore) -> None:
    ig.recent([])
    ig.rsps.add(
        responses.GET,
        INBOX_URL,
        status=400,
        json={"message": "Please wait a few minutes before you try again.", "status": "fail"},
    )
    before = datetime.now(UTC)

    with pytest.raises(RateLimitedError) as ei:
        _collector(store).collect(None)

    assert before + timedelta(minutes=9) < ei.value.reset_at < datetime.now(UTC) + timedelta(minutes=11)
    assert "pesan langsung" in str(ei.value)
    assert ig.login_attempts == 0


def test_server_error_is_transient(ig: InstagramFake, store: MemorySessionStore) -> None:
    ig.recent(status=502, body={"message": "Bad Gateway", "status": "fail"})
    with pytest.raises(TransientChannelError, match="dicoba lagi"):
        _collector(store).collect(None)
