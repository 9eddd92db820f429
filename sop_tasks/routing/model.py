"""The learned router beside the rules (SOP step 7).

A linear model (logistic regression, scikit-learn) over three groups of features of a message:

- ``k:`` word unigrams and bigrams of the normalised, stemmed words (slang expanded);
- ``h:`` character 3–5-grams of the normalised words (typos, affixes, leetspeak, glued words);
- ``a:`` what the rules of ``routing.yaml`` see: each bidang's score and each spam category's
  score as a fraction of its threshold — so the model learns how far to trust the rules.

Classes are the bidang codes and ``spam:<kategori>``; the spam probability is the sum over spam
categories. Training uses scikit-learn; routing uses the exported arrays directly (a dictionary
look-up per feature and one small matrix product), so it is fast per message and the stored model
is plain arrays (``.npz``, loaded with ``allow_pickle=False``: a model file cannot run code).

:class:`LearnedRouter` combines the two: the rules keep their say for spam they recognise (online
gambling, loans …) and for explicit office words (a bidang score of at least
``model.rules_decide_at``); otherwise the model decides.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from sop_tasks.routing.evaluation import SPAM, Sample
from sop_tasks.routing.router import RouteDecision, Router, RuleView
from sop_tasks.routing.rules import RoutingRules

FORMAT = 2  # 2: feature groups weighted per unit (see _block)
CHAR_MIN_DF = 2  # a character n-gram seen in one message only is noise
RULE_CAP = 12.0
SPAM_CLASS = f"{SPAM}:semua"
OTHER_SPAM = "lainnya"  # spam by the model with no category hint from the rules
DEFAULT_C = 8.0  # chosen by 5-fold cross-validation on the training part (4, 8, 16 tried)
CORRECTION_WEIGHT = 3.0  # a bidang's correction outweighs a written example
_PREFIX_NAMES = {"k": "kata", "h": "huruf", "a": "aturan"}


def _word_units(view: RuleView) -> list[str]:
    """Word unigrams and bigrams of the stemmed words, each occurrence one unit."""
    toks = [t for t in view.analysis.tokens if t]
    return ["k:" + t for t in toks] + [f"k:{a} {b}" for a, b in itertools.pairwise(toks)]


@lru_cache(maxsize=100_000)
def _char_features_of_word(word: str) -> tuple[str, ...]:
    """Character 3–5-grams of `` word `` (padded with a space each side), with repeats."""
    return tuple("h:" + gram for gram in _char_grams(word))


def _char_grams(word: str) -> list[str]:
    """The n-grams of :func:`_char_features_of_word`, without the ``h:`` prefix, in the same order."""
    padded = f" {word} "
    return [padded[i : i + n] for n in range(3, min(5, len(padded)) + 1) for i in range(len(padded) - n + 1)]


def _char_units(view: RuleView) -> list[str]:
    """The words whose character n-grams are features, each occurrence one unit."""
    return [w for w in view.analysis.words if not w.startswith("<")]


def _rule_features(view: RuleView) -> dict[str, float]:
    out = {f"a:{code}": min(score, RULE_CAP) / 6.0 for code, score in view.bidang_scores.items() if score > 0}
    out.update({f"a:spam:{cat}": min(ratio, 2.0) for cat, ratio in view.spam_ratios.items()})
    if view.analysis.urls:
        out["a:<url>"] = 1.0
    return out


# The weighting of a feature group, defined so that it decomposes over *units* (a word for the
# character n-grams, one unigram/bigram occurrence for the words): each unit adds IDF × count to
# its features, and the group is divided by the square root of the sum of the units' own squared
# norms. Routing then caches one small vector per unit (its weighted coefficients) and adds them
# up, which is exact and far faster than building the sparse row; training builds the same row.
def _unit_ids(unit: str, grams: bool, index: dict[str, int]) -> dict[int, int]:
    keys = _char_features_of_word(unit) if grams else (unit,)
    out: dict[int, int] = {}
    for key in keys:
        i = index.get(key)
        if i is not None:
            out[i] = out.get(i, 0) + 1
    return out


def _block(units: list[str], grams: bool, index: dict[str, int], idf: np.ndarray) -> dict[int, float]:
    """One feature group of one message as {feature index: value} (the training path)."""
    x: dict[int, float] = {}
    norm2 = 0.0
    for unit in units:
        for i, c in _unit_ids(unit, grams, index).items():
            v = float(idf[i]) * c
            x[i] = x.get(i, 0.0) + v
            norm2 += v * v
    if not norm2:
        return {}
    scale = 1.0 / math.sqrt(norm2)
    return {i: v * scale for i, v in x.items()}


def _document_counts(units: list[str], grams: bool) -> set[str]:
    keys: set[str] = set()
    for unit in units:
        keys.update(_char_features_of_word(unit) if grams else (unit,))
    return keys


_MISSING: Any = object()
_UNIT_CACHE = 200_000  # words whose n-gram rows are remembered (then the cache starts again)


@dataclass(frozen=True)
class TextModel:
    """A trained model: feature index, IDF, coefficients (features × classes), intercepts."""

    version: str
    classes: tuple[str, ...]
    features: tuple[str, ...]
    idf: np.ndarray
    coef: np.ndarray  # shape (n_features, n_classes)
    intercept: np.ndarray
    meta: dict[str, Any]

    def __post_init__(self) -> None:
        index = {f: i for i, f in enumerate(self.features)}
        n = len(self.classes)
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_zero", (0.0,) * (n + 1))
        object.__setattr__(self, "_chars", {})  # word → its row for the character n-grams
        object.__setattr__(self, "_grams", {})  # n-gram → (IDF, coefficients), or None: not a feature
        # Every word feature's row, computed once: (IDF × coefficient per class, IDF²) — what the
        # unit of one occurrence adds (see _block). Unigrams by stem, bigrams by their two stems.
        unigrams: dict[str, tuple[float, ...]] = {}
        bigrams: dict[str, dict[str, tuple[float, ...]]] = {}  # first stem → second stem → row
        words = [i for i, f in enumerate(self.features) if f.startswith("k:")]
        if words:
            idf = self.idf[words]
            rows = np.hstack([idf[:, None] * self.coef[words], (idf * idf)[:, None]])
            for i, row in zip(words, rows.tolist(), strict=True):
                first, _, second = self.features[i][2:].partition(" ")
                if second:
                    bigrams.setdefault(first, {})[second] = tuple(row)
                else:
                    unigrams[first] = tuple(row)
        object.__setattr__(self, "_unigrams", unigrams)
        object.__setattr__(self, "_bigrams", bigrams)
        # Rule features: bidang code / spam category → coefficient row.
        rule = {key: tuple(self.coef[i].tolist()) for key, i in index.items() if key.startswith("a:")}
        bidang_rows = {k[2:]: v for k, v in rule.items() if not k.startswith("a:spam:") and k != "a:<url>"}
        spam_rows = {k[7:]: v for k, v in rule.items() if k.startswith("a:spam:")}
        object.__setattr__(self, "_rule_rows", (bidang_rows, spam_rows, rule.get("a:<url>")))
        spam_cols = [i for i, c in enumerate(self.classes) if c.startswith(SPAM + ":")]
        object.__setattr__(self, "_spam_cols", tuple(spam_cols))

    @property
    def index(self) -> dict[str, int]:
        return self._index  # type: ignore[attr-defined]

    # -- features ---------------------------------------------------------------------------
    def _gram_row(self, gram: str) -> tuple[float, ...] | None:
        """(IDF × coefficient per class, IDF², IDF) of one character n-gram; None: not a feature."""
        i = self.index.get("h:" + gram)
        if i is None:
            return None
        idf = float(self.idf[i])
        return (*(idf * w for w in self.coef[i].tolist()), idf * idf, idf)

    def _char_row(self, word: str) -> tuple[float, ...]:
        """A word's row for the character n-grams: IDF × count × coefficients summed over its
        n-grams (in the order of the training path), followed by its squared norm."""
        grams: dict[str, tuple[float, ...] | None] = self._grams  # type: ignore[attr-defined]
        keys = _char_grams(word)
        n = len(self.classes)
        if len(grams) > _UNIT_CACHE:
            grams.clear()
        if len(set(keys)) == len(keys):  # the usual case: every n-gram once
            found = [grams.get(key, _MISSING) for key in keys]
            if _MISSING in found:
                for k, key in enumerate(keys):
                    if found[k] is _MISSING:
                        found[k] = grams[key] = self._gram_row(key)
            parts: list[tuple[float, ...]] = [p for p in found if p is not None]
        else:
            counts: dict[str, int] = {}
            for key in keys:
                counts[key] = counts.get(key, 0) + 1
            parts = []
            for key, c in counts.items():
                hit = grams.get(key, _MISSING)
                if hit is _MISSING:
                    hit = grams[key] = self._gram_row(key)
                if hit is None:
                    continue
                if c == 1:
                    parts.append(hit)
                else:  # repeated in the word: IDF × count, as the training path weights it
                    v = hit[n + 1] * c
                    w = self.coef[self.index["h:" + key]].tolist()
                    parts.append((*(v * x for x in w), v * v))
        if not parts:
            return self._zero  # type: ignore[attr-defined]
        return tuple(sum(col) for col in itertools.islice(zip(*parts, strict=False), n + 1))

    def _char_rows(self, words: list[str]) -> list[tuple[float, ...]]:
        """The rows of words for the character n-grams (cached per word)."""
        cache: dict[str, tuple[float, ...]] = self._chars  # type: ignore[attr-defined]
        get = cache.get
        rows = [get(w) for w in words]
        if None in rows:
            if len(cache) > _UNIT_CACHE:
                cache.clear()
            for k, w in enumerate(words):
                if rows[k] is None:
                    row = cache.get(w)
                    if row is None:
                        row = cache[w] = self._char_row(w)
                    rows[k] = row
        return rows  # type: ignore[return-value]

    def logits(self, view: RuleView) -> np.ndarray:
        """The linear scores of one message, the straightforward way: its feature row (exactly as
        training builds it) times the coefficients. Routing uses :meth:`_logits`, the same sum."""
        idx, vals = self.vector(view)
        return np.asarray(self.intercept + vals @ self.coef[idx])

    def _logits(self, view: RuleView) -> list[float]:
        """The linear scores of one message: per-unit rows added up, exactly the training weighting.

        Plain floats, added in the order the straightforward sum adds them (each group's units in
        message order, then the rule features): the same numbers, without an array per step."""
        out: list[float] = self.intercept.tolist()
        n = len(self.classes)
        toks = [t for t in view.analysis.tokens if t]
        # Units that are no feature add nothing (their row is zero): only the others are summed.
        uni = self._unigrams.get  # type: ignore[attr-defined]
        after = self._bigrams.get  # type: ignore[attr-defined]
        word_rows = [row for row in map(uni, toks) if row is not None]
        for first, second in itertools.pairwise(toks):
            nexts = after(first)
            if nexts is not None:
                row = nexts.get(second)
                if row is not None:
                    word_rows.append(row)
        for rows in (word_rows, self._char_rows(_char_units(view))):
            if rows:
                sums = list(map(sum, zip(*rows, strict=False)))
                if sums[n]:
                    norm = math.sqrt(sums[n])
                    out = [o + x / norm for o, x in zip(out, sums, strict=False)]
        # The rule features, in the order and with the values of _rule_features.
        bidang_rows, spam_rows, url_row = self._rule_rows  # type: ignore[attr-defined]
        for code, score in view.bidang_scores.items():
            row = bidang_rows.get(code)
            if row is not None and score > 0:
                value = min(score, RULE_CAP) / 6.0
                out = [o + value * c for o, c in zip(out, row, strict=True)]
        for cat, ratio in view.spam_ratios.items():
            row = spam_rows.get(cat)
            if row is not None:
                value = min(ratio, 2.0)
                out = [o + value * c for o, c in zip(out, row, strict=True)]
        if view.analysis.urls and url_row is not None:
            out = [o + 1.0 * c for o, c in zip(out, url_row, strict=True)]
        return out

    def vector(self, view: RuleView) -> tuple[np.ndarray, np.ndarray]:
        """Feature indices and values of one message (the training path; for explanations)."""
        row: dict[int, float] = {}
        row.update(_block(_word_units(view), False, self.index, self.idf))
        row.update(_block(_char_units(view), True, self.index, self.idf))
        for key, value in _rule_features(view).items():
            i = self.index.get(key)
            if i is not None:
                row[i] = value
        if not row:
            return np.zeros(0, dtype=np.intp), np.zeros(0)
        return np.fromiter(row.keys(), dtype=np.intp), np.fromiter(row.values(), dtype=np.float64)

    def probabilities(self, view: RuleView) -> np.ndarray:
        """Class probabilities of one message, the straightforward way (arrays, see :meth:`logits`)."""
        e = self.logits(view)
        e -= e.max()
        np.exp(e, out=e)
        e /= e.sum()
        return e

    def fast_probabilities(self, view: RuleView) -> list[float]:
        """The same probabilities as :meth:`probabilities` (to rounding in the last digits), in
        plain floats from cached per-unit rows: what routing uses, message after message."""
        out = self._logits(view)
        top = max(out)
        e = [math.exp(x - top) for x in out]
        total = sum(e)
        return [x / total for x in e]

    def spam_probability(self, probs: Sequence[float] | np.ndarray) -> float:
        return float(sum(probs[i] for i in self._spam_cols))  # type: ignore[attr-defined]

    def top_features(self, view: RuleView, label: str, n: int = 6) -> list[tuple[str, float]]:
        """The features that pushed ``label`` most (for ``--explain``); spam: every spam class."""
        idx, vals = self.vector(view)
        if not len(idx):
            return []
        if label == SPAM:
            cols = np.array(self._spam_cols, dtype=np.intp)  # type: ignore[attr-defined]
        else:
            cols = np.array([self.classes.index(label)])
        # Contribution to this class against the average of the others (softmax is shift-invariant).
        w = self.coef[idx]
        own = w[:, cols].mean(axis=1)
        rest = np.delete(w, cols, axis=1).mean(axis=1) if w.shape[1] > len(cols) else 0.0
        contrib = vals * (own - rest)
        order = np.argsort(-contrib)[:n]
        return [(self.features[int(idx[j])], round(float(contrib[j]), 3)) for j in order if contrib[j] > 0]

    # -- storage ----------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            classes=np.array(self.classes, dtype=np.str_),
            features=np.array(self.features, dtype=np.str_),
            idf=self.idf.astype(np.float32),
            coef=self.coef.astype(np.float32),
            intercept=self.intercept.astype(np.float64),
            meta=np.array(json.dumps({**self.meta, "version": self.version, "format": FORMAT})),
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TextModel:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta.get("format") != FORMAT:
                raise ValueError(f"format model {meta.get('format')} tidak dikenal (harus {FORMAT})")
            return cls(
                version=str(meta["version"]),
                classes=tuple(str(c) for c in z["classes"]),
                features=tuple(str(f) for f in z["features"]),
                idf=z["idf"].astype(np.float64),
                coef=z["coef"].astype(np.float64),
                intercept=z["intercept"].astype(np.float64),
                meta=meta,
            )

    def save(self, path: Path) -> str:
        """Write the model (atomically); returns the SHA-256 of the file, recorded with the version."""
        data = self.to_bytes()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        return hashlib.sha256(data).hexdigest()

    @classmethod
    def load(cls, path: Path, sha256: str | None = None) -> TextModel:
        data = path.read_bytes()
        if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
            raise ValueError(f"berkas model {path} tidak sama dengan yang dicatat (SHA-256 berbeda)")
        return cls.from_bytes(data)


def _class_of(s: Sample) -> str:
    """One spam class for every category (cross-validated: a class per category made short,
    feature-less messages look like spam); the category comes from the rules' hints."""
    return SPAM_CLASS if s.spam else s.label


def data_digest(samples: Iterable[Sample], rules: RoutingRules) -> str:
    """A digest of what a model is trained from: the examples and the rules file."""
    h = hashlib.sha256()
    for s in samples:
        h.update(json.dumps([s.text, s.label, s.weight], ensure_ascii=False).encode())
    h.update(rules.source.read_bytes() if rules.source.exists() else b"")
    h.update(str(FORMAT).encode())
    return h.hexdigest()


def train(
    samples: Sequence[Sample],
    router: Router,
    *,
    version: str,
    c: float = DEFAULT_C,
    meta: dict[str, Any] | None = None,
) -> TextModel:
    """Fit the model on ``samples`` (corrections carry their own weight)."""
    from scipy.sparse import csr_matrix
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    if len({s.label for s in samples}) < 2:
        raise ValueError("perlu contoh dari sedikitnya dua kelompok untuk melatih model")
    views = [router.inspect(s.text) for s in samples]
    word_units = [_word_units(v) for v in views]
    char_units = [_char_units(v) for v in views]
    df: dict[str, int] = {}
    for units, grams in [*((u, False) for u in word_units), *((u, True) for u in char_units)]:
        for key in _document_counts(units, grams):
            df[key] = df.get(key, 0) + 1
    n = len(samples)
    rule_keys = [f"a:{code}" for code in router.rules.bidang]
    rule_keys += [f"a:spam:{cat.name}" for cat in router.rules.spam] + ["a:<url>"]
    features = sorted(k for k, d in df.items() if k.startswith("k:") or d >= CHAR_MIN_DF) + rule_keys
    index = {f: i for i, f in enumerate(features)}
    idf = np.array(
        [math.log((1 + n) / (1 + df.get(f, 0))) + 1.0 if f in df else 1.0 for f in features], dtype=np.float64
    )
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for r, (wu, cu, view) in enumerate(zip(word_units, char_units, views, strict=True)):
        row = {**_block(wu, False, index, idf), **_block(cu, True, index, idf)}
        for key, value in _rule_features(view).items():
            row[index[key]] = value
        rows += [r] * len(row)
        cols += list(row)
        vals += list(row.values())
    x = csr_matrix((vals, (rows, cols)), shape=(n, len(features)))
    y = np.array([_class_of(s) for s in samples])
    weights = np.array([s.weight for s in samples])
    clf = LogisticRegression(C=c, solver="saga", tol=1e-3, max_iter=300, random_state=0)
    with warnings.catch_warnings():  # a tolerance of 1e-3 is plenty for routing; do not warn about it
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x, y, sample_weight=weights)
    classes = tuple(str(k) for k in clf.classes_)
    coef = np.asarray(clf.coef_, dtype=np.float64)
    intercept = np.asarray(clf.intercept_, dtype=np.float64)
    if len(classes) == 2:  # binary: scikit-learn keeps one row; make it two symmetric columns
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    info = {"examples": n, "corrections": sum(1 for s in samples if s.weight > 1.0), "c": c, **(meta or {})}
    return TextModel(version, classes, tuple(features), idf, coef.T.copy(), intercept, info)


# --------------------------------------------------------------------------------------------
# Rules + model
# --------------------------------------------------------------------------------------------
def _pct(p: float) -> str:
    return f"{p:.0%}"


class LearnedRouter:
    """The rules and the model together; ``model=None`` routes by the rules alone."""

    def __init__(self, rules: RoutingRules, model: TextModel | None, *, fast: bool = True) -> None:
        """``fast=False`` computes the model's probabilities the straightforward way (a feature row
        times the coefficient matrix) instead of from cached per-unit rows — the same decisions,
        only slower; kept to check the fast path against."""
        self.rules = rules
        self.router = Router(rules)
        self.model = model
        self.fast = fast

    @property
    def version(self) -> str | None:
        return self.model.version if self.model else None

    def route(self, text: str, explain: bool = False) -> RouteDecision:
        model = self.model
        if model is None:
            return self.router.route(text)
        version = model.version
        settings = self.rules.model
        view: RuleView | None = None
        seen: RouteDecision | RuleView
        if explain:
            view = self.router.inspect(text)
            seen = view.decision if view.decision.spam else view
        else:  # the bidang scores of what the rules call spam are not needed
            seen = self.router.spam_or_view(text)
        if isinstance(seen, RouteDecision):  # the rules recognise this spam: they decide
            return RouteDecision(
                bidang=seen.bidang,
                spam=True,
                score=seen.score,
                reasons=(*seen.reasons, "aturan spam menentukan (model tidak mengubahnya)"),
                kategori=seen.kategori,
                model=version,
                features=tuple(model.top_features(view, SPAM)) if view is not None else (),
            )
        view = seen
        probs = model.fast_probabilities(view) if self.fast else model.probabilities(view).tolist()
        p_spam = model.spam_probability(probs)
        ranked = sorted(view.bidang_scores.items(), key=lambda kv: -kv[1])
        strong = (
            ranked
            and ranked[0][1] >= settings.rules_decide_at
            and (len(ranked) == 1 or ranked[1][1] < ranked[0][1])
        )
        bidang_p = {c: p for c, p in zip(model.classes, probs, strict=True) if not c.startswith(SPAM)}
        summary = ", ".join(f"{c} {_pct(p)}" for c, p in sorted(bidang_p.items(), key=lambda kv: -kv[1]))
        line = f"model {version}: {summary}, spam {_pct(p_spam)}"
        base = tuple(r for r in view.routed.reasons)
        if p_spam >= settings.spam_probability and not strong:
            hint = max(view.spam_ratios.items(), key=lambda kv: kv[1], default=None)
            kategori = hint[0] if hint else OTHER_SPAM
            label = next((s.label for s in self.rules.spam if s.name == kategori), "lainnya")
            return RouteDecision(
                bidang=None,
                spam=True,
                score=round(p_spam, 3),
                reasons=(
                    f"spam menurut model: {label} (peluang spam {_pct(p_spam)} ≥ "
                    f"{_pct(settings.spam_probability)}): tidak diteruskan ke bidang mana pun",
                    line,
                    *base,
                ),
                kategori=kategori,
                model=version,
                features=tuple(model.top_features(view, SPAM)) if explain else (),
            )
        if strong:
            code = ranked[0][0]
            why = f"aturan menentukan: skor {code} {ranked[0][1]:.1f} ≥ {settings.rules_decide_at:.1f}"
            return RouteDecision(
                bidang=code,
                spam=False,
                score=round(ranked[0][1], 2),
                reasons=(*base, why, line),
                model=version,
                features=tuple(model.top_features(view, code)) if explain and code in model.classes else (),
            )
        if not bidang_p:
            return replace(view.routed, model=version)
        code = max(bidang_p.items(), key=lambda kv: kv[1])[0]
        return RouteDecision(
            bidang=code,
            spam=False,
            score=round(bidang_p[code], 3),
            reasons=(*base, f"model menentukan: {code} ({_pct(bidang_p[code])})", line),
            model=version,
            features=tuple(model.top_features(view, code)) if explain else (),
        )

    def route_many(self, texts: Iterable[str]) -> list[RouteDecision]:
        return [self.route(t) for t in texts]


def feature_label(feature: str) -> str:
    """``k:pinjam`` → ``kata 'pinjam'`` (for people)."""
    prefix, _, rest = feature.partition(":")
    return f"{_PREFIX_NAMES.get(prefix, prefix)} '{rest}'"
