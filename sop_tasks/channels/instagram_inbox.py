"""Instagram, SOP step 6: comments on the account's recent posts and its direct messages.

Read through instagrapi's private API with the SAME session discipline as publishing, by
composition: the collector reads through the account's one client
(:class:`~sop_tasks.channels.instagram.InstagramApi`, its public ``call``) — the stored session is
used as it is, a login happens only when there is none or Instagram answers ``login_required``
(once per collector, never in a loop), a challenge / 2FA / ``feedback_required`` stops with
:class:`ActionRequiredError`, and every instagrapi exception becomes a :mod:`sop_tasks.errors`
channel error.

Requests (raw v1 endpoints, so their errors are never swallowed and ``raw`` keeps Instagram's
payload):

- ``GET feed/user/{user_id}/`` — the last :data:`RECENT_MEDIA` posts (comment counts included);
- ``GET media/{media_id}/comments/`` — per post with comments, newest page first, older pages
  (``max_id``) only while they still hold new comments; replies come in
  ``preview_child_comments``;
- ``GET direct_v2/inbox/`` — DM threads by latest activity (``cursor`` for older ones) and
  ``GET direct_v2/pending_inbox/`` — message requests (people the account does not follow: most
  citizens); ``GET direct_v2/threads/{id}/`` only for a thread with more new messages than the
  inbox shows. Reading does not mark messages as seen.

The watermark is JSON: ``{"comment_created_at": <epoch seconds>, "dm_timestamp": <epoch
microseconds>}`` — the newest comment and the newest DM already returned. Only newer items are
returned; the account's own comments and messages never are.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sop_tasks.channels.instagram import CHANNEL, InstagramApi, SessionStore, post_url, recent_items
from sop_tasks.incoming import CollectResult, IncomingItem

if TYPE_CHECKING:  # instagrapi costs ~0.35 s to import; DAG parsing must not pay for it
    from instagrapi import Client

log = logging.getLogger(__name__)

WIB = ZoneInfo("Asia/Jakarta")
RECENT_MEDIA = 12  # posts whose comments are read
MAX_COMMENT_PAGES = 3  # per post, per sweep
MAX_INBOX_PAGES = 3  # of 20 threads
MAX_THREAD_PAGES = 3  # extra pages of one thread with many new messages
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_COMMENT_PARAMS = {"can_support_threading": "true", "permalink_enabled": "false"}
_SKIPPED_DM_TYPES = frozenset({"action_log", "placeholder", "video_call_event"})
_DM_LABELS = {
    "media": "foto/video",
    "raven_media": "foto/video sekali lihat",
    "voice_media": "pesan suara",
    "animated_media": "GIF/stiker",
    "media_share": "kiriman yang dibagikan",
    "xma_media_share": "kiriman yang dibagikan",
    "clip": "reel yang dibagikan",
    "felix_share": "video yang dibagikan",
    "story_share": "cerita yang dibagikan",
    "reel_share": "balasan untuk cerita",
    "profile": "profil yang dibagikan",
    "location": "lokasi",
    "like": "suka (❤️)",
}


@dataclass(frozen=True)
class _Mark:
    comment_created_at: int = 0  # epoch seconds of the newest comment returned
    dm_timestamp: int = 0  # epoch microseconds of the newest DM returned

    @classmethod
    def parse(cls, watermark: str | None) -> _Mark:
        if watermark is None or not watermark.strip():
            return cls()
        try:
            data = json.loads(watermark)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            values = {k: int(data.get(k) or 0) for k in ("comment_created_at", "dm_timestamp")}
            if min(values.values()) < 0:
                raise ValueError("negative")
        except (ValueError, TypeError):
            log.warning("Instagram: penanda pemantauan tidak valid; dibaca seperti sapuan pertama")
            return cls()
        return cls(**values)

    def dumps(self) -> str:
        return json.dumps(
            {"comment_created_at": self.comment_created_at, "dm_timestamp": self.dm_timestamp},
            sort_keys=True,
            separators=(",", ":"),
        )


class InstagramCollector:
    """Collects comments and direct messages of the office's Instagram account (a ``Collector``).

    Reads through an :class:`InstagramApi` — the account's client (``InstagramHook.get_conn()``,
    passed as ``api``), or one built here from ``username``, ``password`` and ``store``: one
    instance serves one sweep and logs in at most once in its life.
    """

    channel = CHANNEL

    def __init__(
        self,
        username: str = "",
        password: str = "",
        store: SessionStore | None = None,
        *,
        api: InstagramApi | None = None,
        client_factory: Callable[[], Client] | None = None,
        delay_range: tuple[float, float] = (1, 3),
    ) -> None:
        if api is None:
            if store is None:
                raise TypeError("InstagramCollector needs an InstagramApi (api=) or a session store")
            api = InstagramApi(
                username, password, store, client_factory=client_factory, delay_range=delay_range
            )
        self._ig = api

    @property
    def username(self) -> str:
        return self._ig.username

    def __repr__(self) -> str:  # never show the password or the session
        return f"InstagramCollector(username={self.username!r})"

    def collect(self, watermark: str | None) -> CollectResult:
        """Comments and DMs newer than ``watermark`` (oldest first) and the new watermark."""
        mark = _Mark.parse(watermark)
        media = self._ig.call("membaca kiriman terbaru akun", _recent_media)
        comments: list[IncomingItem] = []
        for m in media:
            if not _may_have_comments(m):
                continue
            comments += self._ig.call(
                "membaca komentar kiriman",
                partial(_media_comments, media=m, since=mark.comment_created_at),
            )
        dms = self._ig.call("membaca pesan langsung (DM)", lambda c: _direct_messages(c, mark.dm_timestamp))

        new = _Mark(
            comment_created_at=max(
                [mark.comment_created_at, *(int(i.created_at.timestamp()) for i in comments)]
            ),
            dm_timestamp=max([mark.dm_timestamp, *(_micros_of(i.created_at) for i in dms)]),
        )
        items = sorted(comments + dms, key=lambda i: (i.created_at, i.platform_id))
        log.info(
            "Instagram: %d komentar dan %d pesan langsung baru dibaca (%d kiriman diperiksa)",
            len(comments),
            len(dms),
            len(media),
        )
        return CollectResult(items=items, watermark=watermark if new == mark else new.dumps())


# ---------------------------------------------------------------------- comments


def _recent_media(client: Client) -> list[dict[str, Any]]:
    return recent_items(client, RECENT_MEDIA)[:RECENT_MEDIA]


def _may_have_comments(media: dict[str, Any]) -> bool:
    if not media.get("pk") or media.get("comments_disabled"):
        return False
    count = media.get("comment_count")
    return not (isinstance(count, int) and count == 0)  # unknown count: read


def _media_comments(client: Client, media: dict[str, Any], since: int) -> list[IncomingItem]:
    """Comments (and previewed replies) on one post newer than ``since`` (epoch seconds)."""
    from instagrapi import exceptions as ig

    media_pk = str(media["pk"])
    media_id = str(media.get("id") or f"{media_pk}_{client.user_id}")
    code = str(media.get("code") or "")
    own = str(client.user_id)
    found: dict[str, IncomingItem] = {}
    params = dict(_COMMENT_PARAMS)
    for _ in range(MAX_COMMENT_PAGES):
        try:
            page = client.private_request(f"media/{media_id}/comments/", params=params)
        except (ig.ClientNotFoundError, ig.MediaNotFound):
            log.warning(
                "Instagram: kiriman %s tidak ditemukan lagi (dihapus?); komentarnya dilewati", media_pk
            )
            return list(found.values())
        raw = page.get("comments") if isinstance(page, dict) else None
        if not isinstance(raw, list):
            raise ValueError("comments: unexpected shape")
        flat: list[dict[str, Any]] = []
        for comment in raw:
            if isinstance(comment, dict):
                flat.append(comment)
                flat += [r for r in comment.get("preview_child_comments") or [] if isinstance(r, dict)]
        # pages go back in time: once a page holds a comment already covered, older pages are too
        reached = not raw or any((_comment_seconds(c) or 0) <= since for c in raw if isinstance(c, dict))
        for comment in flat:
            created = _comment_seconds(comment)
            if created is None or created <= since or not comment.get("pk"):
                continue
            if _comment_author_id(comment) == own:  # the office's own replies are not incoming
                continue
            found[str(comment["pk"])] = _comment_item(comment, created, media_pk, code)
        max_id = page.get("next_max_id")
        if reached or not (page.get("has_more_comments") and max_id):
            break
        params = {**_COMMENT_PARAMS, "max_id": str(max_id)}
    return list(found.values())


def _comment_seconds(comment: dict[str, Any]) -> int | None:
    for key in ("created_at_utc", "created_at"):
        value = comment.get(key)
        if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
            return int(value)
    return None


def _user(comment: dict[str, Any]) -> dict[str, Any]:
    user = comment.get("user")
    return user if isinstance(user, dict) else {}


def _comment_author_id(comment: dict[str, Any]) -> str:
    user = _user(comment)
    return str(comment.get("user_id") or user.get("pk") or user.get("pk_id") or "")


def _comment_item(comment: dict[str, Any], created: int, media_pk: str, code: str) -> IncomingItem:
    user = _user(comment)
    parent = comment.get("replied_to_comment_id") or comment.get("parent_comment_id")
    raw = {k: v for k, v in comment.items() if k != "preview_child_comments"}  # replies: own items
    raw["media"] = {"pk": media_pk, "code": code}
    return IncomingItem(
        channel=CHANNEL,
        platform_id=str(comment["pk"]),
        kind="comment",
        author=str(user.get("username") or _comment_author_id(comment)),
        text=str(comment.get("text") or ""),
        created_at=datetime.fromtimestamp(created, UTC).astimezone(WIB),
        url=post_url(code) if code else None,
        thread_id=media_pk,
        parent_id=str(parent) if parent else None,
        post_ref=media_pk,
        raw=raw,
    )


# ---------------------------------------------------------------------- direct messages


def _direct_messages(client: Client, since: int) -> list[IncomingItem]:
    """Messages from other users newer than ``since`` (epoch microseconds): inbox and requests."""
    own = str(client.user_id)
    found: dict[str, IncomingItem] = {}
    cursor: str | None = None
    for _ in range(MAX_INBOX_PAGES):
        params: dict[str, Any] = {
            "visual_message_return_type": "unseen",
            "thread_message_limit": "10",
            "persistentBadging": "true",
            "limit": "20",
            "is_prefetching": "false",
            "fetch_reason": "initial_snapshot",
        }
        if cursor:
            params.update({"cursor": cursor, "direction": "older", "fetch_reason": "page_scroll"})
        result = client.private_request("direct_v2/inbox/", params=params)
        inbox = _inbox(result)
        threads = [t for t in inbox.get("threads") or [] if isinstance(t, dict)]
        for thread in threads:
            found.update(
                _thread_messages(client, thread, since, own, pending=False, seq_id=result.get("seq_id"))
            )
        cursor = str(inbox.get("oldest_cursor") or "") or None
        older_is_new = bool(threads) and _micros(threads[-1].get("last_activity_at")) > since
        if not (inbox.get("has_older") and cursor and older_is_new):
            break
    # message requests: people the account does not follow (one page, newest first)
    pending = client.private_request(
        "direct_v2/pending_inbox/",
        params={
            "visual_message_return_type": "unseen",
            "persistentBadging": "true",
            "is_prefetching": "false",
        },
    )
    for thread in _inbox(pending).get("threads") or []:
        if isinstance(thread, dict):
            found.update(
                _thread_messages(client, thread, since, own, pending=True, seq_id=pending.get("seq_id"))
            )
    return list(found.values())


def _inbox(result: Any) -> dict[str, Any]:
    inbox = result.get("inbox") if isinstance(result, dict) else None
    if not isinstance(inbox, dict):
        raise ValueError("inbox: unexpected shape")
    return inbox


def _thread_messages(
    client: Client, thread: dict[str, Any], since: int, own: str, *, pending: bool, seq_id: Any
) -> dict[str, IncomingItem]:
    thread_id = str(thread.get("thread_id") or "")
    last_activity = thread.get("last_activity_at")
    if not thread_id or (last_activity and _micros(last_activity) <= since):
        return {}  # nothing in it since the last sweep
    messages = [i for i in thread.get("items") or [] if isinstance(i, dict)]
    cursor = thread.get("oldest_cursor")
    pages = 0
    # the inbox shows the latest messages only: read further back while all of them are new
    while (
        messages
        and min(_micros(i.get("timestamp")) for i in messages) > since
        and thread.get("has_older")
        and cursor
        and pages < MAX_THREAD_PAGES
    ):
        params: dict[str, Any] = {
            "visual_message_return_type": "unseen",
            "direction": "older",
            "limit": "20",
            "cursor": str(cursor),
        }
        if seq_id:
            params["seq_id"] = str(seq_id)
        older = client.private_request(f"direct_v2/threads/{thread_id}/", params=params).get("thread") or {}
        batch = [i for i in older.get("items") or [] if isinstance(i, dict)]
        if not batch:
            break
        messages += batch
        cursor = older.get("oldest_cursor")
        thread = {**thread, "has_older": older.get("has_older")}
        pages += 1
    viewer = str(thread.get("viewer_id") or own)
    usernames = {
        str(u.get("pk") or u.get("pk_id")): str(u.get("username") or "")
        for u in thread.get("users") or []
        if isinstance(u, dict)
    }
    found: dict[str, IncomingItem] = {}
    for message in messages:
        stamp = _micros(message.get("timestamp"))
        sender = str(message.get("user_id") or "")
        if stamp <= since or not message.get("item_id") or sender in (own, viewer):
            continue
        if message.get("item_type") in _SKIPPED_DM_TYPES:
            continue
        item = _dm_item(thread, message, stamp, usernames.get(sender) or sender, pending=pending)
        found[item.platform_id] = item
    return found


def _dm_item(
    thread: dict[str, Any], message: dict[str, Any], stamp: int, author: str, *, pending: bool
) -> IncomingItem:
    thread_id = str(thread["thread_id"])
    replied = message.get("replied_to_message")
    parent = replied.get("item_id") if isinstance(replied, dict) else None
    raw = dict(message)
    raw["thread"] = {
        "thread_id": thread_id,
        "thread_title": thread.get("thread_title"),
        "users": [
            {"pk": u.get("pk"), "username": u.get("username"), "full_name": u.get("full_name")}
            for u in thread.get("users") or []
            if isinstance(u, dict)
        ],
        "pending": pending,  # a message request (the sender is not followed by the account)
    }
    return IncomingItem(
        channel=CHANNEL,
        platform_id=f"dm:{thread_id}:{message['item_id']}",
        kind="dm",
        author=author,
        text=_dm_text(message),
        created_at=(_EPOCH + stamp * _US).astimezone(WIB),
        url=None,
        thread_id=thread_id,
        parent_id=f"dm:{thread_id}:{parent}" if parent else None,
        post_ref=None,
        raw=raw,
    )


def _dm_text(message: dict[str, Any]) -> str:
    kind = str(message.get("item_type") or "")
    text = message.get("text")
    if not text and isinstance(message.get("link"), dict):
        text = message["link"].get("text")
    if not text and isinstance(message.get("reel_share"), dict):
        text = message["reel_share"].get("text")
    if text:
        return str(text)
    label = _DM_LABELS.get(kind, f"pesan jenis '{kind or 'tidak dikenal'}'")
    return f"[{label}; buka aplikasi Instagram untuk melihat isinya]"


def _micros(value: Any) -> int:
    """An Instagram DM timestamp (microseconds; tolerates seconds and milliseconds) or 0."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 0
    if number < 10**11:  # seconds
        return number * 1_000_000
    if number < 10**14:  # milliseconds
        return number * 1_000
    return number


def _micros_of(moment: datetime) -> int:
    return (moment - _EPOCH) // _US
