"""Typed outcomes: the words the records store are validated when stored, and read as before;
the error tree holds every error raised on purpose; one not-found error."""

from __future__ import annotations

import pytest

from sop_tasks import errors
from sop_tasks.records.kinds import ChannelAction, ResultStatus, StepEventKind
from sop_tasks.records.ledger import STATUS_FAILED, Ledger


@pytest.fixture
def ledger(tmp_path):
    return Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")


def _sid(ledger: Ledger) -> int:
    return ledger.open_submission(
        dag_id="sop_publish",
        run_id="r1",
        kind="publish",
        title="Judul",
        content={"channels": ["website"]},
    )


def test_stored_words_are_the_old_ones():
    assert [s.value for s in ResultStatus] == ["intent", "published", "outbox", "error", "refused"]
    # the old four unchanged; publish_live (an outbox upload released live, issue 14) is new
    assert [a.value for a in ChannelAction] == ["publish", "update", "reply", "repost", "publish_live"]
    assert {"valid", "invalid", "requested", "approved", "returned", "reminded", "scheduled"} <= {
        e.value for e in StepEventKind
    }


@pytest.mark.parametrize(
    ("kwargs", "column"),
    [
        ({"status": "failed"}, "channel_results.status"),  # the documented word that was never written
        ({"status": "published ", "post_id": "1", "url": "u"}, "channel_results.status"),
        ({"status": "outbox", "action": "edit"}, "channel_results.action"),
    ],
)
def test_an_unknown_result_word_is_refused_when_stored(ledger, kwargs, column):
    sid = _sid(ledger)
    with pytest.raises(ValueError, match=column):
        ledger.add_channel_result(sid, "website", mode="outbox", idempotency_key="k", **kwargs)
    assert ledger.channel_results(sid) == []


def test_an_unknown_step_event_is_refused_when_stored(ledger):
    sid = _sid(ledger)
    with pytest.raises(ValueError, match=r"step_events\.event: .approve. tidak dikenal"):
        ledger.add_event(sid, 2, "approve", actor="kasubag")
    assert ledger.events(sid) == []


def test_an_error_row_makes_the_submission_failed(ledger):
    sid = _sid(ledger)
    ledger.add_channel_result(sid, "website", mode="live", status=ResultStatus.INTENT, idempotency_key="k")
    ledger.add_channel_result(
        sid, "website", mode="live", status="error", idempotency_key="k", message="502"
    )  # a plain string as stored by older code reads the same
    summary = ledger.summary_of(sid)
    assert summary["channels"]["website"]["status"] == "error"
    assert summary["status"] == STATUS_FAILED == "gagal unggah"


def test_the_error_tree_and_one_not_found_error(ledger):
    from sop_tasks.airflow.dag_support import SopConfigImportError
    from sop_tasks.followup import FollowUpError
    from sop_tasks.records import ledger as ledger_module

    for cls in (
        errors.SopConfigImportError,
        errors.NotFoundError,
        errors.VersionTaken,
        errors.FollowUpError,
        errors.ApprovalMissingError,
    ):
        assert issubclass(cls, errors.SopError)
    assert SopConfigImportError is errors.SopConfigImportError and FollowUpError is errors.FollowUpError
    assert issubclass(errors.NotFoundError, LookupError)  # callers catching LookupError still do
    with pytest.raises(errors.NotFoundError, match="Pengajuan 99 tidak ada di catatan"):
        ledger.live_contents(99)
    assert not hasattr(ledger_module, "VersionTaken") or ledger_module.VersionTaken is errors.VersionTaken
