"""The rules of ``config/routing.yaml``: schema, validation and compilation (SOP step 7).

Spam patterns are regular expressions written by office staff and run on citizens' text, so they
must run in linear time whatever the text: each one is compiled with RE2 (no backtracking), and
:func:`pattern_problem` refuses — in ``sop check-config`` and whenever the rules load — patterns
RE2 cannot run (look-around, back-references), nested repetition such as ``^(\\w+\\s?)*!`` (which
a backtracking engine runs for seconds on one 26-letter word) and very long patterns.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import re2
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sop_tasks.config import config_dir, explain, read_yaml_mapping
from sop_tasks.errors import ConfigError
from sop_tasks.routing.normalize import Normalizer

RULES_FILE = "routing.yaml"
MAX_PATTERN = 300


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _weights(v: Any) -> Any:
    """YAML may read keys like ``88`` or ``4d`` as numbers: every key is text here."""
    if isinstance(v, dict):
        return {str(k): w for k, w in v.items()}
    return v


def _check_weights(v: dict[str, float]) -> dict[str, float]:
    for key, w in v.items():
        if not math.isfinite(w) or w == 0:
            raise ValueError(f"bobot '{key}' harus angka bukan nol (negatif = mengurangi skor)")
        if not key.strip():
            raise ValueError("kata/frasa kosong; hapus baris itu")
    return v


class BidangRuleSpec(_Spec):
    keywords: dict[str, float] = {}
    exact_words: dict[str, float] = {}
    phrases: dict[str, float] = {}

    _keys = field_validator("keywords", "exact_words", "phrases", mode="before")(_weights)
    _vals = field_validator("keywords", "exact_words", "phrases")(_check_weights)


class SpamCategorySpec(_Spec):
    label: str = Field(min_length=1)
    threshold: float = Field(gt=0)
    url_weight: float = 0.0
    keywords: dict[str, float] = {}
    phrases: dict[str, float] = {}
    patterns: dict[str, float] = {}
    emoji: dict[str, float] = {}

    _keys = field_validator("keywords", "phrases", "patterns", "emoji", mode="before")(_weights)
    _vals = field_validator("keywords", "phrases", "patterns", "emoji")(_check_weights)

    @field_validator("patterns")
    @classmethod
    def _regex(cls, v: dict[str, float]) -> dict[str, float]:
        for pattern in v:
            problem = pattern_problem(pattern)
            if problem:
                raise ValueError(problem)
        return v


class ModelSpec(_Spec):
    """How the learned model and the rules are combined (``model:`` in routing.yaml)."""

    # The model's probability of spam (all categories together) from which a message is spam.
    spam_probability: float = Field(default=0.4, gt=0, lt=1)
    # A bidang score of the rules from which the rules decide the bidang (explicit office words).
    rules_decide_at: float = Field(default=6.0, gt=0)


class RoutingSpec(_Spec):
    default: str = Field(pattern=r"^[a-z0-9_]+$")
    min_score: float = Field(ge=0)
    model: ModelSpec = ModelSpec()
    slang: dict[str, str] = {}
    bidang: dict[str, BidangRuleSpec] = Field(min_length=1)
    spam: dict[str, SpamCategorySpec] = {}

    @field_validator("bidang")
    @classmethod
    def _codes(cls, v: dict[str, BidangRuleSpec]) -> dict[str, BidangRuleSpec]:
        for code in v:
            if not re.fullmatch(r"[a-z0-9_]+", code):
                raise ValueError(f"kode bidang '{code}' tidak sah: pakai huruf kecil, angka dan '_'")
        return v

    @field_validator("slang")
    @classmethod
    def _slang(cls, v: dict[str, str]) -> dict[str, str]:
        for key, value in v.items():
            if not re.fullmatch(r"[a-z0-9]+", key) or not value.strip():
                raise ValueError(
                    f"singkatan '{key}': tulis satu kata huruf kecil dengan kepanjangan tidak kosong"
                )
        return v


@dataclass(frozen=True)
class SpamRule:
    name: str
    label: str
    threshold: float
    url_weight: float
    keywords: Mapping[str, float]
    phrases: tuple[tuple[tuple[str, ...], str, float], ...]  # (tokens, as written, weight)
    patterns: tuple[tuple[Any, str, float], ...]  # (RE2 pattern, as written, weight)
    emoji: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class RoutingRules:
    """The compiled, validated rules of ``routing.yaml``."""

    source: Path
    default: str
    min_score: float
    bidang: tuple[str, ...]
    slang: Mapping[str, str]
    keywords: Mapping[str, tuple[tuple[str, float], ...]]  # stem → ((bidang, weight), …)
    exact_words: Mapping[str, tuple[tuple[str, float], ...]]  # unstemmed word → …
    phrases: Mapping[str, tuple[tuple[tuple[str, ...], str, str, float], ...]]  # first stem → …
    spam: tuple[SpamRule, ...]
    model: ModelSpec
    vocabulary: frozenset[str]
    spam_vocabulary: frozenset[str]


def load_rules(path: Path | None = None, bidang_codes: Iterable[str] | None = None) -> RoutingRules:
    """Load and validate ``routing.yaml`` (default: ``config_dir() / "routing.yaml"``).

    With ``bidang_codes`` (e.g. the codes of ``office.yaml``) every rule's bidang and the default
    must be one of them. Problems raise :class:`ConfigError`, one line per problem.
    """
    file = Path(path).resolve() if path else config_dir() / RULES_FILE
    raw = read_yaml_mapping(file)
    try:
        spec = RoutingSpec(**raw)
    except ValidationError as exc:
        raise ConfigError(explain(file, exc, {"greater_than_equal": "tidak boleh negatif"})) from None
    return _compile(file, spec, None if bidang_codes is None else list(bidang_codes))


def _compile(file: Path, spec: RoutingSpec, codes: list[str] | None) -> RoutingRules:
    problems: list[str] = []

    def problem(key: str, what: str) -> None:
        problems.append(f"{file}: kunci '{key}': {what}")

    if codes is not None:
        allowed = ", ".join(codes)
        for code in spec.bidang:
            if code not in codes:
                problem(
                    f"bidang.{code}",
                    f"kode bidang '{code}' tidak ada di office.yaml (yang ada: {allowed}); "
                    "perbaiki ejaannya atau tambahkan bidang itu di office.yaml",
                )
        if spec.default not in codes:
            problem(
                "default", f"bidang '{spec.default}' tidak ada di office.yaml; pilih salah satu: {allowed}"
            )
    if spec.default not in spec.bidang:
        problem(
            "default",
            f"bidang '{spec.default}' tidak ada di bawah 'bidang'; tambahkan '{spec.default}: {{}}' "
            f"atau pilih salah satu: {', '.join(spec.bidang)}",
        )

    base = Normalizer(slang=spec.slang)
    keywords: dict[str, list[tuple[str, float]]] = {}
    exact: dict[str, list[tuple[str, float]]] = {}
    phrases: dict[str, list[tuple[tuple[str, ...], str, str, float]]] = {}
    vocabulary: set[str] = set()
    for code, rule in spec.bidang.items():
        for kw, w in rule.keywords.items():
            a = base.analyze(kw)
            if len(a.tokens) != 1:
                problem(f"bidang.{code}.keywords.{kw}", _one_word(a.tokens))
                continue
            keywords.setdefault(a.tokens[0], []).append((code, w))
            vocabulary.update(a.words)
        for kw, w in rule.exact_words.items():
            a = base.analyze(kw)
            if len(a.words) != 1:
                problem(f"bidang.{code}.exact_words.{kw}", _one_word(a.words))
                continue
            exact.setdefault(a.words[0], []).append((code, w))
            vocabulary.update(a.words)
        for ph, w in rule.phrases.items():
            a = base.analyze(ph)
            if len(a.tokens) < 2:
                problem(
                    f"bidang.{code}.phrases.{ph}", "frasa harus lebih dari satu kata; pindahkan ke 'keywords'"
                )
                continue
            phrases.setdefault(a.tokens[0], []).append((a.tokens, ph, code, w))
            vocabulary.update(a.words)

    spam_rules: list[SpamRule] = []
    spam_vocab: set[str] = set()
    for name, cat in spec.spam.items():
        kws: dict[str, float] = {}
        for kw, w in cat.keywords.items():
            a = base.analyze(kw)
            if len(a.spam_seq) != 1:
                problem(f"spam.{name}.keywords.{kw}", _one_word(a.spam_seq))
                continue
            kws[a.spam_seq[0]] = w
            if w > 0:
                spam_vocab.add(a.spam_seq[0])
        phs = []
        for ph, w in cat.phrases.items():
            a = base.analyze(ph)
            if len(a.spam_seq) < 2:
                problem(
                    f"spam.{name}.phrases.{ph}", "frasa harus lebih dari satu kata; pindahkan ke 'keywords'"
                )
                continue
            phs.append((a.spam_seq, ph, w))
            if w > 0:
                spam_vocab.update(x for x in a.spam_seq if not x.isdigit())
        spam_rules.append(
            SpamRule(
                name=name,
                label=cat.label,
                threshold=cat.threshold,
                url_weight=cat.url_weight,
                keywords=kws,
                phrases=tuple(phs),
                patterns=tuple((re2.compile(p.encode()), p, w) for p, w in cat.patterns.items()),
                emoji=tuple(cat.emoji.items()),
            )
        )
    if problems:
        raise ConfigError(problems)
    return RoutingRules(
        source=file,
        default=spec.default,
        min_score=spec.min_score,
        bidang=tuple(spec.bidang),
        slang=dict(spec.slang),
        keywords={k: tuple(v) for k, v in keywords.items()},
        exact_words={k: tuple(v) for k, v in exact.items()},
        phrases={k: tuple(v) for k, v in phrases.items()},
        spam=tuple(spam_rules),
        model=spec.model,
        vocabulary=frozenset(vocabulary),
        spam_vocabulary=frozenset(spam_vocab),
    )


def _one_word(tokens: tuple[str, ...]) -> str:
    if not tokens:
        return "kosong setelah dinormalisasi; tulis satu kata biasa"
    return f"menjadi {len(tokens)} kata ({' '.join(tokens)}); pindahkan ke 'phrases'"


# --------------------------------------------------------------------------------------------
# Pattern safety
# --------------------------------------------------------------------------------------------
def _repeat_nodes(parsed: Any) -> Iterable[tuple[Any, Any]]:
    """Every (op, argument) in a parsed regex, recursively."""
    from re import _constants as c  # type: ignore[attr-defined]

    for op, arg in parsed:
        yield op, arg
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            yield from _repeat_nodes(arg[2])
        elif op is c.SUBPATTERN:
            yield from _repeat_nodes(arg[3])
        elif op is c.BRANCH:
            for alt in arg[1]:
                yield from _repeat_nodes(alt)
        elif op in (c.ASSERT, c.ASSERT_NOT):
            yield from _repeat_nodes(arg[1])


def _nested_repeat(parsed: Any) -> bool:
    """A repetition inside an unbounded (or > 50) repetition: ``(a+)*``, ``(\\w+\\s?)+``."""
    from re import _constants as c  # type: ignore[attr-defined]

    reps = (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT)
    for op, arg in _repeat_nodes(parsed):
        if op in reps and arg[1] > 50 and any(o in reps and a[1] > 1 for o, a in _repeat_nodes(arg[2])):
            return True
    return False


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` may not run on citizens' text (Indonesian), or None when it is safe."""
    from re import _parser  # type: ignore[attr-defined]

    if len(pattern) > MAX_PATTERN:
        return (
            f"pola terlalu panjang ({len(pattern)} karakter, paling banyak {MAX_PATTERN}); "
            "pecah menjadi beberapa pola"
        )
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"pola '{pattern}' bukan regex yang sah ({exc}); perbaiki polanya"
    parsed = _parser.parse(pattern)
    from re import _constants as c  # type: ignore[attr-defined]

    backtracking_only = (c.ASSERT, c.ASSERT_NOT, c.GROUPREF, c.GROUPREF_EXISTS)
    try:
        if any(op in backtracking_only for op, _ in _repeat_nodes(parsed)):
            raise re2.error("look-around or back-reference")
        re2.compile(pattern)
    except re2.error:
        return (
            f"pola '{pattern}' memakai fitur yang tidak bisa dijalankan dalam waktu linear "
            "(look-around seperti (?=…)/(?<!…) atau rujukan balik \\1); tulis tanpa fitur itu"
        )
    if _nested_repeat(parsed):
        return (
            f"pola '{pattern}' tidak aman: pengulangan di dalam pengulangan (mis. (\\w+\\s?)* atau (a+)+) "
            "bisa membuat satu pesan diperiksa berdetik-detik; tulis tanpa pengulangan bersarang, "
            "mis. \\w+(\\s\\w+){0,5}"
        )
    return None
