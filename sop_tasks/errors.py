"""The error tree of ``sop_tasks``.

Every error a staff member can meet says, in Bahasa Indonesia, what happened and what to fix.

::

    SopError                      base of everything raised on purpose here
    ├── ConfigError               the office config (config/*.yaml) is invalid: file, key, fix
    ├── SopConfigImportError      a DAG file cannot load the office config (its import error)
    ├── ContentError              a submission cannot be published as it is (permanent)
    ├── NotFoundError             a submission, update or incoming item is not in the records
    │                             (also a LookupError)
    ├── VersionTaken              two updates of one submission took the same version number
    ├── FollowUpError             a follow-up (SOP steps 8–9) cannot go on as asked
    ├── ApprovalMissingError      a channel write lacks the recorded approvals it needs
    │                             (SOP warning 1): permanent, never retried
    ├── ReleaseRefusedError       an outbox upload cannot be sent live (sop terbitkan): permanent
    ├── NotYetError               an upload asked for before its publish time (``at``): wait
    └── ChannelError              a platform refused or failed
        ├── CredentialsError      the connection's credentials are wrong (permanent)
        ├── ActionRequiredError   a person must act in the platform's app first (challenge,
        │                         2FA, feedback_required): permanent, never retried in a loop
        ├── RejectedContentError  the platform refused the content (names the field; permanent)
        │   └── GoneError         the post/comment being answered or changed no longer exists
        ├── TransientChannelError timeouts, 5xx, resets: retrying may succeed
        └── RateLimitedError      the platform asks us to wait until ``reset_at``

Permanent errors are turned into ``AirflowFailException`` by ``sop_tasks.airflow`` so Airflow
does not retry them; transient ones propagate so Airflow's retries apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime


class SopError(Exception):
    """Base class of the project's own errors."""


class ConfigError(SopError):
    """One or more problems in the office config; each names the file, the key and the fix."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("Konfigurasi kantor tidak valid:\n" + "\n".join(f"- {p}" for p in self.problems))


class ContentError(SopError):
    """The content of a submission is not publishable; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            "Konten tidak dapat diproses. Perbaiki hal berikut lalu kirim ulang formulir:\n"
            + "\n".join(f"- {p}" for p in self.problems)
        )


class SopConfigImportError(SopError):
    """Raised at DAG parse time when the office config is invalid; shown as the DAG import error."""


class NotFoundError(SopError, LookupError):
    """Something the records should hold is not there; the message says what and where to look."""

    @classmethod
    def submission(cls, submission_id: object, *, what: str = "Pengajuan") -> NotFoundError:
        return cls(f"{what} {submission_id} tidak ada di catatan; lihat nomornya dengan `sop records list`")


class VersionTaken(SopError):
    """Two updates of one submission were prepared at the same moment; the second must rerun."""

    def __init__(self, submission_id: int, version: int) -> None:
        super().__init__(f"version {version} of submission {submission_id} was taken")


class FollowUpError(SopError):
    """A follow-up that cannot go on as asked; the message says why, in Indonesian."""


class ApprovalMissingError(SopError):
    """A channel write without the approvals SOP warning 1 demands: ``missing`` names each one.

    Permanent: nothing a retry could change; the write never happens and the refusal is recorded.
    """

    PREFIX = "Ditolak: persetujuan tidak lengkap"

    def __init__(self, missing: Sequence[str]) -> None:
        self.missing = list(missing)
        super().__init__(f"{self.PREFIX} — " + "; ".join(self.missing))


class ReleaseRefusedError(SopError):
    """An outbox upload cannot be released live now; ``problems`` says why (permanent)."""

    PREFIX = "Tidak diunggah dari outbox"

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(f"{self.PREFIX} — " + "; ".join(self.problems))


class NotYetError(SopError):
    """An upload asked for before the content's publish time: nothing is written; wait until ``at``.

    Raised at the channel write itself, so no path to it (a cleared or re-run task, a
    resumed deferral on a machine whose clock lags) can publish early.
    """

    def __init__(self, submission_id: int, at: datetime) -> None:
        self.submission_id = submission_id
        self.at = at
        # ``at`` keeps the form's WIB offset: the same time the verifiers saw in their question
        super().__init__(
            f"Belum waktunya tayang: pengajuan {submission_id} dijadwalkan {at:%d-%m-%Y %H:%M} WIB; "
            "belum diunggah — tugas unggah menunggu dan mengunggah sendiri pada waktu itu"
        )


class ChannelError(SopError):
    def __init__(self, channel: str, message: str) -> None:
        self.channel = channel
        super().__init__(f"[{channel}] {message}")


class CredentialsError(ChannelError):
    pass


class ActionRequiredError(ChannelError):
    pass


class RejectedContentError(ChannelError):
    pass


class GoneError(RejectedContentError):
    """The post or comment being changed or answered was deleted on the platform (404/410)."""


class TransientChannelError(ChannelError):
    pass


class RateLimitedError(ChannelError):
    def __init__(self, channel: str, message: str, reset_at: datetime) -> None:
        self.reset_at = reset_at
        super().__init__(channel, message)
