"""The SOP as data: *SOP Pengelolaan Media Sosial* no. 973/3573/DINARPUS (2023).

Everything that names an SOP step — DAG task ids, the Indonesian display names staff see, and
the records that compare each step's real duration with its standard time — reads this table.
A revised SOP is one edit here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

SOP_NUMBER = "973/3573/DINARPUS"
SOP_TITLE = "SOP Pengelolaan Media Sosial"
TIMEZONE = "Asia/Jakarta"


class Actor(StrEnum):
    """Actors (pelaksana) of the SOP; the values are the role codes used in config and users."""

    PENGELOLA_TI = "pengelola_ti"
    KASUBAG = "kasubag"
    KABID = "kabid"
    KADIS = "kadis"
    BIDANG = "bidang"


ACTOR_NAMES: dict[Actor, str] = {
    Actor.PENGELOLA_TI: "Pengelola Teknologi Informasi",
    Actor.KASUBAG: "Kasubag Umum dan Kepegawaian",
    Actor.KABID: "Kepala Bidang",
    Actor.KADIS: "Kepala Dinas",
    Actor.BIDANG: "Bidang terkait",
}


class StepKind(StrEnum):
    PREPARE = "prepare"
    VERIFY = "verify"
    PUBLISH = "publish"
    MONITOR = "monitor"
    FORWARD = "forward"
    FOLLOW_UP = "follow_up"
    REPLY = "reply"
    UPDATE = "update"


@dataclass(frozen=True)
class Step:
    number: int
    key: str
    kind: StepKind
    actor: Actor
    activity: str
    """The activity (kegiatan) as the SOP words it."""
    standard_minutes: int | None
    """Standard time (mutu baku) in minutes; None where the SOP sets none."""
    output: str

    @property
    def task_id(self) -> str:
        """Task id of this step in a DAG, e.g. ``sop02_verifikasi_kasubag``."""
        return f"sop{self.number:02d}_{self.key}"

    @property
    def display_name(self) -> str:
        """What staff see in the Airflow UI, e.g. ``2. Verifikasi (Kasubag Umum dan Kepegawaian)``."""
        return f"{self.number}. {self.label}"

    @property
    def label(self) -> str:
        if self.kind is StepKind.VERIFY:
            return f"Verifikasi ({ACTOR_NAMES[self.actor]})"
        return self.activity

    @property
    def standard_seconds(self) -> int | None:
        return None if self.standard_minutes is None else self.standard_minutes * 60


STEPS: tuple[Step, ...] = (
    Step(
        1,
        "identifikasi",
        StepKind.PREPARE,
        Actor.PENGELOLA_TI,
        "Identifikasi data/informasi yang akan diunggah",
        60,
        "Data/informasi yang akan diunggah ke media sosial",
    ),
    Step(
        2,
        "verifikasi_kasubag",
        StepKind.VERIFY,
        Actor.KASUBAG,
        "Memverifikasi data/informasi yang akan diunggah",
        15,
        "Data/informasi yang sudah diverifikasi",
    ),
    Step(
        3,
        "verifikasi_kabid",
        StepKind.VERIFY,
        Actor.KABID,
        "Memverifikasi data/informasi yang akan diunggah",
        15,
        "Data/informasi yang sudah diverifikasi",
    ),
    Step(
        4,
        "verifikasi_kadis",
        StepKind.VERIFY,
        Actor.KADIS,
        "Memverifikasi data/informasi yang akan diunggah",
        15,
        "Data/informasi yang sudah diverifikasi",
    ),
    Step(
        5,
        "unggah",
        StepKind.PUBLISH,
        Actor.PENGELOLA_TI,
        "Unggah ke media sosial",
        30,
        "Data/informasi yang sudah diunggah",
    ),
    Step(
        6,
        "pantau",
        StepKind.MONITOR,
        Actor.PENGELOLA_TI,
        "Pantau informasi yang masuk",
        60,
        "Data/informasi yang masuk",
    ),
    Step(
        7,
        "teruskan",
        StepKind.FORWARD,
        Actor.PENGELOLA_TI,
        "Teruskan ke bidang terkait",
        5,
        "Data/informasi yang masuk (diteruskan)",
    ),
    Step(
        8,
        "tindak_lanjut",
        StepKind.FOLLOW_UP,
        Actor.BIDANG,
        "Tindak lanjut informasi yang masuk",
        None,
        "Tindak lanjut",
    ),
    Step(
        9,
        "unggah_tindak_lanjut",
        StepKind.REPLY,
        Actor.PENGELOLA_TI,
        "Unggah tindak lanjut",
        5,
        "Tindak lanjut yang sudah diunggah",
    ),
    Step(
        10,
        "pemutakhiran",
        StepKind.UPDATE,
        Actor.PENGELOLA_TI,
        "Pemutakhiran data/informasi",
        120,
        "Hasil pemutakhiran data dan informasi di media sosial",
    ),
)

_BY_NUMBER = {s.number: s for s in STEPS}


def step(number: int) -> Step:
    """The SOP step with this number (1–10)."""
    try:
        return _BY_NUMBER[number]
    except KeyError:
        raise KeyError(f"SOP has no step {number}") from None


def steps_of_kind(kind: StepKind) -> tuple[Step, ...]:
    return tuple(s for s in STEPS if s.kind is kind)


VERIFY_STEPS: tuple[Step, ...] = steps_of_kind(StepKind.VERIFY)
"""The verification steps, in the order the SOP asks for them (kasubag, kabid, kadis)."""
