"""The weekly retrain (DAG ``sop_routing_latih``): train, evaluate on the frozen test part, and
replace the live model only when the new one scores at least as well on every measure.

Domain code: does not import Airflow.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sop_tasks.records.ledger import Ledger, utcnow
from sop_tasks.routing.evaluation import AccuracyReport, evaluate, frozen_samples, train_samples
from sop_tasks.routing.model import LearnedRouter, data_digest, train
from sop_tasks.routing.router import Router
from sop_tasks.routing.rules import RoutingRules
from sop_tasks.routing.store import (
    STATUS_LIVE,
    STATUS_REJECTED,
    correction_samples,
    live_model,
    record_model,
)

log = logging.getLogger(__name__)


def metrics_of(report: AccuracyReport) -> dict[str, Any]:
    return {
        "bidang_accuracy": round(report.bidang_accuracy, 4),
        "spam_recall": round(report.spam_recall, 4),
        "spam_precision": round(report.spam_precision, 4),
        "false_spam": report.false_spam,
        "false_spam_rate": round(report.false_spam_rate, 4),
        "per_bidang": {k: list(v) for k, v in report.per_bidang.items()},
        "confusion": {k: dict(v) for k, v in report.confusion.items()},
    }


@dataclass(frozen=True)
class RetrainResult:
    version: str
    previous: str
    replaced: bool
    new: AccuracyReport
    old: AccuracyReport
    examples: int
    corrections: int

    def summary(self) -> str:
        """For the task log and the officer (Indonesian)."""

        def line(r: AccuracyReport) -> str:
            return (
                f"akurasi bidang {r.bidang_accuracy:.1%}, recall spam {r.spam_recall:.1%}, "
                f"spam salah tandai {r.false_spam}"
            )

        verdict = (
            f"model {self.version} dipakai (menggantikan {self.previous})"
            if self.replaced
            else f"model {self.version} TIDAK dipakai: lebih buruk dari {self.previous}; model lama tetap"
        )
        return "\n".join(
            [
                f"Latih ulang pengarahan: {self.examples} contoh, "
                f"termasuk {self.corrections} koreksi bidang.",
                f"  baru ({self.version}): {line(self.new)}",
                f"  lama ({self.previous}): {line(self.old)}",
                verdict,
            ]
        )


def retrain(ledger: Ledger, rules: RoutingRules, *, now: datetime | None = None) -> RetrainResult:
    """Train on the training part plus every correction; keep the better of new and live."""
    live = live_model(ledger, rules)
    corrections = correction_samples(ledger)
    samples = train_samples() + corrections
    digest = data_digest(samples, rules)
    when = now or utcnow()
    version = f"{when:%Y%m%d-%H%M%S}-{digest[:8]}"
    candidate = train(samples, Router(rules), version=version, meta={"data": digest})
    frozen = frozen_samples()
    new = evaluate(LearnedRouter(rules, candidate), frozen)
    old = evaluate(LearnedRouter(rules, live), frozen)
    better = new.at_least_as_good_as(old)
    metrics = {"uji_beku": metrics_of(new), "pembanding": {"versi": live.version, **metrics_of(old)}}
    record_model(
        ledger,
        candidate,
        status=STATUS_LIVE if better else STATUS_REJECTED,
        metrics=metrics,
        note=None if better else f"lebih buruk dari {live.version} pada bagian uji beku; tidak dipakai",
    )
    result = RetrainResult(version, live.version, better, new, old, len(samples), len(corrections))
    log.info("%s", result.summary())
    return result
