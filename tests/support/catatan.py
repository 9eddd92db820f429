"""Records for the "Catatan SOP" tests: the report's month (November 2026) plus what the page
must handle safely — hostile text and links, and a submission whose images are staged."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sop_tasks.config import OfficeConfig
from sop_tasks.content import PreparedContent, inspect_media
from sop_tasks.incoming import IncomingItem
from sop_tasks.records.inbox import Inbox
from sop_tasks.records.ledger import Ledger
from tests.support.follow_up import WIB, Routed
from tests.support.media import make_jpeg
from tests.support.month import clock, seed_month, wib
from tests.support.video import make_video_mp4

HOSTILE_TEXT = '<script>alert("x")</script><img src=x onerror=alert(1)> [klik](javascript:alert(1))'
HOSTILE_URL = "javascript:alert(document.cookie)"


def seed_catatan(ledger: Ledger, cfg: OfficeConfig, staging: Path) -> dict[str, Any]:
    """The report's November 2026, one hostile item (sekretariat) and an October submission with
    a staged JPEG, a staged MP4 and an image whose recorded path lies outside the staging folder."""
    with pytest.MonkeyPatch.context() as mp:
        ids = seed_month(ledger, cfg, mp)
        with clock(mp) as c:
            c.set(wib(6, 9))
            inbox = Inbox(ledger)
            r = Routed("sekretariat")
            item = IncomingItem(
                "website",
                "hostile",
                "comment",
                HOSTILE_TEXT,
                HOSTILE_TEXT,
                wib(6, 9).replace(tzinfo=WIB),
                url=HOSTILE_URL,
            )
            inbox.record_items([item], [r], ids["sweep"])
            ids["hostile"] = next(i.id for i in inbox.items() if i.platform_id == "hostile")

            c.set(datetime(2026, 10, 20, 9, 0))
            run = staging / "catatan_uji"
            jpeg, _ = inspect_media(make_jpeg(run / "01-foto.jpg", (1600, 900)), "foto.jpg")
            video, _ = inspect_media(make_video_mp4(run / "02-klip.mp4"), "klip.mp4")  # step 1 decodes videos
            outside, _ = inspect_media(make_jpeg(staging.parent / "bukan-staging.jpg"), "luar.jpg")
            assert jpeg and video and outside
            content = PreparedContent(
                title="Pameran foto",
                body="Isi",
                channels=("website",),
                caption_instagram="",
                text_twitter="",
                media=(jpeg, video, outside),
            )
            ids["media"] = ledger.open_submission(
                dag_id="sop_publish",
                run_id="manual__media",
                kind="publish",
                title=content.title,
                content=content.to_json(),
            )
            ids["jpeg"] = Path(jpeg.path)
    return ids
