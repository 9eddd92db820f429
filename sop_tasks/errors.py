"""The error tree of ``sop_tasks``.

Every error a staff member can meet says, in Bahasa Indonesia, what happened and what to fix.

::

    SopError                      base of everything raised on purpose here
    ├── ConfigError               the office config (config/*.yaml) is invalid: file, key, fix
    ├── ContentError              a submission cannot be published as it is (permanent)
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
