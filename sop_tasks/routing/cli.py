"""``sop route`` and ``sop spam``: how a message is routed and why; spam review (SOP step 7)."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TextIO

from sop_tasks.errors import ConfigError
from sop_tasks.routing.router import RouteDecision, Router
from sop_tasks.routing.rules import RoutingRules, load_rules

LIVE: Literal["live"] = "live"


def _office_bidang() -> dict[str, str]:
    from sop_tasks.config import load_config

    return {b.code: b.name for b in load_config().bidang}


def _ledger(url: str | None) -> Any:
    from sop_tasks.cli import ledger_url
    from sop_tasks.records.ledger import Ledger

    return Ledger(ledger_url(url))


def _plain(text: str, limit: int = 160) -> str:
    from sop_tasks.render import plain_line

    return plain_line(text, limit)


def describe(decision: RouteDecision, names: Mapping[str, str] | None = None, explain: bool = False) -> str:
    """The decision and why, for a person (Indonesian)."""
    from sop_tasks.routing.model import feature_label

    names = names or {}
    if decision.spam:
        head = f"SPAM — tidak diteruskan (skor {decision.score:.1f})"
        if decision.score < 1:
            head = f"SPAM — tidak diteruskan (peluang {decision.score:.0%})"
    else:
        code = decision.bidang or ""
        head = f"Bidang tujuan: {names.get(code, code)} ({code}) — skor {decision.score:.1f}"
        if decision.model is not None and decision.score <= 1:
            head = f"Bidang tujuan: {names.get(code, code)} ({code}) — keyakinan {decision.score:.0%}"
    lines = [head]
    if decision.model is not None:
        lines.append(f"Model: versi {decision.model} (bersama aturan config/routing.yaml)")
    lines += ["Alasan:", *(f"  - {r}" for r in decision.reasons)]
    if explain:
        if decision.model is None:
            lines.append("Fitur model: tidak ada model yang dipakai (hanya aturan)")
        elif decision.features:
            lines.append("Fitur model yang paling menentukan:")
            lines += [f"  - {feature_label(f)} ({w:+.2f})" for f, w in decision.features]
        else:
            lines.append("Fitur model: tidak ada fitur yang mendorong keputusan ini")
    return "\n".join(lines)


def _router(rules: RoutingRules, model: Any, db: str | None) -> Any:
    """Rules alone (``model=None``), a given model, or the live model of the records."""
    from sop_tasks.routing.model import LearnedRouter

    if model is None:
        return Router(rules)
    if model == LIVE:
        from sop_tasks.routing.store import live_router

        return live_router(_ledger(db), rules)
    return LearnedRouter(rules, model)


def main_route(
    text: str | None,
    as_json: bool,
    stdin: TextIO,
    stdout: TextIO,
    rules_path: Path | None = None,
    *,
    explain: bool = False,
    model: Any = LIVE,
    db: str | None = None,
) -> int:
    """``sop route "teks"`` / ``sop route --json`` (one message per line on stdin).

    ``model``: :data:`LIVE` (the live model of the records, or the shipped default), a
    :class:`~sop_tasks.routing.model.TextModel`, or None for the rules alone.
    Returns 0 when done, 2 on a configuration or usage problem (message on stderr).
    """
    try:
        names = _office_bidang()
        rules = load_rules(rules_path, bidang_codes=names)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if text is None and not as_json:
        print(
            'Berikan teks pesan, misalnya: sop route "jam buka perpus?", '
            "atau pakai --json untuk membaca satu pesan per baris dari stdin.",
            file=sys.stderr,
        )
        return 2
    router = _router(rules, model, db)

    def route(message: str) -> RouteDecision:
        if explain and hasattr(router, "model"):
            return router.route(message, explain=True)
        return router.route(message)

    if text is not None:
        decision = route(text)
        if as_json:
            out = decision.to_json()
            if explain:
                out["fitur"] = [[f, w] for f, w in decision.features]
            stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        else:
            stdout.write(describe(decision, names, explain) + "\n")
        return 0
    for line in stdin:
        message = line.rstrip("\r\n")
        stdout.write(json.dumps({"text": message, **route(message).to_json()}, ensure_ascii=False) + "\n")
    return 0


def main_evaluate(
    stdout: TextIO, rules_path: Path | None = None, *, model: Any = LIVE, db: str | None = None
) -> int:
    """``sop route --evaluasi``: the rules alone and rules + model on the frozen test part."""
    from sop_tasks.routing.evaluation import FROZEN_FILE, evaluate, frozen_samples

    try:
        rules = load_rules(rules_path, bidang_codes=_office_bidang())
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    samples = frozen_samples()
    stdout.write(f"Bagian uji beku: {FROZEN_FILE} ({len(samples)} pesan; tidak pernah dipakai melatih)\n\n")
    stdout.write("Hanya aturan (config/routing.yaml):\n")
    stdout.write(evaluate(Router(rules), samples).table() + "\n\n")
    if model is not None:
        router = _router(rules, model, db)
        report = evaluate(router, samples)
        stdout.write(f"Aturan + model versi {router.version}:\n{report.table()}\n")
        problems = report.bar_problems()
        stdout.write(
            ("Di bawah batas: " + "; ".join(problems) if problems else "Semua batas terpenuhi")
            + " (akurasi bidang ≥ 95 %, recall spam ≥ 95 %, spam salah tandai ≤ 1 %)\n"
        )
    return 0


def main_history(stdout: TextIO, db: str | None = None) -> int:
    """``sop route --riwayat``: every model version, its status and its scores."""
    from sop_tasks.records.ledger import to_wib
    from sop_tasks.routing.store import history

    rows = history(_ledger(db))
    if not rows:
        stdout.write("Belum ada model yang dicatat; model bawaan dilatih saat pertama dipakai.\n")
    words = {"live": "DIPAKAI", "replaced": "diganti", "rejected": "ditolak"}
    for r in rows:
        m = (r.metrics or {}).get("uji_beku") or {}
        score = (
            f"bidang {m['bidang_accuracy']:.1%}, recall spam {m['spam_recall']:.1%}, "
            f"salah tandai {m['false_spam']}"
            if m
            else "belum dinilai"
        )
        when = to_wib(r.trained_at)
        stdout.write(
            f"{r.version:<32} {words.get(r.status, r.status):<8} {when:%d-%m-%Y %H:%M} WIB  "
            f"{r.examples} contoh ({r.corrections} koreksi)  {score}"
            + (f"  — {r.note}" if r.note else "")
            + "\n"
        )
    return 0


def main_spam_list(
    stdout: TextIO, *, db: str | None = None, as_json: bool = False, everything: bool = False
) -> int:
    """``sop spam daftar``: what was flagged as spam, with the reason."""
    from sop_tasks.records.ledger import to_wib
    from sop_tasks.routing.review import flagged

    rows = flagged(_ledger(db), include_restored=everything)
    if as_json:
        for f in rows:
            i = f.item
            stdout.write(
                json.dumps(
                    {
                        "id": i.id,
                        "kanal": i.channel,
                        "waktu": str(to_wib(i.created_at)),
                        "dari": i.author,
                        "teks": i.text,
                        "alasan": list(i.reasons or []),
                        "dipulihkan": f.restored is not None,
                        "bidang": i.bidang,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
        return 0
    if not rows:
        stdout.write("Tidak ada informasi masuk yang ditandai spam.\n")
        return 0
    for f in rows:
        i = f.item
        when = to_wib(i.created_at)
        state = f"DIPULIHKAN → {i.bidang} oleh {f.restored.actor}" if f.restored else "SPAM"
        reason = (i.reasons or ["(tanpa alasan)"])[0]
        stdout.write(
            f"#{i.id} [{state}] {i.channel} · {when:%d-%m-%Y %H:%M} WIB"
            f" · dari {_plain(i.author or '-', 40)}\n"
            f"    pesan : {_plain(i.text)}\n"
            f"    alasan: {_plain(reason, 200)}\n"
        )
    if not everything:
        stdout.write("Pulihkan yang salah tandai: sop spam pulihkan <nomor> --bidang <kode> --oleh <nama>\n")
    return 0


def main_spam_restore(
    item_id: int, bidang: str, actor: str, stdout: TextIO, *, db: str | None = None, codes: Sequence[str] = ()
) -> int:
    """``sop spam pulihkan``: route a wrongly flagged item to a bidang (and learn from it)."""
    from sop_tasks.routing.review import restore

    names = _office_bidang()
    item = restore(_ledger(db), item_id, bidang, actor, list(codes or names))
    stdout.write(
        f"Informasi masuk #{item.id} dipulihkan: bukan spam, untuk {names.get(bidang, bidang)}.\n"
        "Diteruskan ke bidang itu (ringkasan e-mail dan tindak lanjut sop_follow_up) pada sapuan "
        "pemantauan berikutnya; dicatat sebagai koreksi untuk latihan model berikutnya.\n"
    )
    return 0
