"""Incoming information (SOP step 6): one model for comments, mentions, replies and messages.

Every collector (website, Instagram, X) turns what its platform returns into
:class:`IncomingItem`; the sweep records them once (unique on channel + platform id) and only
then advances the channel's watermark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class IncomingItem:
    channel: str  # "website" | "instagram" | "twitter"
    platform_id: str  # unique within the channel (comment id, tweet id, "dm:<thread>:<item>")
    kind: str  # "comment" | "mention" | "reply" | "dm"
    author: str  # handle or display name, as the platform gives it (untrusted)
    text: str  # untrusted public text
    created_at: datetime  # timezone-aware
    url: str | None = None  # where a person can see it
    thread_id: str | None = None  # the post / conversation it belongs to
    parent_id: str | None = None  # the item it answers, if any
    post_ref: str | None = None  # platform id of the post it comments on (to match our submissions)
    raw: dict[str, Any] = field(default_factory=dict, compare=False)  # the platform's payload


@dataclass(frozen=True)
class CollectResult:
    items: list[IncomingItem]
    watermark: str | None  # to store once the items are committed; None = unchanged


class Collector(Protocol):
    """Reads only what is new since ``watermark`` (an opaque string the collector defines)."""

    channel: str

    def collect(self, watermark: str | None) -> CollectResult: ...
