"""The one client per platform (XApi, InstagramApi): their public surface, and collectors built
on a client sharing its session and its cached profile read. Tested at the HTTP edge."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from sop_tasks.channels.instagram import InstagramApi, InstagramPublisher, MemorySessionStore
from sop_tasks.channels.instagram_inbox import InstagramCollector
from sop_tasks.channels.twitter import XApi, XPublisher, replied_to, x_messages
from sop_tasks.channels.twitter_inbox import XCollector
from sop_tasks.channels.website import WordPressApi, WordPressPublisher
from sop_tasks.errors import CredentialsError
from tests.support.instagram_fake import (
    INBOX_URL,
    PASSWORD,
    PENDING_INBOX_URL,
    USER_ID,
    USERNAME,
    InstagramFake,
    fast_client,
    feed_url,
    media_item,
    stored_session_store,  # noqa: F401 (the ``store`` fixture)
)
from tests.support.x_fake import CREDS, ME_URL, MENTIONS_URL, add_me, mentions_page
from tests.support.x_fake import USER_ID as X_USER_ID
from tests.support.x_fake import USERNAME as X_USERNAME
from tests.support.x_spec import XSpec


def test_the_first_names_are_the_same_classes() -> None:
    assert XPublisher is XApi and InstagramPublisher is InstagramApi and WordPressPublisher is WordPressApi


# ---- X -------------------------------------------------------------------------------------
def test_x_collector_on_a_client_shares_its_profile_read(
    x_api: responses.RequestsMock, x_spec: XSpec
) -> None:
    add_me(x_api)
    x_api.get(MENTIONS_URL, json=mentions_page(x_spec, [], []))
    api = XApi(CREDS)

    assert api.whoami() == (X_USER_ID, X_USERNAME)
    result = XCollector(api).collect(None)

    assert result.items == [] and result.watermark is None
    assert [c.request.url for c in x_api.calls].count(ME_URL) == 1  # one profile read for both


def test_x_mentions_reads_one_page_for_the_account(x_api: responses.RequestsMock, x_spec: XSpec) -> None:
    add_me(x_api)
    x_api.get(MENTIONS_URL, json=mentions_page(x_spec, [], [], next_token="abc123def456"))

    page = XApi(CREDS).mentions(
        since_id=1800000000000000001, pagination_token=None, max_results=100, tweet_fields=["created_at"]
    )

    assert page["meta"]["next_token"] == "abc123def456"
    (call,) = [c for c in x_api.calls if urlsplit(str(c.request.url)).path.endswith("/mentions")]
    query = parse_qs(urlsplit(str(call.request.url)).query)
    assert query["since_id"] == ["1800000000000000001"] and query["max_results"] == ["100"]


def test_x_helpers_are_public_and_translate_at_the_edge(x_api: responses.RequestsMock) -> None:
    x_api.get(ME_URL, status=401, json={"title": "Unauthorized", "detail": "Unauthorized", "status": 401})
    api = XApi(CREDS)

    with pytest.raises(CredentialsError, match="sop_twitter"):
        api.whoami()
    assert api.scrub(f"kunci {CREDS.api_key} dan {CREDS.access_token_secret}") == "kunci *** dan ***"
    assert (
        replied_to({"referenced_tweets": [{"type": "quoted", "id": "1"}, {"type": "replied_to", "id": "2"}]})
        == "2"
    )
    assert replied_to({"id": "3"}) is None
    (call,) = x_api.calls
    assert x_messages(call.response) == ["Unauthorized"]


# ---- Instagram -----------------------------------------------------------------------------
def test_instagram_whoami_and_recent_items_use_the_stored_session(
    ig: InstagramFake, store: MemorySessionStore
) -> None:
    item = media_item(3500000000000000001, "C0dEpOsTa1", "Kiriman kantor")
    ig.recent([item])
    api = InstagramApi(USERNAME, PASSWORD, store, client_factory=fast_client, delay_range=(0, 0))

    assert api.whoami() == (USER_ID, USERNAME)
    items = api.recent_items(5)

    assert [i["pk"] for i in items] == [item["pk"]]
    assert ig.login_attempts == 0 and store.saves == 0  # the stored session as it is
    (feed,) = ig.calls("GET", feed_url())
    assert parse_qs(urlsplit(str(feed.request.url)).query)["count"] == ["5"]


def test_instagram_collector_on_a_client_logs_in_once_for_both(ig: InstagramFake) -> None:
    store = MemorySessionStore()  # no session yet: one login, for the client and its collector
    ig.login_ok()
    ig.recent([])
    api = InstagramApi(USERNAME, PASSWORD, store, client_factory=fast_client, delay_range=(0, 0))
    api.recent_items(1)

    collector = InstagramCollector(api=api)
    assert collector.username == USERNAME
    with pytest.raises(TypeError):
        InstagramCollector(USERNAME, PASSWORD)  # neither a client nor a session store
    ig.recent([])
    ig.rsps.add(responses.GET, INBOX_URL, json={"inbox": {"threads": [], "has_older": False}})
    ig.rsps.add(responses.GET, PENDING_INBOX_URL, json={"inbox": {"threads": [], "has_older": False}})

    result = collector.collect(None)

    assert result.items == [] and ig.login_attempts == 1 and store.saves == 1
