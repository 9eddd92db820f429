"""Step 8's choices and which decision of a bidang stands, read from its record-3 events.

The first decision counts; a reply the official returned no longer stands, and the bidang's next
decision (from the revision run) counts instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sop_tasks.followup.events import EVENT_APPROVAL_REQUESTED, EVENT_RETURNED, VERDICTS
from sop_tasks.records.models import FollowUpEvent

OPTION_REPLY = "Balas — unggah jawaban di tempat pesan masuk"
OPTION_NO_REPLY = "Tidak perlu dibalas"
OPTION_REROUTE = "Teruskan ke bidang lain"
OPTIONS = [OPTION_REPLY, OPTION_NO_REPLY, OPTION_REROUTE]
PARAM_REPLY, PARAM_REASON, PARAM_TARGET, PARAM_PPID = "reply", "alasan", "bidang_tujuan", "ppid"
REQUIRED_BY_OPTION = {OPTION_REPLY: PARAM_REPLY, OPTION_NO_REPLY: PARAM_REASON, OPTION_REROUTE: PARAM_TARGET}
DECISIONS = {OPTION_REPLY: "reply", OPTION_NO_REPLY: "no_reply", OPTION_REROUTE: "reroute"}
DECISION_WORDS = {"reply": "dibalas", "no_reply": "dinyatakan tidak perlu dibalas", "reroute": "diteruskan"}
# follow_up.replies_need_approval: the official's answer to a bidang's reply. "Tidak" sends the item
# back to the same bidang for a new answer (a revision run).
OPTION_APPROVE = "Ya — setujui balasan"
OPTION_RETURN = "Tidak — kembalikan"
APPROVAL_OPTIONS = [OPTION_APPROVE, OPTION_RETURN]


@dataclass(frozen=True)
class ReturnedReply:
    """A bidang's reply the approving official returned (``reply_returned``): it no longer stands."""

    reply: FollowUpEvent
    returned: FollowUpEvent


def standing_decision(events: Iterable[FollowUpEvent], bidang: str) -> FollowUpEvent | None:
    """The bidang's decision that stands, if any.

    The first decision counts (a second one recorded by a race is kept in the log but ignored),
    except a reply the official returned: after ``reply_returned`` the bidang has no decision and
    its next one (from the revision run) counts.
    """
    return decision_history(events, bidang)[0]


def returned_replies(events: Iterable[FollowUpEvent], bidang: str) -> list[ReturnedReply]:
    """Every reply of the bidang that was returned, oldest first."""
    return decision_history(events, bidang)[1]


def decision_history(
    events: Iterable[FollowUpEvent], bidang: str
) -> tuple[FollowUpEvent | None, list[ReturnedReply]]:
    """The bidang's standing decision (None when it has none) and its returned replies, oldest first."""
    standing: FollowUpEvent | None = None
    returns: list[ReturnedReply] = []
    for e in sorted((e for e in events if e.bidang == bidang), key=lambda e: e.id):
        if e.event in DECISIONS.values() and standing is None:
            standing = e
        elif e.event == EVENT_RETURNED and standing is not None and standing.event == "reply":
            returns.append(ReturnedReply(standing, e))
            standing = None
    return standing, returns


def verdict_on(events: Iterable[FollowUpEvent], reply: FollowUpEvent) -> FollowUpEvent | None:
    """The official's verdict (approved or returned) on this very reply, if given."""
    return next(
        (
            e
            for e in sorted(events, key=lambda e: e.id)
            if e.bidang == reply.bidang and e.event in VERDICTS and e.id > reply.id
        ),
        None,
    )


def awaiting_approval(events: Iterable[FollowUpEvent], bidang: str) -> FollowUpEvent | None:
    """The approval request of the bidang's standing reply that no verdict has answered yet."""
    evs = sorted(events, key=lambda e: e.id)
    reply = standing_decision(evs, bidang)
    if reply is None or reply.event != "reply" or verdict_on(evs, reply) is not None:
        return None
    requests = [
        e for e in evs if e.bidang == bidang and e.event == EVENT_APPROVAL_REQUESTED and e.id > reply.id
    ]
    return requests[-1] if requests else None
