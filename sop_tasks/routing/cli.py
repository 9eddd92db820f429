"""``sop route`` and ``sop spam``: how a message is routed and why; spam review (SOP step 7)."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from sop_tasks.errors import ConfigError
from sop_tasks.routing.router import RouteDecision, Router
from sop_tasks.routing.rules import load_rules


def _office_bidang() -> dict[str, str]:
    from sop_tasks.config import load_config

    return {b.code: b.name for b in load_config().bidang}


def describe(decision: RouteDecision, names: Mapping[str, str] | None = None) -> str:
    """The decision and why, for a person (Indonesian)."""
    names = names or {}
    if decision.spam:
        head = f"SPAM — tidak diteruskan (skor {decision.score:.1f})"
    else:
        code = decision.bidang or ""
        head = f"Bidang tujuan: {names.get(code, code)} ({code}) — skor {decision.score:.1f}"
    return "\n".join([head, "Alasan:", *(f"  - {r}" for r in decision.reasons)])


def main_route(
    text: str | None,
    as_json: bool,
    stdin: TextIO,
    stdout: TextIO,
    rules_path: Path | None = None,
) -> int:
    """``sop route "teks"`` / ``sop route --json`` (one message per line on stdin).

    Returns 0 when done, 2 on a configuration or usage problem (message on stderr).
    """
    try:
        names = _office_bidang()
        router = Router(load_rules(rules_path, bidang_codes=names))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if text is not None:
        decision = router.route(text)
        if as_json:
            stdout.write(json.dumps(decision.to_json(), ensure_ascii=False) + "\n")
        else:
            stdout.write(describe(decision, names) + "\n")
        return 0
    if not as_json:
        print(
            'Berikan teks pesan, misalnya: sop route "jam buka perpus?", '
            "atau pakai --json untuk membaca satu pesan per baris dari stdin.",
            file=sys.stderr,
        )
        return 2
    for line in stdin:
        message = line.rstrip("\r\n")
        out = {"text": message, **router.route(message).to_json()}
        stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    return 0
