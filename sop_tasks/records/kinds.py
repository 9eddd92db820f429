"""The words the records store for outcomes, as enums (values unchanged, so old rows read the same).

Every value is a plain string in the database; the models validate on assignment, so a typo in
code fails where it is written instead of becoming a status nobody reads.
"""

from __future__ import annotations

from enum import StrEnum


class ResultStatus(StrEnum):
    """``channel_results.status`` and ``reply_results.status``: one row per attempt, append only."""

    INTENT = "intent"  # recorded before the external write
    PUBLISHED = "published"  # live on the platform (post id and URL known)
    OUTBOX = "outbox"  # written to the outbox folder (no connection)
    ERROR = "error"  # the attempt failed (the platform's words in ``message``); shown as "gagal"
    REFUSED = "refused"  # the approval gate refused the write (``message`` names what is missing)


FINAL_RESULTS = (ResultStatus.PUBLISHED, ResultStatus.OUTBOX)


class ChannelAction(StrEnum):
    """``channel_results.action``: what a channel write did (None in rows older than 0004)."""

    PUBLISH = "publish"  # SOP step 5
    UPDATE = "update"  # step 10: the same post changed in place
    REPLY = "reply"  # step 10 on X: a correction reply to the live post
    REPOST = "repost"  # step 10 on X: deleted and posted again
    PUBLISH_LIVE = "publish_live"  # step 5 again: an outbox upload released live (sop_terbitkan)


class StepEventKind(StrEnum):
    """``step_events.event`` of record 1."""

    VALID = "valid"  # step 1/10: the form passed every check
    INVALID = "invalid"  # step 1/10: refused, ``reason`` lists every problem
    REQUESTED = "requested"  # steps 2–4: the question was put (detail: assigned, content_hash shown)
    APPROVED = "approved"  # steps 2–4: "Ya" (detail: content_hash answered)
    RETURNED = "returned"  # steps 2–4: "Tidak", with the reason
    # steps 2–4: Airflow stored an official's answer (detail: chosen options). The decision is the
    # APPROVED/RETURNED that follows; a retried task whose answer never reached it (a broker
    # restart, a lost worker) takes this answer instead of asking the official again.
    ANSWERED = "answered"
    REMINDED = "reminded"  # steps 2–4: a reminder was sent
    STARTED = "started"
    SCHEDULED = "scheduled"  # step 5: waiting for publish_at
    PUBLISHED = "published"  # step 5/10: a channel write settled live
    OUTBOX = "outbox"  # step 5/10: a channel write settled in the outbox
    REFUSED = "refused"  # step 5/10: the approval gate refused a write (``reason`` says why)


def checked(kind: type[StrEnum], value: object, column: str) -> str | None:
    """``value`` as a member of ``kind`` (None passes); ValueError naming the column otherwise."""
    if value is None:
        return None
    try:
        return str(kind(str(value)))
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise ValueError(f"{column}: '{value}' tidak dikenal; yang sah: {allowed}") from None
