"""Outbox mode: a channel without a connection writes what it would send, never "published"."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from sop_tasks.channels.base import PublishResult, ReplyTarget, build_payload, payload_hash
from sop_tasks.content import PreparedContent


class OutboxPublisher:
    """Writes ``<outbox>/<key>/payload.json`` and copies of the media, atomically."""

    mode = "outbox"

    def __init__(self, channel: str, outbox_dir: Path) -> None:
        self.channel = channel
        self.outbox_dir = outbox_dir

    def find_existing(self, content: PreparedContent, key: str) -> PublishResult | None:
        return None  # publish() itself is idempotent on the key

    def publish(self, content: PreparedContent, key: str) -> PublishResult:
        return self._write(key, build_payload(self.channel, content), content)

    def update(
        self, post_id: str, content: PreparedContent, key: str, *, look_first: bool = True
    ) -> PublishResult:
        return self._write(key, {"update_of": post_id, **build_payload(self.channel, content)}, content)

    def find_reply(self, target: ReplyTarget, text: str, key: str) -> PublishResult | None:
        return None

    def reply(self, target: ReplyTarget, text: str, key: str) -> PublishResult:
        payload = {"reply_to": target.platform_id, "kind": target.kind, "post": target.post_ref, "text": text}
        return self._write(key, payload, None)

    def _write(self, key: str, payload: dict[str, Any], content: PreparedContent | None) -> PublishResult:
        digest = payload_hash(payload)
        final = self.outbox_dir / key
        if not (final / "payload.json").exists():  # a retry after success writes nothing new
            self.outbox_dir.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=self.outbox_dir))
            for m in content.media if content else ():
                shutil.copyfile(m.path, tmp / m.name)
            doc = {"channel": self.channel, "mode": "outbox", "idempotency_key": key, "payload": payload}
            (tmp / "payload.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
            try:
                os.rename(tmp, final)
            except OSError:  # another attempt got there first: keep its copy
                shutil.rmtree(tmp, ignore_errors=True)
        return PublishResult(
            channel=self.channel,
            mode="outbox",
            status="outbox",
            post_id=None,
            url=(final / "payload.json").as_uri(),
            payload_hash=digest,
        )
