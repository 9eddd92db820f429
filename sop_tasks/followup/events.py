"""Record 3's vocabulary: the SOP steps of a follow-up and the event names we write.

The event column is free text; these are the names this package writes besides the decisions
(see :mod:`sop_tasks.followup.decisions`).
"""

from __future__ import annotations

from sop_tasks.sop import step

STEP7, STEP8, STEP9 = step(7), step(8), step(9)

# Record 3 event names besides the decisions (the column is free text; these are the ones we write).
EVENT_PPID = "ppid"  # marked as a public-information request (deadline = ppid_days working days)
EVENT_PPID_EXTENDED = "ppid_extended"  # extended once (deadline = the new one; text = the reason)
EVENT_POSTED, EVENT_REMINDED, EVENT_ERROR = "posted", "reminded", "error"
# The approval gate refused to post the reply (text: "Ditolak: persetujuan tidak lengkap — …").
EVENT_REFUSED = "refused"
# follow_up.replies_need_approval: the official's approval of a reply (SOP warning 1 for replies).
# A returned reply no longer stands: the bidang answers again in a revision run.
EVENT_APPROVAL_REQUESTED = "reply_approval_requested"  # detail["reply_id"]: the reply to approve
EVENT_APPROVED, EVENT_RETURNED = "reply_approved", "reply_returned"
VERDICTS = (EVENT_APPROVED, EVENT_RETURNED)
# Who approves a bidang's reply: the Kasubag Umum dan Kepegawaian is the first verifier of everything
# the office publishes and the sub-division that handles its public communication; one official
# (not the three-step chain of SOP steps 2–4) because step 9's standard time is five minutes.
REPLY_APPROVER_ROLE = "kasubag"
