"""SOP steps 8–9: a bidang follows up an incoming item; the reply goes where the item came from.

Record 3 (data/informasi tindak lanjut) is append-only: each decision, reminder and posted reply
is an event. Public text is shown inert everywhere.

- :mod:`~sop_tasks.followup.events`: the event names and SOP steps of record 3;
- :mod:`~sop_tasks.followup.decisions`: step 8's choices and which decision of a bidang stands;
- :mod:`~sop_tasks.followup.ppid`: the UU 14/2008 clock of a public-information request;
- :mod:`~sop_tasks.followup.store`: :class:`FollowUps`, record 3's queries and appends;
- :mod:`~sop_tasks.followup.summaries`: record 3 rows for the reports and the CLI;
- :mod:`~sop_tasks.followup.render`: what staff read (dates, status labels, the step-8 Markdown);
- :mod:`~sop_tasks.followup.reminders`: follow-up, PPID and reply-approval reminders.

Every name below is re-exported so that ``from sop_tasks.followup import X`` keeps working.
"""

from __future__ import annotations

from sop_tasks.errors import FollowUpError
from sop_tasks.followup.decisions import (
    APPROVAL_OPTIONS,
    DECISION_WORDS,
    DECISIONS,
    OPTION_APPROVE,
    OPTION_NO_REPLY,
    OPTION_REPLY,
    OPTION_REROUTE,
    OPTION_RETURN,
    OPTIONS,
    PARAM_PPID,
    PARAM_REASON,
    PARAM_REPLY,
    PARAM_TARGET,
    REQUIRED_BY_OPTION,
    ReturnedReply,
    awaiting_approval,
    returned_replies,
    standing_decision,
    verdict_on,
)
from sop_tasks.followup.events import (
    EVENT_APPROVAL_REQUESTED,
    EVENT_APPROVED,
    EVENT_ERROR,
    EVENT_POSTED,
    EVENT_PPID,
    EVENT_PPID_EXTENDED,
    EVENT_REFUSED,
    EVENT_REMINDED,
    EVENT_RETURNED,
    REPLY_APPROVER_ROLE,
    STEP7,
    STEP8,
    STEP9,
    VERDICTS,
)
from sop_tasks.followup.ppid import (
    PpidClock,
    ppid_clock_from,
    ppid_deadline,
)
from sop_tasks.followup.reminders import (
    APPROVAL_REMINDERS_STOP_AFTER,
    REMIND_APPROVAL,
    REMIND_BIDANG,
    REMIND_OFFICER,
    REMIND_PPID,
    REMIND_PPID_EXTENDED,
    REMIND_REVISION_BIDANG,
    REMIND_REVISION_OFFICER,
    ApprovalReminder,
    approval_remind_text,
    due_approval_reminders,
    due_follow_up_reminders,
    remind_text,
)
from sop_tasks.followup.render import (
    REFUSED_LABEL,
    ItemView,
    approval_body,
    body,
    fmt_date,
)
from sop_tasks.followup.store import (
    FollowUps,
    reply_key,
    target_of,
)

__all__ = [
    "APPROVAL_OPTIONS",
    "APPROVAL_REMINDERS_STOP_AFTER",
    "DECISIONS",
    "DECISION_WORDS",
    "EVENT_APPROVAL_REQUESTED",
    "EVENT_APPROVED",
    "EVENT_ERROR",
    "EVENT_POSTED",
    "EVENT_PPID",
    "EVENT_PPID_EXTENDED",
    "EVENT_REFUSED",
    "EVENT_REMINDED",
    "EVENT_RETURNED",
    "OPTIONS",
    "OPTION_APPROVE",
    "OPTION_NO_REPLY",
    "OPTION_REPLY",
    "OPTION_REROUTE",
    "OPTION_RETURN",
    "PARAM_PPID",
    "PARAM_REASON",
    "PARAM_REPLY",
    "PARAM_TARGET",
    "REFUSED_LABEL",
    "REMIND_APPROVAL",
    "REMIND_BIDANG",
    "REMIND_OFFICER",
    "REMIND_PPID",
    "REMIND_PPID_EXTENDED",
    "REMIND_REVISION_BIDANG",
    "REMIND_REVISION_OFFICER",
    "REPLY_APPROVER_ROLE",
    "REQUIRED_BY_OPTION",
    "STEP7",
    "STEP8",
    "STEP9",
    "VERDICTS",
    "ApprovalReminder",
    "FollowUpError",
    "FollowUps",
    "ItemView",
    "PpidClock",
    "ReturnedReply",
    "approval_body",
    "approval_remind_text",
    "awaiting_approval",
    "body",
    "due_approval_reminders",
    "due_follow_up_reminders",
    "fmt_date",
    "ppid_clock_from",
    "ppid_deadline",
    "remind_text",
    "reply_key",
    "returned_replies",
    "standing_decision",
    "target_of",
    "verdict_on",
]
