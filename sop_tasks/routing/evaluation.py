"""Accuracy on labelled messages: per bidang, spam recall and precision, the confusion matrix.

The labelled set lives in ``data/`` beside this module: ``latih.jsonl`` (training and
cross-validation) and ``uji_beku.jsonl`` (the frozen test part, never trained or tuned on; see
``data/README.md``). Used by the tests, ``sop route --evaluasi``, the bench and the retrain DAG.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sop_tasks.routing.router import RouteDecision

DATA_DIR = Path(__file__).parent / "data"
TRAIN_FILE = DATA_DIR / "latih.jsonl"
FROZEN_FILE = DATA_DIR / "uji_beku.jsonl"
SPAM = "spam"

# The bars of the frozen test part (issue: bidang ≥ 95 %, spam recall ≥ 95 %, false spam ≤ 1 %).
BAR_BIDANG, BAR_SPAM_RECALL, BAR_FALSE_SPAM = 0.95, 0.95, 0.01


@dataclass(frozen=True)
class Sample:
    text: str
    bidang: str | None  # None only for spam
    spam: bool
    kategori: str | None = None  # spam category, when known
    weight: float = 1.0  # a correction counts more than a written example

    @property
    def label(self) -> str:
        """The class a model learns: the bidang code, or ``spam:<kategori>``."""
        if self.spam:
            return f"{SPAM}:{self.kategori or 'lain'}"
        return str(self.bidang)


def load_samples(path: Path) -> list[Sample]:
    """A JSONL file of ``{"text", "bidang", "spam"[, "kategori"]}`` objects."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            row = json.loads(line)
            if bool(row["spam"]) != (row["bidang"] is None):
                raise ValueError(f"{path} baris {n}: 'bidang' harus null jika dan hanya jika 'spam' true")
            kategori = row.get("kategori")
            out.append(Sample(str(row["text"]), row["bidang"], bool(row["spam"]), kategori or None))
    return out


def train_samples() -> list[Sample]:
    return load_samples(TRAIN_FILE)


def frozen_samples() -> list[Sample]:
    return load_samples(FROZEN_FILE)


class Routes(Protocol):
    def route(self, text: str) -> RouteDecision: ...


@dataclass(frozen=True)
class AccuracyReport:
    per_bidang: Mapping[str, tuple[int, int]]  # code → (correct, total), over legitimate messages
    spam_caught: int  # spam flagged as spam
    spam_total: int
    false_spam: int  # legitimate messages flagged as spam
    misses: tuple[tuple[Sample, RouteDecision], ...]
    confusion: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # true → decided → n

    @property
    def legit_total(self) -> int:
        return sum(t for _, t in self.per_bidang.values())

    @property
    def bidang_accuracy(self) -> float:
        total = self.legit_total
        return sum(c for c, _ in self.per_bidang.values()) / total if total else 1.0

    @property
    def spam_recall(self) -> float:
        return self.spam_caught / self.spam_total if self.spam_total else 1.0

    @property
    def spam_precision(self) -> float:
        flagged = self.spam_caught + self.false_spam
        return self.spam_caught / flagged if flagged else 1.0

    @property
    def false_spam_rate(self) -> float:
        return self.false_spam / self.legit_total if self.legit_total else 0.0

    def score(self) -> tuple[float, float, float]:
        """For comparing two models: bidang accuracy, spam recall, minus the false-spam rate."""
        return (self.bidang_accuracy, self.spam_recall, -self.false_spam_rate)

    def at_least_as_good_as(self, other: AccuracyReport) -> bool:
        """No worse on any of the three bars' measures."""
        eps = 1e-9
        return all(a + eps >= b for a, b in zip(self.score(), other.score(), strict=True))

    def bar_problems(self) -> list[str]:
        """Which bars of the frozen test part this report misses (Indonesian), empty when none."""
        out = []
        if self.bidang_accuracy < BAR_BIDANG:
            out.append(f"akurasi bidang {self.bidang_accuracy:.1%} < {BAR_BIDANG:.0%}")
        if self.spam_recall < BAR_SPAM_RECALL:
            out.append(f"recall spam {self.spam_recall:.1%} < {BAR_SPAM_RECALL:.0%}")
        if self.false_spam_rate > BAR_FALSE_SPAM:
            out.append(f"spam salah tandai {self.false_spam_rate:.1%} > {BAR_FALSE_SPAM:.0%}")
        return out

    def table(self) -> str:
        lines = [f"{'kelompok':<16}{'benar':>7}{'jumlah':>8}{'akurasi':>9}", "-" * 40]
        for code, (c, t) in self.per_bidang.items():
            lines.append(f"{code:<16}{c:>7}{t:>8}{c / t if t else 1.0:>9.1%}")
        legit = self.legit_total
        right = sum(c for c, _ in self.per_bidang.values())
        lines.append(f"{'semua bidang':<16}{right:>7}{legit:>8}{self.bidang_accuracy:>9.1%}")
        caught, total = self.spam_caught, self.spam_total
        lines.append(f"{'spam (recall)':<16}{caught:>7}{total:>8}{self.spam_recall:>9.1%}")
        lines.append(f"spam salah tandai (pesan sah dianggap spam): {self.false_spam} dari {legit}")
        lines.append(f"presisi spam: {self.spam_precision:.1%}")
        if self.confusion:
            lines += ["", self.confusion_table()]
        return "\n".join(lines)

    def confusion_table(self) -> str:
        """Rows: the right answer; columns: what was decided."""
        labels = list(dict.fromkeys([*self.confusion, *(p for row in self.confusion.values() for p in row)]))
        labels.sort(key=lambda x: (x == SPAM, x))
        width = max(14, *(len(x) + 2 for x in labels))
        lines = [
            "matriks kebingungan (baris: seharusnya, kolom: hasil)",
            " " * width + "".join(f"{x:>{width}}" for x in labels),
        ]
        for true in labels:
            row = self.confusion.get(true, {})
            lines.append(f"{true:<{width}}" + "".join(f"{row.get(p, 0):>{width}}" for p in labels))
        return "\n".join(lines)


def _outcome(d: RouteDecision) -> str:
    return SPAM if d.spam else str(d.bidang)


def report_of(pairs: Iterable[tuple[Sample, RouteDecision]]) -> AccuracyReport:
    per: dict[str, list[int]] = {}
    confusion: dict[str, dict[str, int]] = {}
    caught = spam_total = false_spam = 0
    misses: list[tuple[Sample, RouteDecision]] = []
    for s, d in pairs:
        true = SPAM if s.spam else str(s.bidang)
        row = confusion.setdefault(true, {})
        row[_outcome(d)] = row.get(_outcome(d), 0) + 1
        if s.spam:
            spam_total += 1
            caught += d.spam
            ok = d.spam
        else:
            stat = per.setdefault(s.bidang or "", [0, 0])
            stat[1] += 1
            false_spam += d.spam
            ok = not d.spam and d.bidang == s.bidang
            stat[0] += ok
        if not ok:
            misses.append((s, d))
    return AccuracyReport(
        per_bidang={k: (v[0], v[1]) for k, v in per.items()},
        spam_caught=caught,
        spam_total=spam_total,
        false_spam=false_spam,
        misses=tuple(misses),
        confusion=confusion,
    )


def evaluate(router: Routes, samples: Iterable[Sample]) -> AccuracyReport:
    return report_of((s, router.route(s.text)) for s in samples)


def folds(samples: Sequence[Sample], k: int = 5, seed: int = 7) -> list[tuple[list[Sample], list[Sample]]]:
    """``k`` (train, held-out) splits, stratified by label, deterministic for a seed."""
    by_label: dict[str, list[Sample]] = {}
    for s in samples:
        by_label.setdefault(s.label, []).append(s)
    rng = random.Random(seed)
    parts: list[list[Sample]] = [[] for _ in range(k)]
    i = 0
    for label in sorted(by_label):
        group = list(by_label[label])
        rng.shuffle(group)
        for s in group:
            parts[i % k].append(s)
            i += 1
    return [([s for j, p in enumerate(parts) if j != n for s in p], parts[n]) for n in range(k)]


def cross_validate(
    make_router: Callable[[list[Sample]], Routes], samples: Sequence[Sample], k: int = 5, seed: int = 7
) -> AccuracyReport:
    """Train on k−1 folds, route the held-out fold, for each fold; one report over all of them."""
    pairs: list[tuple[Sample, RouteDecision]] = []
    for train, held in folds(samples, k, seed):
        router = make_router(train)
        pairs += [(s, router.route(s.text)) for s in held]
    return report_of(pairs)
