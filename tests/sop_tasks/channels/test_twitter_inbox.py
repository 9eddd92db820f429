"""XCollector (SOP step 6 on X), tested at the HTTP edge with ``responses``.

Every request the collector sends is checked against X API v2's OpenAPI spec by the ``x_api``
fixture, and every mentions answer faked here is itself checked against the spec's response
schema (``Get2UsersIdMentionsResponse``), so the fakes look like what X really sends. The fixture,
the account and its keys are shared with the other X test modules (``tests.support.x_fake``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from sop_tasks.channels.twitter_inbox import XCollector
from sop_tasks.errors import (
    ChannelError,
    CredentialsError,
    RateLimitedError,
    RejectedContentError,
    TransientChannelError,
)
from sop_tasks.incoming import Collector
from tests.support.x_fake import (
    CREDS,
    ME_URL,
    MENTIONS_URL,
    RESET,
    USER_ID,
    USERNAME,
    add_me,
    assert_no_secrets,
    mention,
    mentions_page,
)
from tests.support.x_spec import XSpec

OUR_POST = "1800000000000000001"  # a post the office published
WIB = timedelta(hours=7)

WARGA = {"id": "2200000000000000001", "name": "Siti Warga", "username": "siti_kendal"}
PEMUDA = {"id": "2200000000000000002", "name": "Karang Taruna", "username": "kartar_kendal"}
OFFICE = {"id": USER_ID, "name": "Dinarpus Kendal", "username": USERNAME}


# ---- helpers -------------------------------------------------------------------------------
def collector(max_pages: int = 10) -> XCollector:
    return XCollector(CREDS, max_pages=max_pages)


def mention_queries(rsps: responses.RequestsMock) -> list[dict[str, list[str]]]:
    return [
        parse_qs(urlsplit(str(c.request.url)).query)
        for c in rsps.calls
        if urlsplit(str(c.request.url)).path == f"/2/users/{USER_ID}/mentions"
    ]


# ---- protocol ----------------------------------------------------------------------------------
def test_is_a_collector_and_hides_the_keys() -> None:
    c: Collector = collector()
    assert c.channel == "twitter"
    assert_no_secrets(repr(c), str(c))
    with pytest.raises(ValueError):
        XCollector(CREDS, max_pages=0)


# ---- first sweep -------------------------------------------------------------------------------
def test_first_sweep_reads_one_page_only_and_sets_the_watermark(
    x_api: responses.RequestsMock, x_spec: XSpec
) -> None:
    reply = mention(
        "1800000000000000007",
        "@dinarpuskendal Jam buka pameran hari Minggu &amp; hari libur?",
        WARGA,
        "2026-11-20T02:15:30.000Z",
        replied_to=OUR_POST,
    )
    # a short (older) id: the newest is chosen as a number, not as a string
    thanks = mention(
        "987654321098765432", "Terima kasih @dinarpuskendal!", PEMUDA, "2026-11-19T23:59:00.000Z"
    )
    add_me(x_api)
    # X says there is more; the first sweep must not pay for it
    x_api.get(
        MENTIONS_URL,
        json=mentions_page(x_spec, [reply, thanks], [WARGA, PEMUDA], next_token="7140dibdnow9c7btw4"),
    )

    result = collector().collect(None)

    assert result.watermark == "1800000000000000007"
    (query,) = mention_queries(x_api)
    assert query == {
        "max_results": ["100"],
        "tweet.fields": ["created_at,conversation_id,in_reply_to_user_id,referenced_tweets,author_id"],
        "expansions": ["author_id"],
        "user.fields": ["username"],
    }
    first, second = result.items  # oldest first
    assert (first.platform_id, first.kind, first.author) == (
        "987654321098765432",
        "mention",
        "@kartar_kendal",
    )
    assert first.parent_id is None and first.post_ref is None
    assert first.thread_id == "987654321098765432"
    assert first.created_at == datetime(2026, 11, 19, 23, 59, tzinfo=UTC)  # the same instant…
    assert first.created_at.utcoffset() == WIB and first.created_at.day == 20  # …in Asia/Jakarta

    assert second.channel == "twitter"
    assert (second.platform_id, second.kind, second.author) == (
        "1800000000000000007",
        "reply",
        "@siti_kendal",
    )
    assert second.text == "@dinarpuskendal Jam buka pameran hari Minggu & hari libur?"
    assert second.created_at == datetime(2026, 11, 20, 2, 15, 30, tzinfo=UTC)
    assert second.created_at.utcoffset() == WIB and second.created_at.hour == 9
    assert second.url == "https://x.com/siti_kendal/status/1800000000000000007"
    assert second.thread_id == OUR_POST
    assert second.parent_id == OUR_POST and second.post_ref == OUR_POST
    assert second.raw["author"] == WARGA and second.raw["id"] == "1800000000000000007"
    assert second.raw["text"] == reply["text"]  # the payload as X sent it


def test_first_sweep_with_no_mentions_keeps_no_watermark(
    x_api: responses.RequestsMock, x_spec: XSpec
) -> None:
    add_me(x_api)
    x_api.get(MENTIONS_URL, json=mentions_page(x_spec, [], []))
    result = collector().collect(None)
    assert result.items == [] and result.watermark is None


def test_an_unreadable_watermark_is_read_like_a_first_sweep(
    x_api: responses.RequestsMock, x_spec: XSpec, caplog: pytest.LogCaptureFixture
) -> None:
    add_me(x_api)
    x_api.get(
        MENTIONS_URL,
        json=mentions_page(
            x_spec,
            [mention("1800000000000000009", "@dinarpuskendal halo", WARGA, "2026-11-20T01:00:00Z")],
            [WARGA],
            "t2",
        ),
    )
    result = collector().collect("bukan-angka")
    assert result.watermark == "1800000000000000009"
    (query,) = mention_queries(x_api)
    assert "since_id" not in query
    assert "penanda pemantauan tidak valid" in caplog.text


# ---- next sweeps -------------------------------------------------------------------------------
def test_next_sweep_asks_only_for_newer_posts_with_since_id(
    x_api: responses.RequestsMock, x_spec: XSpec
) -> None:
    new = mention(
        "1800000000000000020", "@dinarpuskendal Apakah ada lomba?", WARGA, "2026-11-21T03:00:00.000Z"
    )
    add_me(x_api)
    x_api.get(MENTIONS_URL, json=mentions_page(x_spec, [new], [WARGA]))

    result = collector().collect("1800000000000000007")

    (query,) = mention_queries(x_api)
    assert query["since_id"] == ["1800000000000000007"]
    assert "pagination_token" not in query
    assert [i.platform_id for i in result.items] == ["1800000000000000020"]
    assert result.watermark == "1800000000000000020"


def test_pagination_follows_next_token_across_two_pages(x_api: responses.RequestsMock, x_spec: XSpec) -> None:
    newest = mention("1800000000000000040", "@dinarpuskendal terbaru", WARGA, "2026-11-22T05:00:00.000Z")
    middle = mention(
        "1800000000000000035",
        "@dinarpuskendal @siti_kendal setuju",
        PEMUDA,
        "2026-11-22T04:00:00.000Z",
        replied_to="1800000000000000030",
        conversation_id=OUR_POST,
    )
    oldest = mention("1800000000000000031", "@dinarpuskendal lama", PEMUDA, "2026-11-22T03:00:00.000Z")
    add_me(x_api)
    x_api.get(
        MENTIONS_URL,
        json=mentions_page(x_spec, [newest, middle], [WARGA, PEMUDA], next_token="7140dibdnow9c7btw4"),
    )
    x_api.get(MENTIONS_URL, json=mentions_page(x_spec, [oldest], [PEMUDA]))

    result = collector().collect("1800000000000000025")

    first, second = mention_queries(x_api)
    assert first["since_id"] == second["since_id"] == ["1800000000000000025"]
    assert "pagination_token" not in first
    assert second["pagination_token"] == ["7140dibdnow9c7btw4"]
    assert [i.platform_id for i in result.items] == [
        "1800000000000000031",
        "1800000000000000035",
        "1800000000000000040",
    ]
    reply = result.items[1]
    assert reply.kind == "reply" and reply.author == "@kartar_kendal"
    assert reply.parent_id == reply.post_ref == "1800000000000000030"
    assert reply.thread_id == OUR_POST  # the conversation it belongs to
    assert result.watermark == "1800000000000000040"


def test_pages_are_bounded_by_max_pages(
    x_api: responses.RequestsMock, x_spec: XSpec, caplog: pytest.LogCaptureFixture
) -> None:
    add_me(x_api)
    for n, token in ((50, "tokenpage2"), (45, "tokenpage3")):
        x_api.get(
            MENTIONS_URL,
            json=mentions_page(
                x_spec,
                [mention(f"18000000000000000{n}", "@dinarpuskendal x", WARGA, "2026-11-23T00:00:00Z")],
                [WARGA],
                token,
            ),
        )

    result = collector(max_pages=2).collect("1800000000000000041")

    assert len(mention_queries(x_api)) == 2  # the third page is not read
    assert result.watermark == "1800000000000000050"
    assert "max_pages" in caplog.text


def test_no_new_items_keeps_the_watermark(x_api: responses.RequestsMock, x_spec: XSpec) -> None:
    add_me(x_api)
    x_api.get(MENTIONS_URL, json=mentions_page(x_spec, [], []))
    result = collector().collect("1800000000000000040")
    assert result.items == []
    assert result.watermark == "1800000000000000040"
    assert len(mention_queries(x_api)) == 1


def test_the_accounts_own_posts_are_not_incoming_but_move_the_watermark(
    x_api: responses.RequestsMock, x_spec: XSpec
) -> None:
    own = mention(
        "1800000000000000060", "@siti_kendal Buka pukul 08.00 @dinarpuskendal", OFFICE, "2026-11-24T01:00:00Z"
    )
    theirs = mention("1800000000000000055", "@dinarpuskendal tanya", WARGA, "2026-11-24T00:00:00Z")
    add_me(x_api)
    x_api.get(MENTIONS_URL, json=mentions_page(x_spec, [own, theirs], [OFFICE, WARGA]))
    result = collector().collect("1800000000000000050")
    assert [i.platform_id for i in result.items] == ["1800000000000000055"]
    assert result.watermark == "1800000000000000060"


def test_author_missing_from_includes_still_gives_a_working_url(
    x_api: responses.RequestsMock, x_spec: XSpec
) -> None:
    orphan = mention("1800000000000000070", "@dinarpuskendal ?", WARGA, "2026-11-24T02:00:00Z")
    add_me(x_api)
    body = mentions_page(x_spec, [orphan], [WARGA])
    del body["includes"]  # e.g. the author's account was suspended
    x_api.get(MENTIONS_URL, json=body)
    (item,) = collector().collect("1800000000000000060").items
    assert item.author == WARGA["id"]
    assert item.url == "https://x.com/i/status/1800000000000000070"


# ---- errors ------------------------------------------------------------------------------------
def test_429_is_rate_limited_until_x_rate_limit_reset(x_api: responses.RequestsMock) -> None:
    add_me(x_api)
    x_api.get(
        MENTIONS_URL,
        status=429,
        json={
            "title": "Too Many Requests",
            "detail": "Too Many Requests",
            "type": "about:blank",
            "status": 429,
        },
        headers={"x-rate-limit-limit": "10", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(RESET)},
    )
    with pytest.raises(RateLimitedError) as info:
        collector().collect("1800000000000000040")
    assert info.value.reset_at == datetime(2030, 1, 1, tzinfo=UTC)
    assert info.value.channel == "twitter"
    assert "2030-01-01 00:00" in str(info.value)


UNAUTHORIZED = {
    "status": 401,
    "json": {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
}


@pytest.mark.parametrize("where", ["users_me", "mentions"])
def test_401_is_credentials_error_naming_the_connection_without_secrets(
    x_api: responses.RequestsMock, caplog: pytest.LogCaptureFixture, where: str
) -> None:
    caplog.set_level(logging.DEBUG)
    if where == "users_me":
        x_api.get(ME_URL, **UNAUTHORIZED)
    else:
        add_me(x_api)
        x_api.get(MENTIONS_URL, **UNAUTHORIZED)
    c = collector()

    with pytest.raises(CredentialsError) as info:
        c.collect("1800000000000000040")

    message = str(info.value)
    assert "sop_twitter" in message and "HTTP 401" in message and "kredensial" in message
    assert_no_secrets(message, repr(info.value.args), caplog.text, repr(c))
    assert info.value.__cause__ is None


def test_403_names_the_api_plan(x_api: responses.RequestsMock) -> None:
    add_me(x_api)
    x_api.get(
        MENTIONS_URL,
        status=403,
        json={
            "title": "Client Forbidden",
            "detail": "This request must be made using an approved developer account.",
            "type": "https://api.twitter.com/2/problems/client-forbidden",
            "reason": "client-not-enrolled",
        },
    )
    with pytest.raises(CredentialsError, match="paket API X"):
        collector().collect(None)


def test_other_4xx_is_a_channel_error_not_a_content_problem(x_api: responses.RequestsMock) -> None:
    add_me(x_api)
    x_api.get(
        MENTIONS_URL,
        status=400,
        json={
            "errors": [{"parameters": {"since_id": ["1"]}, "message": "Invalid since_id"}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        },
    )
    with pytest.raises(ChannelError) as info:
        collector().collect("1800000000000000040")
    assert not isinstance(info.value, RejectedContentError | TransientChannelError | CredentialsError)
    message = str(info.value)
    assert "HTTP 400" in message and "Invalid since_id" in message
    assert "watermark" in message and "Pengelola TI" in message
    assert "text_twitter" not in message


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 503, "json": {"title": "Service Unavailable", "type": "about:blank"}},
        {"body": requests.exceptions.ReadTimeout("Read timed out. (read timeout=60)")},
        {"body": "<html>not json</html>", "content_type": "text/html"},
    ],
    ids=["5xx", "timeout", "unreadable"],
)
def test_server_errors_timeouts_and_garbage_are_transient(
    x_api: responses.RequestsMock, answer: dict[str, Any]
) -> None:
    add_me(x_api)
    x_api.get(MENTIONS_URL, **answer)
    with pytest.raises(TransientChannelError) as info:
        collector().collect("1800000000000000040")
    assert "Airflow akan mencoba lagi" in str(info.value)
