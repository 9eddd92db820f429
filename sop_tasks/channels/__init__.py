"""Channels: one publisher per platform behind one interface (:class:`Publisher`)."""

from sop_tasks.channels.base import Publisher, PublishResult, build_payload
from sop_tasks.channels.outbox import OutboxPublisher

__all__ = ["OutboxPublisher", "PublishResult", "Publisher", "build_payload"]
