"""The publisher interface every channel implements, and the payload each channel sends.

The DAG only ever calls :func:`sop_tasks.channels.publisher_for`; outbox mode and (later) the
live platform clients are interchangeable behind :class:`Publisher`.
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from sop_tasks.content import PreparedContent


@dataclass(frozen=True)
class PublishResult:
    """Small, JSON-safe result that travels through XCom and into the records."""

    channel: str
    mode: str  # "outbox" | "live"
    status: str  # "published" | "outbox"
    post_id: str | None
    url: str | None
    payload_hash: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Publisher(Protocol):
    """One channel's publisher: outbox (no connection) or a live platform client.

    Live clients raise only :mod:`sop_tasks.errors` channel errors (CredentialsError,
    ActionRequiredError, RejectedContentError, TransientChannelError, RateLimitedError), with
    Indonesian messages that say what a person must do; platform exceptions never escape.
    """

    channel: str
    mode: str  # "outbox" | "live"

    def publish(self, content: PreparedContent, key: str) -> PublishResult:
        """Publish ``content`` once; ``key`` identifies this submission+channel across retries."""
        ...

    def find_existing(self, content: PreparedContent, key: str) -> PublishResult | None:
        """After an ambiguous failure: the post an earlier attempt may have made, if any."""
        ...


@dataclass(frozen=True)
class ReplyTarget:
    """Where a reply (SOP step 9) goes: the incoming item it answers."""

    channel: str
    platform_id: str  # the comment / tweet / "dm:<thread>:<item>" being answered
    kind: str  # comment | mention | reply | dm
    post_ref: str | None = None  # the post the comment sits under (WordPress post id, IG media pk)
    thread_id: str | None = None  # DM thread id / X conversation id
    author: str | None = None


class Replier(Protocol):
    """Posts a reply where the message came from, exactly once (same discipline as publishing)."""

    channel: str
    mode: str

    def reply(self, target: ReplyTarget, text: str, key: str) -> PublishResult: ...

    def find_reply(self, target: ReplyTarget, text: str, key: str) -> PublishResult | None: ...


class Updater(Protocol):
    """Updates a published post (SOP step 10) — in place where the platform allows it.

    ``look_first``: an earlier attempt may have reached the platform, so a write that is not
    idempotent by itself (X's correction reply or repost) looks for its result first.
    """

    channel: str
    mode: str

    def update(
        self, post_id: str, content: PreparedContent, key: str, *, look_first: bool = True
    ) -> PublishResult: ...


def website_html(body: str) -> str:
    """Plain text body → safe HTML paragraphs (the form's text is never taken as HTML)."""
    paras = [p.strip() for p in body.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "\n".join("<p>" + html.escape(p).replace("\n", "<br />\n") + "</p>" for p in paras)


def build_payload(channel: str, content: PreparedContent) -> dict[str, Any]:
    """The request content a channel sends for ``content`` (media by file name and hash)."""
    media = [{"file": m.name, "kind": m.kind, "format": m.format, "sha256": m.sha256} for m in content.media]
    if channel == "website":
        return {
            "title": content.title,
            "content": website_html(content.body),
            "status": "publish",
            "media": media,
        }
    if channel == "instagram":
        if len(media) == 1:
            kind = "video" if media[0]["kind"] == "video" else "photo"
        else:
            kind = "album"
        return {"kind": kind, "caption": content.caption_instagram, "media": media}
    if channel == "twitter":
        return {"text": content.text_twitter, "media": media}
    raise ValueError(f"unknown channel {channel!r}")


def payload_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def reply_payload_hash(target: ReplyTarget, text: str) -> str:
    """The ``payload_hash`` of a reply: where it goes, what is answered and with which text."""
    return payload_hash({"channel": target.channel, "in_reply_to": target.platform_id, "text": text})


MIME = {"jpg": "image/jpeg", "png": "image/png", "mp4": "video/mp4", "mov": "video/quicktime"}
