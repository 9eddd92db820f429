"""The learned router beside the rules (SOP step 7).

A linear model (logistic regression, scikit-learn) over three groups of features of a message:

- ``k:`` word unigrams and bigrams of the normalised, stemmed words (slang expanded);
- ``h:`` character 3–5-grams of the normalised words (typos, affixes, leetspeak, glued words);
- ``a:`` what the rules of ``routing.yaml`` see: each bidang's score and each spam category's
  score as a fraction of its threshold — so the model learns how far to trust the rules.

Classes are the bidang codes and ``spam:<kategori>``; the spam probability is the sum over spam
categories. Training uses scikit-learn; routing uses the exported arrays directly (a dictionary
look-up per feature and one small matrix product), so it is fast per message and the stored model
is plain arrays (``.npz``, loaded with ``allow_pickle=False``: a model file cannot run code). A
monitoring sweep routes its new items as one batch (:meth:`LearnedRouter.route_many`): the rules
read each message, and the model's probabilities are computed for the whole batch at once (one
gather and one segmented sum per feature group, one product, one softmax), in chunks of about
:data:`BATCH_WORDS` words so memory stays small — the same decisions as routing one by one.

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
import threading
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
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


_UNIT_CACHE = 200_000  # words whose n-gram rows are remembered (then the cache starts again)
BATCH_WORDS = 2000  # words of messages whose probabilities route_many computes together (small: fewer
# objects live through a collection, so the collector seldom needs a full pass)


class _RowCache:
    """Rows computed per key, kept in one contiguous array (summed with one gather per message).

    Rows are only appended, under a lock, each before its key; a dictionary only ever names rows of
    its own array (a larger array comes with a copy of the dictionary, a full cache starts again
    with new ones), so a caller holding one pair reads consistent rows without the lock."""

    def __init__(self, width: int) -> None:
        self.width = width
        self._state: tuple[dict[str, int], np.ndarray] = ({}, np.zeros((256, width)))
        self._lock = threading.Lock()

    def rows(self, keys: list[str], compute: Callable[[str], np.ndarray]) -> tuple[np.ndarray, list[int]]:
        """The array and the row numbers of ``keys`` in it (computing the rows not cached yet)."""
        ids, table = self._state
        get = ids.get
        found = [get(k, -1) for k in keys]
        if -1 not in found:
            return table, found
        with self._lock:
            ids, table = self._state
            if len(ids) + len(keys) > _UNIT_CACHE:
                ids, table = {}, np.zeros((256, self.width))
            found = [ids.get(k, -1) for k in keys]
            for j, key in enumerate(keys):
                if found[j] < 0:
                    i = ids.get(key)
                    if i is None:
                        i = len(ids)
                        if i == len(table):
                            ids, table = dict(ids), np.concatenate([table, np.zeros_like(table)])
                        table[i] = compute(key)
                        ids[key] = i
                    found[j] = i
            self._state = (ids, table)
        return table, found

    def rows_many(
        self, keys: list[str], compute: Callable[[list[str]], np.ndarray]
    ) -> tuple[np.ndarray, list[int]]:
        """As :meth:`rows` for distinct ``keys``, the missing rows computed together in one call."""
        ids, table = self._state
        get = ids.get
        found = [get(k, -1) for k in keys]
        if -1 not in found:
            return table, found
        with self._lock:
            ids, table = self._state
            if len(ids) + len(keys) > _UNIT_CACHE:
                ids, table = {}, np.zeros((256, self.width))
            found = [ids.get(k, -1) for k in keys]
            missing = [k for k, i in zip(keys, found, strict=True) if i < 0]
            start = len(ids)
            if start + len(missing) > len(table):
                size = len(table)
                while size < start + len(missing):
                    size *= 2
                grown = np.zeros((size, self.width))
                grown[:start] = table[:start]
                ids, table = dict(ids), grown
            table[start : start + len(missing)] = compute(missing)
            for j, key in enumerate(missing):
                ids[key] = start + j
            found = [ids[k] for k in keys]
            self._state = (ids, table)
        return table, found


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
        # What one occurrence of each feature adds to its group (see _block): IDF × coefficient per
        # class, and IDF² to the group's squared norm — one contiguous row per feature.
        idf = self.idf.astype(np.float64)
        weighted = np.hstack([idf[:, None] * self.coef, (idf * idf)[:, None]])
        object.__setattr__(self, "_weighted", weighted)
        unigrams: dict[str, int] = {}  # stem → feature
        bigrams: dict[str, dict[str, int]] = {}  # first stem → second stem → feature
        grams: dict[str, int] = {}  # character n-gram → feature
        for i, f in enumerate(self.features):
            if f.startswith("k:"):
                first, _, second = f[2:].partition(" ")
                if second:
                    bigrams.setdefault(first, {})[second] = i
                else:
                    unigrams[first] = i
            elif f.startswith("h:"):
                grams[f[2:]] = i
        object.__setattr__(self, "_unigrams", unigrams)
        object.__setattr__(self, "_bigrams", bigrams)
        object.__setattr__(self, "_grams", grams)
        object.__setattr__(self, "_chars", _RowCache(n + 1))  # word → its character n-gram row
        # Rule features: bidang code / spam category → coefficient row.
        rule = {key: tuple(self.coef[i].tolist()) for key, i in index.items() if key.startswith("a:")}
        bidang_rows = {k[2:]: v for k, v in rule.items() if not k.startswith("a:spam:") and k != "a:<url>"}
        spam_rows = {k[7:]: v for k, v in rule.items() if k.startswith("a:spam:")}
        object.__setattr__(self, "_rule_rows", (bidang_rows, spam_rows, rule.get("a:<url>")))
        # The same rule rows as one matrix (for a batch): column of each bidang / spam category / URL.
        rule_keys = [k for k in index if k.startswith("a:")]
        rule_coef = self.coef[[index[k] for k in rule_keys]] if rule_keys else np.zeros((0, n))
        rule_col = {k: j for j, k in enumerate(rule_keys)}
        object.__setattr__(self, "_rule_matrix", (rule_col, np.ascontiguousarray(rule_coef)))
        spam_cols = [i for i, c in enumerate(self.classes) if c.startswith(SPAM + ":")]
        object.__setattr__(self, "_spam_cols", tuple(spam_cols))
        # The bidang classes (every class not starting with "spam"), with their column.
        bidang_cols = tuple((i, c) for i, c in enumerate(self.classes) if not c.startswith(SPAM))
        object.__setattr__(self, "_bidang_cols", bidang_cols)

    @property
    def index(self) -> dict[str, int]:
        return self._index  # type: ignore[attr-defined]

    # -- features ---------------------------------------------------------------------------
    def _char_row(self, word: str) -> np.ndarray:
        """A word's row for the character n-grams: IDF × count × coefficients summed over its
        n-grams, followed by the word's squared norm (as the training path weights them)."""
        get = self._grams.get  # type: ignore[attr-defined]
        ids = [i for i in map(get, _char_grams(word)) if i is not None]
        weighted: np.ndarray = self._weighted  # type: ignore[attr-defined]
        if not ids:
            return np.zeros(weighted.shape[1])
        if len(set(ids)) == len(ids):  # the usual case: every n-gram once
            return np.asarray(weighted.take(ids, axis=0).sum(axis=0))
        counts = Counter(ids)  # an n-gram c times: IDF × c for its values, (IDF × c)² for the norm
        part = weighted.take(list(counts), axis=0)
        c = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        n = len(self.classes)
        row = np.empty(n + 1)
        row[:n] = c @ part[:, :n]
        row[n] = (c * c) @ part[:, n]
        return row

    def _sums(self, view: RuleView) -> tuple[list[float], list[float]]:
        """The summed rows of the word group and of the character group of one message."""
        toks = [t for t in view.analysis.tokens if t]
        uni = self._unigrams.get  # type: ignore[attr-defined]
        after = self._bigrams.get  # type: ignore[attr-defined]
        ids = [i for i in map(uni, toks) if i is not None]
        for first, second in itertools.pairwise(toks):
            nexts = after(first)
            if nexts is not None:
                i = nexts.get(second)
                if i is not None:
                    ids.append(i)
        weighted: np.ndarray = self._weighted  # type: ignore[attr-defined]
        word = weighted.take(ids, axis=0).sum(axis=0).tolist() if ids else []
        cache: _RowCache = self._chars  # type: ignore[attr-defined]
        rows, found = cache.rows(_char_units(view), self._char_row)
        chars = rows.take(found, axis=0).sum(axis=0).tolist() if found else []
        return word, chars

    def _logits(self, view: RuleView) -> list[float]:
        """The linear scores of one message: the same sum as :meth:`logits` (to rounding in the last
        digits), from cached per-unit rows — what each occurrence of a word or a bigram, and each
        word's n-grams, add to their group — instead of a feature row per message."""
        out: list[float] = self.intercept.tolist()
        n = len(self.classes)
        for sums in self._sums(view):
            if sums and sums[n]:
                norm = math.sqrt(sums[n])
                out = [o + x / norm for o, x in zip(out, sums, strict=False)]
        # The rule features, with the values of _rule_features.
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
            out = [o + c for o, c in zip(out, url_row, strict=True)]
        return out

    def _char_rows(self, words: list[str]) -> np.ndarray:
        """The rows of :meth:`_char_row` for many words at once (one gather and one segmented sum);
        a word starting with ``<`` (a URL or mention marker, see :func:`_char_units`) has none."""
        get = self._grams.get  # type: ignore[attr-defined]
        weighted: np.ndarray = self._weighted  # type: ignore[attr-defined]
        out = np.zeros((len(words), weighted.shape[1]))
        flat: list[int] = []
        starts: list[int] = []
        targets: list[int] = []
        for j, word in enumerate(words):
            if word.startswith("<"):
                continue
            ids = [i for i in map(get, _char_grams(word)) if i is not None]
            if not ids:
                continue
            if len(set(ids)) != len(ids):  # an n-gram repeated: its count is squared in the norm
                out[j] = self._char_row(word)
                continue
            targets.append(j)
            starts.append(len(flat))
            flat += ids
        if flat:
            out[targets] = np.add.reduceat(weighted.take(flat, axis=0), starts, axis=0)
        return out

    def batch_probabilities(self, views: Sequence[RuleView]) -> np.ndarray:
        """Class probabilities of many messages (one row each): the same sums as
        :meth:`fast_probabilities` (to rounding in the last digits), for the whole batch at once —
        one gather and one segmented sum per feature group, one product for the rule features and
        one softmax — instead of a few small array operations per message."""
        n = len(self.classes)
        m = len(views)
        uni = self._unigrams.get  # type: ignore[attr-defined]
        after = self._bigrams.get  # type: ignore[attr-defined]
        rule_col, rule_coef = self._rule_matrix  # type: ignore[attr-defined]
        url_col = rule_col.get("a:<url>")
        word_ids: list[int] = []
        word_starts: list[int] = []
        word_rows: list[int] = []
        words: list[str] = []
        char_starts: list[int] = []
        char_rows: list[int] = []
        rule_x = np.zeros((m, len(rule_coef)))
        for r, view in enumerate(views):
            a = view.analysis
            toks = a.tokens if "" not in a.tokens else tuple(filter(None, a.tokens))
            start = len(word_ids)
            word_ids += [i for i in map(uni, toks) if i is not None]
            word_ids += [  # bigrams
                i
                for nexts, second in zip(map(after, toks[:-1]), toks[1:], strict=True)
                if nexts is not None and (i := nexts.get(second)) is not None
            ]
            if len(word_ids) > start:
                word_starts.append(start)
                word_rows.append(r)
            if a.words:
                char_starts.append(len(words))
                char_rows.append(r)
                words += a.words
            # The rule features, with the values of _rule_features.
            for code, score in view.bidang_scores.items():
                j = rule_col.get("a:" + code)
                if j is not None and score > 0:
                    rule_x[r, j] = min(score, RULE_CAP) / 6.0
            for cat, ratio in view.spam_ratios.items():
                j = rule_col.get("a:spam:" + cat)
                if j is not None:
                    rule_x[r, j] = min(ratio, 2.0)
            if a.urls and url_col is not None:
                rule_x[r, url_col] = 1.0
        weighted: np.ndarray = self._weighted  # type: ignore[attr-defined]
        out = np.empty((m, n))
        out[:] = self.intercept
        groups = [(word_rows, word_starts, weighted, word_ids)]
        if words:  # each distinct word's character row once (cached), then summed per message
            distinct = list(dict.fromkeys(words))
            cache: _RowCache = self._chars  # type: ignore[attr-defined]
            table, found = cache.rows_many(distinct, self._char_rows)
            where = dict(zip(distinct, found, strict=True))
            groups.append((char_rows, char_starts, table, list(map(where.__getitem__, words))))
        for rows, starts, source, ids in groups:
            if not ids:
                continue
            sums = np.add.reduceat(source.take(ids, axis=0), starts, axis=0)
            norm2 = sums[:, n]
            keep = norm2 != 0
            if not keep.all():
                sums, norm2, rows = sums[keep], norm2[keep], [r for r, k in zip(rows, keep, strict=True) if k]
            out[rows] += sums[:, :n] / np.sqrt(norm2)[:, None]
        if len(rule_coef):
            out += rule_x @ rule_coef
        out -= out.max(axis=1, keepdims=True)
        np.exp(out, out=out)
        out /= out.sum(axis=1, keepdims=True)
        return out

    def logits(self, view: RuleView) -> np.ndarray:
        """The linear scores of one message, the straightforward way: its feature row (exactly as
        training builds it) times the coefficients."""
        idx, vals = self.vector(view)
        return np.asarray(self.intercept + vals @ self.coef[idx])

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
        """The decision for one message (``sop route``); a batch is routed with :meth:`route_many`."""
        model = self.model
        if model is None:
            return self.router.route(text)
        view: RuleView | None = None
        seen: RouteDecision | RuleView
        if explain:
            view = self.router.inspect(text)
            seen = view.decision if view.decision.spam else view
        else:  # the bidang scores of what the rules call spam are not needed
            seen = self.router.spam_or_view(text)
        if isinstance(seen, RouteDecision):  # the rules recognise this spam: they decide
            return self._rules_spam(model, seen, view)
        probs = model.fast_probabilities(seen) if self.fast else model.probabilities(seen).tolist()
        return self._decide(model, seen, probs, explain)

    def route_many(self, texts: Iterable[str]) -> list[RouteDecision]:
        """The decisions for a batch of messages (a monitoring sweep), in order: the same decisions
        as :meth:`route` one by one, with the model's probabilities computed for the whole batch
        at once (in chunks of about :data:`BATCH_WORDS` words, so memory stays small)."""
        model = self.model
        if model is None:
            return self.router.route_many(texts)
        if not self.fast:
            return [self.route(t) for t in texts]
        out: list[RouteDecision | None] = []
        pending: list[tuple[int, RuleView]] = []
        words = 0
        for text in texts:
            seen = self.router.spam_or_view(text)
            if isinstance(seen, RouteDecision):
                out.append(self._rules_spam(model, seen, None))
                continue
            pending.append((len(out), seen))
            out.append(None)
            words += len(seen.analysis.words) + 1
            if words >= BATCH_WORDS:
                self._decide_batch(model, pending, out)
                pending, words = [], 0
        if pending:
            self._decide_batch(model, pending, out)
        return out  # type: ignore[return-value]  # every place is filled

    def _decide_batch(
        self, model: TextModel, pending: list[tuple[int, RuleView]], out: list[RouteDecision | None]
    ) -> None:
        probs = model.batch_probabilities([view for _, view in pending]).tolist()
        for (i, view), p in zip(pending, probs, strict=True):
            out[i] = self._decide(model, view, p, False)

    def _rules_spam(self, model: TextModel, seen: RouteDecision, view: RuleView | None) -> RouteDecision:
        """Spam the rules recognise: they decide (the model does not change it)."""
        return RouteDecision(
            bidang=seen.bidang,
            spam=True,
            score=seen.score,
            reasons=(*seen.reasons, "aturan spam menentukan (model tidak mengubahnya)"),
            kategori=seen.kategori,
            model=model.version,
            features=tuple(model.top_features(view, SPAM)) if view is not None else (),
        )

    def _decide(
        self, model: TextModel, view: RuleView, probs: Sequence[float], explain: bool
    ) -> RouteDecision:
        """The decision for a message the rules do not call spam, given the model's probabilities."""
        version = model.version
        settings = self.rules.model
        p_spam = model.spam_probability(probs)
        ranked = sorted(view.bidang_scores.items(), key=lambda kv: -kv[1])
        strong = (
            ranked
            and ranked[0][1] >= settings.rules_decide_at
            and (len(ranked) == 1 or ranked[1][1] < ranked[0][1])
        )
        if len(probs) != len(model.classes):
            raise ValueError("peluang model tidak sesuai dengan kelasnya")
        bidang_p = {c: probs[i] for i, c in model._bidang_cols}  # type: ignore[attr-defined]
        summary = ", ".join(f"{c} {_pct(p)}" for c, p in sorted(bidang_p.items(), key=lambda kv: -kv[1]))
        line = f"model {version}: {summary}, spam {_pct(p_spam)}"
        base = view.routed.reasons
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


def feature_label(feature: str) -> str:
    """``k:pinjam`` → ``kata 'pinjam'`` (for people)."""
    prefix, _, rest = feature.partition(":")
    return f"{_PREFIX_NAMES.get(prefix, prefix)} '{rest}'"
