"""Corrections as labels, model versions and the live model, in the SOP records (SOP step 7).

- Every correction a bidang or the officer makes — *Teruskan* to another bidang, "bukan untuk
  kami", spam / bukan spam, a restored spam item — is a row of ``routing_labels`` with who and
  when, and becomes training data (weighted above a written example).
- Every trained model is a row of ``routing_models`` (version, file, SHA-256, scores, status).
  The file lives under ``AIRFLOW_HOME/sop_routing/``; it is loaded only if its SHA-256 is the one
  recorded, and it is plain arrays (no pickle), so a replaced file can neither run code nor
  silently change routing.
- With no live model yet, the shipped default is trained from the repository's labelled data
  (a few seconds) and recorded as the first live version.

Domain code: does not import Airflow.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from sop_tasks.records.ledger import Ledger, utcnow
from sop_tasks.records.models import IncomingItemRow, RoutingLabel, RoutingModel
from sop_tasks.routing.evaluation import Sample, train_samples
from sop_tasks.routing.model import CORRECTION_WEIGHT, LearnedRouter, TextModel, data_digest, train
from sop_tasks.routing.router import Router
from sop_tasks.routing.rules import RoutingRules

log = logging.getLogger(__name__)

SOURCE_TERUSKAN = "teruskan"
SOURCE_NOT_OURS = "bukan_untuk_kami"
SOURCE_SPAM = "spam"
SOURCE_NOT_SPAM = "bukan_spam"
SOURCES = (SOURCE_TERUSKAN, SOURCE_NOT_OURS, SOURCE_SPAM, SOURCE_NOT_SPAM)
STATUS_LIVE, STATUS_REPLACED, STATUS_REJECTED = "live", "replaced", "rejected"
DEFAULT_PREFIX = "bawaan"

# A "Tidak perlu dibalas" whose reason says the message is not this bidang's, or is spam.
_NOT_OURS = re.compile(
    r"bukan\s+(untuk|urusan|wewenang|kewenangan|tugas|ranah|bidang)\s+kami|salah\s+(alamat|bidang|kirim|arah|rute)"
    r"|bukan\s+bidang|bukan\s+kewenangan"
)
_SPAM_REASON = re.compile(r"\bspam\b|penipuan|\bjudi|\bjudol\b|promosi|iklan|phishing")

_cache: dict[tuple[str, str], TextModel] = {}
_lock = threading.Lock()


def model_dir() -> Path:
    home = Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow")
    return home / "sop_routing"


def _previous(item: IncomingItemRow) -> str:
    return "spam" if item.spam else str(item.bidang or "")


# --------------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------------
def record_label(
    ledger: Ledger,
    *,
    text: str,
    source: str,
    actor: str,
    item_id: int | None = None,
    bidang: str | None = None,
    spam: bool = False,
    kategori: str | None = None,
    not_bidang: str | None = None,
    previous: str | None = None,
) -> int:
    if source not in SOURCES:
        raise ValueError(f"sumber koreksi '{source}' tidak dikenal")
    with ledger.session() as s:
        row = RoutingLabel(
            item_id=item_id,
            text=text,
            bidang=None if spam else bidang,
            spam=spam,
            kategori=kategori if spam else None,
            not_bidang=not_bidang,
            source=source,
            previous=previous,
            actor=actor or "?",
            at=utcnow(),
        )
        s.add(row)
        s.commit()
        return row.id


def note_follow_up_decision(
    ledger: Ledger,
    item_id: int,
    bidang: str,
    decision: str,
    actor: str,
    *,
    target: str | None = None,
    reason: str | None = None,
) -> int | None:
    """Record what a follow-up decision teaches routing; the one call the follow-up makes.

    ``reroute`` (Teruskan) labels the item with the target bidang; ``no_reply`` whose reason says
    the message is not this bidang's ("bukan untuk kami", "salah alamat") or is spam is recorded as
    such; ``spam`` / ``not_spam`` decisions likewise. Anything else teaches nothing (None).
    """
    try:
        return _note(ledger, item_id, bidang, decision, actor, target, reason)
    except SQLAlchemyError:  # the decision itself is recorded already: never undo or block it
        log.exception("Koreksi pengarahan #%s tidak tercatat", item_id)
        return None


def _note(
    ledger: Ledger,
    item_id: int,
    bidang: str,
    decision: str,
    actor: str,
    target: str | None,
    reason: str | None,
) -> int | None:
    with ledger.session() as s:
        item = s.get(IncomingItemRow, item_id)
    if item is None:
        return None
    common: dict[str, Any] = {"text": item.text, "actor": actor, "item_id": item_id, "previous": bidang}
    why = (reason or "").lower()
    if decision == "reroute" and target and target != bidang:
        return record_label(ledger, source=SOURCE_TERUSKAN, bidang=target, **common)
    if decision == "spam" or (decision == "no_reply" and _SPAM_REASON.search(why)):
        return record_label(ledger, source=SOURCE_SPAM, spam=True, **common)
    if decision == "not_spam":
        return record_label(ledger, source=SOURCE_NOT_SPAM, bidang=target or bidang, **common)
    if decision == "no_reply" and _NOT_OURS.search(why):
        return record_label(ledger, source=SOURCE_NOT_OURS, not_bidang=bidang, **common)
    return None


def labels(ledger: Ledger) -> list[RoutingLabel]:
    with ledger.session() as s:
        return list(s.scalars(select(RoutingLabel).order_by(RoutingLabel.id)))


def correction_samples(ledger: Ledger) -> list[Sample]:
    """The corrections as training examples: the latest label of each item that names an answer.

    A "bukan untuk kami" alone names no answer (it is kept in the records, not trained on); a
    later *Teruskan* of the same item does.
    """
    latest: dict[object, RoutingLabel] = {}
    for row in labels(ledger):
        if row.spam or row.bidang:
            latest[row.item_id if row.item_id is not None else ("teks", row.text)] = row
    return [
        Sample(r.text, None if r.spam else r.bidang, r.spam, r.kategori, weight=CORRECTION_WEIGHT)
        for r in latest.values()
    ]


# --------------------------------------------------------------------------------------------
# Model versions
# --------------------------------------------------------------------------------------------
def models(ledger: Ledger) -> list[RoutingModel]:
    with ledger.session() as s:
        return list(s.scalars(select(RoutingModel).order_by(RoutingModel.id)))


def live_record(ledger: Ledger) -> RoutingModel | None:
    with ledger.session() as s:
        return s.scalars(
            select(RoutingModel).where(RoutingModel.status == STATUS_LIVE).order_by(RoutingModel.id.desc())
        ).first()


def record_model(
    ledger: Ledger,
    model: TextModel,
    *,
    status: str,
    metrics: dict[str, Any] | None = None,
    note: str | None = None,
) -> RoutingModel:
    """Save the model's file and record it; a new live version replaces the previous live one."""
    path = model_dir() / f"{model.version}.npz"
    sha = model.save(path)
    with ledger.session() as s:
        if status == STATUS_LIVE:
            for old in s.scalars(select(RoutingModel).where(RoutingModel.status == STATUS_LIVE)):
                old.status = STATUS_REPLACED
        row = RoutingModel(
            version=model.version,
            path=str(path),
            sha256=sha,
            status=status,
            examples=int(model.meta.get("examples", 0)),
            corrections=int(model.meta.get("corrections", 0)),
            metrics=metrics,
            note=note,
            trained_at=utcnow(),
        )
        s.add(row)
        s.commit()
        return row


def load_recorded(row: RoutingModel) -> TextModel:
    key = (row.version, row.sha256)
    with _lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    model = TextModel.load(Path(row.path), sha256=row.sha256)
    with _lock:
        _cache[key] = model
    return model


def default_model(rules: RoutingRules) -> TextModel:
    """The shipped default: trained from the repository's training part (cached per data digest)."""
    samples = train_samples()
    digest = data_digest(samples, rules)
    version = f"{DEFAULT_PREFIX}-{digest[:10]}"
    with _lock:
        for (v, _), m in _cache.items():
            if v == version:
                return m
    model = train(samples, Router(rules), version=version, meta={"data": digest})
    with _lock:
        _cache[(version, "")] = model
    return model


def live_model(ledger: Ledger, rules: RoutingRules) -> TextModel:
    """The live model of the records; with none (or an unreadable file), the shipped default.

    The default is recorded as the first live version, so ``sop route`` and the records name it.
    """
    row = live_record(ledger)
    if row is not None:
        try:
            return load_recorded(row)
        except (OSError, ValueError, KeyError) as exc:
            log.error("Model %s tidak bisa dipakai (%s); memakai model bawaan", row.version, exc)
            return default_model(rules)
    model = default_model(rules)
    try:
        record_model(ledger, model, status=STATUS_LIVE, note="model bawaan dari data berlabel repositori")
    except IntegrityError:  # another process recorded it first
        pass
    return model


def live_router(ledger: Ledger, rules: RoutingRules) -> LearnedRouter:
    """Rules + the live model; the rules alone if no model can be had (monitoring never stops)."""
    try:
        return LearnedRouter(rules, live_model(ledger, rules))
    except Exception:  # a model problem must not stop step 7: the rules still route
        log.exception("Model pengarahan tidak tersedia; pesan diarahkan dengan aturan saja")
        return LearnedRouter(rules, None)


@dataclass(frozen=True)
class ModelRow:
    version: str
    status: str
    trained_at: datetime
    examples: int
    corrections: int
    metrics: dict[str, Any] | None
    note: str | None


def history(ledger: Ledger) -> Sequence[ModelRow]:
    return [
        ModelRow(m.version, m.status, m.trained_at, m.examples, m.corrections, m.metrics, m.note)
        for m in models(ledger)
    ]
