"""Record-1 approvals as the verification steps record them (SOP steps 2–4): setup only.

Each step is requested with the content hash shown, then answered "Ya" by the user the office
config assigns to it, bound to that hash — what ``VerifyOperator`` writes and what the approval
gate (``sop_tasks.approval_gate``) reads before every channel write.
"""

from __future__ import annotations

from sop_tasks.approval_gate import HASH_KEY
from sop_tasks.config import OfficeConfig
from sop_tasks.records.ledger import Ledger
from sop_tasks.sop import VERIFY_STEPS


def approve_all(
    ledger: Ledger, submission_id: int, cfg: OfficeConfig, *, steps: tuple[int, ...] = (2, 3, 4)
) -> None:
    """Steps ``steps`` (default all three) requested and approved, in order, for the stored content."""
    sub = ledger.submission(submission_id)
    assert sub is not None and sub.content_hash, submission_id
    for st in VERIFY_STEPS:
        if st.number not in steps:
            continue
        user = cfg.verifier(st.actor.value).users[0]
        ledger.add_event(submission_id, st.number, "requested", detail={HASH_KEY: sub.content_hash})
        ledger.add_event(
            submission_id, st.number, "approved", actor=user, detail={HASH_KEY: sub.content_hash}
        )
