"""Record 2 (data/informasi yang masuk), watermarks, sweeps and forwards.

Items are unique on (channel, platform id): a crash between collecting and committing, a missed
sweep or two overlapping sweeps can only ever record an item once. Watermarks are appended
(the newest row wins) and only after the items they cover are committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from sop_tasks.incoming import IncomingItem
from sop_tasks.records.ledger import Ledger, to_utc, to_wib, utcnow
from sop_tasks.records.models import ChannelResult, Forward, IncomingItemRow, Sweep, Watermark
from sop_tasks.workdays import WorkCalendar


class Routed(Protocol):
    """What routing decided for an item (``sop_tasks.routing.RouteDecision`` fits)."""

    @property
    def bidang(self) -> str | None: ...
    @property
    def spam(self) -> bool: ...
    @property
    def reasons(self) -> Sequence[str]: ...


class Inbox:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    # ---- sweeps ---------------------------------------------------------------------------
    def start_sweep(
        self, *, run_id: str | None, slot: str | None, sop_sweep: bool, channels: list[str]
    ) -> int:
        with self.ledger.session() as s:
            sw = Sweep(
                run_id=run_id,
                slot=slot,
                sop_sweep=sop_sweep,
                started_at=utcnow(),
                channels=channels,
                status="running",
            )
            s.add(sw)
            s.commit()
            return sw.id

    def finish_sweep(
        self, sweep_id: int, *, counts: dict[str, Any], errors: dict[str, str], status: str
    ) -> None:
        with self.ledger.session() as s:
            sw = s.get(Sweep, sweep_id)
            assert sw is not None
            sw.ended_at, sw.counts, sw.errors, sw.status = utcnow(), counts, errors, status
            s.commit()

    def sweeps(self) -> list[Sweep]:
        with self.ledger.session() as s:
            return list(s.scalars(select(Sweep).order_by(Sweep.id)))

    # ---- watermarks -----------------------------------------------------------------------
    def watermark(self, channel: str, account: str) -> str | None:
        with self.ledger.session() as s:
            row = s.scalars(
                select(Watermark)
                .where(Watermark.channel == channel, Watermark.account == account)
                .order_by(Watermark.id.desc())
                .limit(1)
            ).first()
            return row.value if row else None

    def set_watermark(self, channel: str, account: str, value: str | None, sweep_id: int | None) -> None:
        with self.ledger.session() as s:
            s.add(
                Watermark(
                    channel=channel, account=account, value=value, sweep_id=sweep_id, recorded_at=utcnow()
                )
            )
            s.commit()

    # ---- items ----------------------------------------------------------------------------
    def known_ids(self, channel: str, platform_ids: Iterable[str]) -> set[str]:
        ids = list(platform_ids)
        found: set[str] = set()
        with self.ledger.session() as s:
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                found.update(
                    s.scalars(
                        select(IncomingItemRow.platform_id).where(
                            IncomingItemRow.channel == channel, IncomingItemRow.platform_id.in_(chunk)
                        )
                    )
                )
        return found

    def submission_for_posts(self, channel: str) -> dict[str, int]:
        """Our published posts on a channel: platform post id → submission id."""
        with self.ledger.session() as s:
            rows = s.execute(
                select(ChannelResult.post_id, ChannelResult.submission_id).where(
                    ChannelResult.channel == channel, ChannelResult.status == "published"
                )
            ).all()
        return {str(p): int(sid) for p, sid in rows if p}

    def record_items(self, items: Sequence[IncomingItem], routed: Sequence[Routed], sweep_id: int) -> int:
        """Insert every item not yet recorded (one transaction). Returns how many were new."""
        if not items:
            return 0
        posts: dict[str, dict[str, int]] = {}
        now = utcnow()
        rows = []
        for item, r in zip(items, routed, strict=True):
            if item.channel not in posts:  # one query per channel, not per item
                posts[item.channel] = self.submission_for_posts(item.channel)
            ours = posts[item.channel]
            rows.append(
                {
                    "channel": item.channel,
                    "platform_id": item.platform_id,
                    "kind": item.kind,
                    "author": item.author,
                    "text": item.text,
                    "created_at": to_utc(item.created_at),
                    "url": item.url,
                    "thread_id": item.thread_id,
                    "parent_id": item.parent_id,
                    "post_ref": item.post_ref,
                    "submission_id": ours.get(item.post_ref or ""),
                    "raw": item.raw,
                    "seen_at": now,
                    "sweep_id": sweep_id,
                    "bidang": r.bidang,
                    "spam": r.spam,
                    "reasons": list(r.reasons),
                }
            )
        dialect = self.ledger.engine.dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(IncomingItemRow).on_conflict_do_nothing(index_elements=["channel", "platform_id"])
        with self.ledger.engine.begin() as conn:
            result = conn.execute(stmt, rows)
        return max(int(result.rowcount or 0), 0)

    def items(self, *, sweep_id: int | None = None) -> list[IncomingItemRow]:
        with self.ledger.session() as s:
            q = select(IncomingItemRow).order_by(IncomingItemRow.id)
            if sweep_id is not None:
                q = q.where(IncomingItemRow.sweep_id == sweep_id)
            return list(s.scalars(q))

    # ---- forwarding (step 7) --------------------------------------------------------------
    def unforwarded(self) -> list[IncomingItemRow]:
        """Routed, non-spam items no bidang has been told about yet."""
        with self.ledger.session() as s:
            done = select(Forward.item_id)
            return list(
                s.scalars(
                    select(IncomingItemRow)
                    .where(IncomingItemRow.spam.is_(False), IncomingItemRow.bidang.is_not(None))
                    .where(IncomingItemRow.id.not_in(done))
                    .order_by(IncomingItemRow.id)
                )
            )

    def record_forwards(self, item_ids: Sequence[int], bidang: str, sweep_id: int | None, via: str) -> None:
        now = utcnow()
        with self.ledger.session() as s:
            for item_id in item_ids:
                s.add(Forward(item_id=item_id, bidang=bidang, sweep_id=sweep_id, via=via, forwarded_at=now))
            s.commit()

    def forwards(self) -> list[Forward]:
        with self.ledger.session() as s:
            return list(s.scalars(select(Forward).order_by(Forward.id)))

    # ---- proof of monitoring --------------------------------------------------------------
    def days(
        self,
        tz: ZoneInfo,
        *,
        until: date,
        required: int = 3,
        calendar: WorkCalendar | None = None,
        since: date | None = None,
    ) -> list[dict[str, Any]]:
        """Every day from the first sweep to ``until`` (in ``tz``): successful SOP sweeps and a flag.

        A working day (``calendar``: Mon–Fri without the office's holidays; Mon–Fri when none is
        given) with fewer than ``required`` successful SOP sweeps is flagged —
        including a day with none at all. A sweep with a failing channel ("partial") is not a
        successful one. ``since``: only the days from then on (the same entries, without reading
        the earlier sweeps).
        """
        calendar = calendar or WorkCalendar()
        sw_t = Sweep.__table__
        q = select(sw_t.c.started_at, sw_t.c.sop_sweep, sw_t.c.status, sw_t.c.slot).order_by(sw_t.c.id)
        with self.ledger.session() as s:
            first = s.connection().scalar(select(func.min(sw_t.c.started_at)))
            if since is not None:  # the sweeps of that day in tz onwards (naive UTC, as stored)
                start = datetime(since.year, since.month, since.day, tzinfo=tz).astimezone(UTC)
                q = q.where(sw_t.c.started_at >= start.replace(tzinfo=None))
            rows: list[Any] = list(s.connection().execute(q).all())
        if first is None:
            return []
        by_day: dict[date, list[Any]] = {}
        for sw in rows:
            local = (to_wib(sw.started_at) or sw.started_at).astimezone(tz).date()
            by_day.setdefault(local, []).append(sw)
        out = []
        day = (to_wib(first) or first).astimezone(tz).date()
        if since is not None:
            day = max(day, since)
        while day <= until:
            sweeps = by_day.get(day, [])
            ok = [s for s in sweeps if s.sop_sweep and s.status == "ok"]
            working = calendar.is_working_day(day)
            out.append(
                {
                    "date": day.isoformat(),
                    "working_day": working,
                    "sop_sweeps_ok": len(ok),
                    "slots": sorted({s.slot for s in ok if s.slot}),
                    "all_sweeps": len(sweeps),
                    "failed_or_partial": len([s for s in sweeps if s.status in ("partial", "failed")]),
                    "flag": working and len(ok) < required,
                }
            )
            day += timedelta(days=1)
        return out
