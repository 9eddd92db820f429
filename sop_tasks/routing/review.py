"""Spam review (SOP step 7): the officer lists what was flagged as spam, and why, and restores a
message wrongly flagged.

Nothing a citizen wrote is lost: a flagged item stays in the records with its text and the reasons
it was flagged. Restoring one routes it to the bidang chosen by the officer — the item is then
forwarded by the next monitoring sweep's step 7 exactly like a new item (the bidang's e-mail digest
and its ``sop_follow_up`` run) — keeps the original spam reasons beside the restore, and is recorded
as a correction (label) for the next retrain.

Domain code: does not import Airflow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from sop_tasks.errors import SopError
from sop_tasks.records.ledger import Ledger, to_wib, utcnow
from sop_tasks.records.models import Forward, IncomingItemRow, RoutingLabel
from sop_tasks.routing.store import SOURCE_NOT_SPAM, record_label


class SpamReviewError(SopError):
    """A restore that cannot be done (unknown item, not spam, unknown bidang)."""


@dataclass(frozen=True)
class Flagged:
    item: IncomingItemRow
    restored: RoutingLabel | None  # the restore, when this item was restored


def flagged(ledger: Ledger, *, include_restored: bool = False) -> list[Flagged]:
    """Items flagged as spam (oldest first); with ``include_restored`` also those restored since."""
    with ledger.session() as s:
        restores = {
            r.item_id: r
            for r in s.scalars(
                select(RoutingLabel).where(RoutingLabel.source == SOURCE_NOT_SPAM).order_by(RoutingLabel.id)
            )
        }
        spam_items = list(
            s.scalars(
                select(IncomingItemRow).where(IncomingItemRow.spam.is_(True)).order_by(IncomingItemRow.id)
            )
        )
        out = [Flagged(i, None) for i in spam_items]
        if include_restored and restores:
            restored = s.scalars(select(IncomingItemRow).where(IncomingItemRow.id.in_(list(restores))))
            out += [Flagged(i, restores[i.id]) for i in restored]
    return sorted(out, key=lambda f: f.item.id)


def restore(ledger: Ledger, item_id: int, bidang: str, actor: str, codes: Sequence[str]) -> IncomingItemRow:
    """Route a wrongly flagged item to ``bidang``; the next sweep forwards it (SOP step 7)."""
    if bidang not in codes:
        raise SpamReviewError(f"Bidang '{bidang}' tidak dikenal; pilih salah satu: {', '.join(codes)}")
    actor = (actor or "").strip()
    if not actor:
        raise SpamReviewError("Sebutkan siapa yang memulihkan: --oleh NAMA")
    with ledger.session() as s:
        item = s.get(IncomingItemRow, item_id)
        if item is None:
            raise SpamReviewError(f"Informasi masuk #{item_id} tidak ada; lihat `sop spam daftar`")
        if not item.spam:
            raise SpamReviewError(
                f"Informasi masuk #{item_id} tidak ditandai spam (bidang: {item.bidang}); "
                "tidak ada yang dipulihkan"
            )
        if s.scalars(select(Forward.id).where(Forward.item_id == item_id)).first() is not None:
            raise SpamReviewError(
                f"Informasi masuk #{item_id} sudah pernah diteruskan; tidak dipulihkan lagi"
            )
        when = to_wib(utcnow())
        item.reasons = [
            *(item.reasons or []),
            f"dipulihkan dari spam oleh {actor} ({when:%d-%m-%Y %H:%M} WIB) → {bidang}; "
            "diteruskan pada sapuan berikutnya",
        ]
        item.spam = False
        item.bidang = bidang
        s.commit()
        text = item.text
    record_label(
        ledger,
        text=text,
        source=SOURCE_NOT_SPAM,
        actor=actor,
        item_id=item_id,
        bidang=bidang,
        previous="spam",
    )
    with ledger.session() as s:
        restored = s.get(IncomingItemRow, item_id)
        assert restored is not None
        return restored
