"""X (Twitter), SOP step 6: mentions of and replies to the office's account.

One endpoint, through tweepy 4.17: ``GET /2/users/{id}/mentions`` (``Client.get_users_mentions``,
OAuth 1.0a user context). A reply to one of the account's posts starts with ``@account``, so
replies are mentions too; a tweet that answers another (``referenced_tweets`` of type
``replied_to``) is a ``reply``, any other a ``mention``.

Reading costs money on X (every post read is billed), so:

- with a watermark (the newest tweet id already recorded) only newer tweets are asked for
  (``since_id``), page by page with ``meta.next_token``, at most ``max_pages`` pages;
- without one (the first sweep ever) only ONE page — the newest posts — is read, to set it.

The watermark is the tweet id as a decimal string (tweet ids grow with time). The new watermark
is the newest id seen, or the old one when nothing is new. Posts by the account itself are not
incoming information: they move the watermark but are not returned.

The client, the credential handling and the error translation are the account's one client's
(:class:`sop_tasks.channels.twitter.XApi`, through its public surface: ``whoami``, ``mentions``,
``edge``, ``scrub``): same timeouts, same Indonesian messages naming the ``sop_twitter``
connection, no credential in a message or a log.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import requests
import tweepy

from sop_tasks.channels.twitter import CHANNEL, POST_URL, XApi, XCredentials, replied_to, x_messages
from sop_tasks.errors import ChannelError
from sop_tasks.incoming import CollectResult, IncomingItem

log = logging.getLogger(__name__)

WIB = ZoneInfo("Asia/Jakarta")
PAGE_SIZE = 100  # the endpoint's maximum: fewer requests for the same number of posts read
TWEET_FIELDS = ["created_at", "conversation_id", "in_reply_to_user_id", "referenced_tweets", "author_id"]
_TWITTER_EPOCH_MS = 1288834974657  # tweet ids are snowflakes: (id >> 22) + this = creation, in ms
_ACTION = "membaca mention dan balasan untuk akun kantor"


class XCollector:
    """Collects the mentions of and replies to the office's X account (a :class:`Collector`)."""

    channel = CHANNEL

    def __init__(
        self, api: XApi | XCredentials, *, session: requests.Session | None = None, max_pages: int = 10
    ) -> None:
        """``api``: the account's client (``XHook.get_conn()``), or its keys to build one with."""
        if max_pages < 1:
            raise ValueError("max_pages harus minimal 1")
        self.max_pages = max_pages
        # The client owns the tweepy client (OAuth 1.0a, timeouts), the cached profile read and
        # the error translation; the collector only reads.
        self._x = api if isinstance(api, XApi) else XApi(api, session=session)

    def __repr__(self) -> str:  # never show the keys
        return f"XCollector(max_pages={self.max_pages})"

    def collect(self, watermark: str | None) -> CollectResult:
        """Tweets newer than ``watermark`` (oldest first) and the new watermark."""
        since = _since_id(watermark)
        user_id, _ = self._x.whoami()
        pages = self.max_pages if since is not None else 1
        tweets: dict[str, dict[str, Any]] = {}
        users: dict[str, dict[str, Any]] = {}
        token: str | None = None
        read = 0
        while read < pages:
            with self._edge(_ACTION):
                response = self._x.mentions(
                    since_id=since, pagination_token=token, max_results=PAGE_SIZE, tweet_fields=TWEET_FIELDS
                )
                page, page_users, token = _parse_page(response)
            read += 1
            tweets.update((str(t["id"]), t) for t in page)
            users.update(page_users)
            if not token:
                break
        if token and since is not None:
            log.warning(
                "X: lebih dari %d halaman mention baru; yang lebih lama dari %d halaman itu tidak dibaca "
                "(naikkan max_pages bila ini sering terjadi)",
                read,
                read,
            )

        newest = max((int(i) for i in tweets), default=None)
        items = [
            _item(t, users)
            for i, t in sorted(tweets.items(), key=lambda kv: int(kv[0]))  # oldest first
            if str(t.get("author_id") or "") != user_id
        ]
        own = len(tweets) - len(items)
        log.info(
            "X: %d mention/balasan baru dibaca (%d halaman%s)",
            len(items),
            read,
            f", {own} dari akun sendiri dilewati" if own else "",
        )
        if newest is None or (since is not None and newest <= since):
            return CollectResult(items=items, watermark=watermark)
        return CollectResult(items=items, watermark=str(newest))

    # ---- errors ---------------------------------------------------------------------------
    @contextmanager
    def _edge(self, action: str) -> Iterator[None]:
        """The publisher's translation, except for refusals it would blame on a post's content."""
        with self._x.edge(action):
            try:
                yield
            except tweepy.errors.HTTPException as exc:
                status = exc.response.status_code
                if status in (401, 403, 429) or status >= 500:
                    raise  # the publisher's messages fit reading as well
                said = self._x.scrub("; ".join(x_messages(exc.response)))[:300]
                raise ChannelError(
                    CHANNEL,
                    f"X menolak permintaan saat {action} (HTTP {status}{f': {said}' if said else ''}). "
                    "Penanda pemantauan (watermark) tidak diubah, jadi tidak ada mention yang terlewat; "
                    "laporkan pesan ini ke Pengelola TI bila terulang pada sapuan berikutnya.",
                ) from None


# ---- helpers ----------------------------------------------------------------------------------
def _since_id(watermark: str | None) -> int | None:
    if watermark is None or not watermark.strip():
        return None
    text = watermark.strip()
    if not text.isdigit() or len(text) > 19:  # TweetId in X's spec: ^[0-9]{1,19}$
        log.warning("X: penanda pemantauan tidak valid (%r); dibaca seperti sapuan pertama", text[:40])
        return None
    return int(text)


def _parse_page(
    response: Any,
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], str | None]:
    """(tweets, users by id, next_token) of one answer; raises ValueError when unreadable."""
    if not isinstance(response, dict):
        raise ValueError("not a JSON object")
    data = response.get("data") or []
    includes = response.get("includes") or {}
    meta = response.get("meta") or {}
    if not isinstance(data, list) or not isinstance(includes, dict) or not isinstance(meta, dict):
        raise ValueError("unexpected shape")
    tweets = [t for t in data if isinstance(t, dict) and str(t.get("id", "")).isdigit()]
    users = {
        str(u["id"]): u
        for u in includes.get("users") or []
        if isinstance(u, dict) and u.get("id") is not None
    }
    token = meta.get("next_token")
    return tweets, users, str(token) if token else None


def _created_at(tweet: dict[str, Any]) -> datetime:
    raw = tweet.get("created_at")
    if isinstance(raw, str) and raw:
        try:
            created = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            created = None
        if created is not None:
            if created.tzinfo is None:
                created = created.replace(tzinfo=UTC)
            return created.astimezone(WIB)
    # no readable created_at: the snowflake id carries the creation time to the millisecond
    ms = (int(tweet["id"]) >> 22) + _TWITTER_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(WIB)


def _item(tweet: dict[str, Any], users: dict[str, dict[str, Any]]) -> IncomingItem:
    tweet_id = str(tweet["id"])
    author_id = str(tweet.get("author_id") or "")
    author = users.get(author_id)
    username = str((author or {}).get("username") or "")
    answers = replied_to(tweet)
    conversation = tweet.get("conversation_id")
    raw = dict(tweet)
    if author is not None:
        raw["author"] = author
    return IncomingItem(
        channel=CHANNEL,
        platform_id=tweet_id,
        kind="reply" if answers else "mention",
        author=f"@{username}" if username else author_id,
        text=html.unescape(str(tweet.get("text") or "")),  # X escapes &, < and > in v2 texts
        created_at=_created_at(tweet),
        # x.com/i/status/<id> opens any post when the author's username is not known
        url=POST_URL.format(username=username or "i", id=tweet_id),
        thread_id=str(conversation) if conversation else None,
        parent_id=answers,
        post_ref=answers,
        raw=raw,
    )
