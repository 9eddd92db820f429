"""The rules router: spam check first, then the highest-scoring bidang (SOP step 7).

Reads the compiled rules of ``config/routing.yaml``; every decision carries its reasons in
Indonesian. :class:`sop_tasks.routing.model.LearnedRouter` combines it with the learned model.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import re2

from sop_tasks.routing.normalize import Analysis, Normalizer
from sop_tasks.routing.rules import RoutingRules, SpamRule


@dataclass(frozen=True)
class RuleView:
    """What the rules see in one message (features for the model, and ``sop route --explain``)."""

    analysis: Analysis
    decision: RouteDecision  # the rules' own decision
    routed: RouteDecision  # the rules' bidang, as if the message were not spam
    bidang_scores: dict[str, float]
    spam_ratios: dict[str, float]  # spam category → score / threshold (≥ 1: spam by the rules)


@dataclass(frozen=True)
class RouteDecision:
    bidang: str | None  # bidang code from the config; None only when spam
    spam: bool
    score: float
    reasons: tuple[str, ...]  # human-readable, Indonesian
    kategori: str | None = None  # spam category (a key under 'spam' in routing.yaml), when spam
    model: str | None = None  # version of the learned model that took part, if any
    features: tuple[tuple[str, float], ...] = field(default=(), compare=False)  # model's top features

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "bidang": self.bidang,
            "spam": self.spam,
            "score": self.score,
            "reasons": list(self.reasons),
        }
        if self.spam:
            out["kategori"] = self.kategori
        if self.model is not None:
            out["model"] = self.model
        return out


# Memory RE2 may use for the set of spam patterns (its DFA is built lazily, so little is used): large
# enough that the set never runs out of memory and misses a pattern on a long message.
_PATTERN_SET_MEM = 64 << 20


def _w(weight: float) -> str:
    return f"{weight:+.1f}"


class Router:
    """Spam check first, then the highest-scoring bidang (default on a tie or a low score)."""

    def __init__(self, rules: RoutingRules) -> None:
        self.rules = rules
        self.normalizer = Normalizer(
            slang=rules.slang, vocabulary=rules.vocabulary, spam_vocabulary=rules.spam_vocabulary
        )
        # One index over every spam category, so a message is scanned once, not once per category.
        self._spam_words: dict[str, list[tuple[int, float]]] = {}
        self._spam_phrases: dict[str, list[tuple[int, tuple[str, ...], str, float]]] = {}
        for ci, cat in enumerate(rules.spam):
            for word, w in cat.keywords.items():
                self._spam_words.setdefault(word, []).append((ci, w))
            for tokens, written, w in cat.phrases:
                self._spam_phrases.setdefault(tokens[0], []).append((ci, tokens, written, w))
        # Every spam pattern in one RE2 set: one pass tells which patterns match at all, and only
        # those are searched again for the text they matched (the same answer as searching each).
        self._pattern_ids: list[tuple[int, ...]] = []
        self._pattern_set: Any = None
        written_all = [written for cat in rules.spam for _p, written, _w in cat.patterns]
        if written_all:
            options = re2.Options()
            options.max_mem = _PATTERN_SET_MEM
            self._pattern_set = re2.Set.SearchSet(options)
            for written in written_all:
                self._pattern_set.Add(written.encode())
            self._pattern_set.Compile()
        # Emoji are outside ASCII (unless an office lists something else): skip them on ASCII text.
        self._ascii_emoji = any(e.isascii() for cat in rules.spam for e, _w in cat.emoji)
        k = 0
        self._pattern_cat: list[int] = []  # pattern id → its category
        for ci, cat in enumerate(rules.spam):
            self._pattern_ids.append(tuple(range(k, k + len(cat.patterns))))
            self._pattern_cat += [ci] * len(cat.patterns)
            k += len(cat.patterns)
        self._emoji_cats = frozenset(ci for ci, cat in enumerate(rules.spam) if cat.emoji)

    def route(self, text: str) -> RouteDecision:
        a = self.normalizer.analyze(text)
        spam, hints, _ = self._spam(text, a)
        if spam is not None:
            return spam
        return self._bidang(a, hints)[0]

    def inspect(self, text: str) -> RuleView:
        """Everything the rules see in ``text``, also what a spam decision would not show."""
        a = self.normalizer.analyze(text)
        spam, hints, ratios = self._spam(text, a)
        routed, scores = self._bidang(a, hints)
        return RuleView(a, spam or routed, routed, scores, ratios)

    def spam_or_view(self, text: str) -> RouteDecision | RuleView:
        """The rules' spam decision when they see spam, else everything they see (as :meth:`inspect`);
        spares the bidang scoring of a message the rules already call spam."""
        a = self.normalizer.analyze(text)
        spam, hints, ratios = self._spam(text, a)
        if spam is not None:
            return spam
        routed, scores = self._bidang(a, hints)
        return RuleView(a, routed, routed, scores, ratios)

    def route_many(self, texts: Iterable[str]) -> list[RouteDecision]:
        return [self.route(t) for t in texts]

    # -- spam -----------------------------------------------------------------------------
    def _spam(self, text: str, a: Analysis) -> tuple[RouteDecision | None, tuple[str, ...], dict[str, float]]:
        """The spam decision (None: not spam), if not spam notes on weak spam signals, and each
        category's score as a fraction of its threshold."""
        cats = self.rules.spam
        # Only the categories with a signal are scored (the others score 0: not spam, no hint).
        scores: dict[int, float] = {}
        hits: dict[int, list[str]] = {}
        spam_words = self._spam_words
        for word in filter(spam_words.__contains__, a.spam_set):  # in the set's order, hits only
            for ci, w in spam_words[word]:
                scores[ci] = scores.get(ci, 0.0) + w
                hits.setdefault(ci, []).append(f"'{word}'" if w > 0 else f"'{word}' {_w(w)}")
        seq = a.spam_seq
        seen: set[tuple[int, tuple[str, ...]]] = set()
        phrases = self._spam_phrases
        for i, tok in enumerate(seq if not phrases.keys().isdisjoint(seq) else ()):  # a phrase can start
            for ci, tokens, written, w in phrases.get(tok, ()):
                if (ci, tokens) not in seen and seq[i : i + len(tokens)] == tokens:
                    seen.add((ci, tokens))
                    scores[ci] = scores.get(ci, 0.0) + w
                    hits.setdefault(ci, []).append(f"'{written}'" if w > 0 else f"'{written}' {_w(w)}")
        joined = b""
        matched: Collection[int] = ()
        if self._pattern_set is not None:
            joined = " ".join(seq).encode()  # ASCII words: RE2 on bytes skips offset mapping
            matched = self._pattern_set.Match(joined) or ()
        emoji_possible = self._ascii_emoji or not text.isascii()
        candidates = set(scores)
        if matched:
            candidates.update(self._pattern_cat[k] for k in matched)
        if emoji_possible:
            candidates |= self._emoji_cats
        hints: list[str] = []
        ratios: dict[str, float] = {}
        best: tuple[float, SpamRule, list[str]] | None = None
        for ci in sorted(candidates):  # in the order of the categories, as each were scored
            cat = cats[ci]
            score = scores.get(ci, 0.0)
            found_hits = hits.setdefault(ci, [])
            if matched:
                for k, (pattern, _written, w) in zip(self._pattern_ids[ci], cat.patterns, strict=True):
                    if k in matched:
                        m = pattern.search(joined)
                        if m:
                            score += w
                            found_hits.append(f"'{m.group(0).decode()}'")
            if emoji_possible:
                for emoji, w in cat.emoji:
                    if emoji in text:
                        score += w
                        found_hits.append(emoji)
            if score > 0 and a.urls and cat.url_weight:
                score += cat.url_weight
                found_hits.append("tautan")
            if score <= 0:
                continue
            ratios[cat.name] = score / cat.threshold
            if score < cat.threshold:
                hints.append(
                    f"ada tanda {cat.label} ({', '.join(sorted(found_hits))}) tetapi skor {score:.1f} "
                    f"< ambang {cat.threshold:.1f}: bukan spam"
                )
            elif best is None or score > best[0]:
                best = (score, cat, found_hits)
        if best is None:
            return None, tuple(hints), ratios
        score, cat, found_hits = best
        decision = RouteDecision(
            bidang=None,
            spam=True,
            score=round(score, 2),
            reasons=(
                f"spam: {cat.label} ({', '.join(sorted(found_hits))})",
                f"skor spam {score:.1f} ≥ ambang {cat.threshold:.1f}: tidak diteruskan ke bidang mana pun",
            ),
            kategori=cat.name,
        )
        return decision, (), ratios

    # -- bidang ---------------------------------------------------------------------------
    def _bidang(self, a: Analysis, hints: tuple[str, ...]) -> tuple[RouteDecision, dict[str, float]]:
        rules = self.rules
        scores: dict[str, float] = {}
        why: dict[str, list[str]] = {}

        def add(code: str, w: float, reason: str) -> None:
            scores[code] = scores.get(code, 0.0) + w
            why.setdefault(code, []).append(f"{reason} ({_w(w)}) → {code}")

        keywords = rules.keywords
        for stem_ in dict.fromkeys(filter(keywords.__contains__, a.tokens)):  # in text order, each once
            for code, w in keywords[stem_]:
                add(code, w, f"kata '{stem_}'")
        if rules.exact_words:
            exact = rules.exact_words
            for word in dict.fromkeys(filter(exact.__contains__, a.words)):
                for code, w in exact[word]:
                    add(code, w, f"kata '{word}'")
        toks = a.tokens
        seen: set[tuple[tuple[str, ...], str]] = set()
        phrases = rules.phrases
        for i, tok in enumerate(toks if not phrases.keys().isdisjoint(toks) else ()):  # a phrase can start
            for tokens, written, code, w in phrases.get(tok, ()):
                if (tokens, code) not in seen and toks[i : i + len(tokens)] == tokens:
                    seen.add((tokens, code))
                    add(code, w, f"frasa '{written}'")

        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        reasons: list[str] = []
        for code, _ in ranked:
            reasons += why[code]
        reasons += hints
        default = rules.default
        if not ranked or ranked[0][1] <= 0:
            reasons.append(f"tidak ada kata kunci bidang yang cocok → bawaan: {default}")
            return RouteDecision(default, False, 0.0, tuple(reasons)), scores
        top_code, top = ranked[0]
        if top < rules.min_score:
            reasons.append(
                f"skor tertinggi {top:.1f} ({top_code}) di bawah minimum {rules.min_score:.1f} "
                f"→ bawaan: {default}"
            )
            return RouteDecision(default, False, round(top, 2), tuple(reasons)), scores
        if len(ranked) > 1 and math.isclose(ranked[1][1], top):
            tied = [c for c, s in ranked if math.isclose(s, top)]
            reasons.append(f"skor seri {top:.1f} antara {', '.join(tied)} → bawaan: {default}")
            return RouteDecision(default, False, round(top, 2), tuple(reasons)), scores
        others = ", ".join(f"{c} {s:.1f}" for c, s in ranked[1:])
        reasons.append(f"skor tertinggi: {top_code} {top:.1f}" + (f" (lainnya: {others})" if others else ""))
        return RouteDecision(top_code, False, round(top, 2), tuple(reasons)), scores
