"""Indonesian social-media normalisation for routing (SOP step 7).

The text is normalised the way citizens really write: Unicode compatibility forms and decorated
letters (𝐒𝐋𝐎𝐓, ⓈⓁⓄⓉ, 🅂🄻🄾🅃, s̶l̶o̶t̶) are folded, URLs and mentions become markers, stretched
letters are shortened ("bangeeet"), spaced letters are joined ("s l o t"), digits used as letters
are read as letters ("m4xw1n"), slang and abbreviations are expanded ("gmn", "pinjem", "perpus";
the list is ``slang.yaml`` beside this file) and every word is stemmed with Sastrawi. All of it is
cached per word, so routing stays fast.

Linear time on any input: a message is read up to :data:`MAX_CHARS` characters (its beginning and
its end; the whole text stays in the records), one word up to :data:`MAX_WORD` characters, and the
URL pattern runs on RE2 (no backtracking).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import re2
import yaml

URL_MARK = "<url>"
MENTION_MARK = "<mention>"
_MARKERS = frozenset({URL_MARK, MENTION_MARK})
MAX_CHARS = 4000  # characters of one message that are read: the first 3,000 and the last 1,000
_HEAD = 3000
MAX_WORD = 48  # a longer "word" (a digit run, a base64 blob) is read as one opaque token


def clip(text: str) -> str:
    """The part of ``text`` routing reads: all of it, or its beginning and end when very long."""
    if len(text) <= MAX_CHARS:
        return text
    return text[:_HEAD] + " " + text[-(MAX_CHARS - _HEAD) :]


def _load_slang() -> dict[str, str]:
    """``slang.yaml``: standard form → the ways people write it; here: each way → standard form."""
    raw = yaml.safe_load((Path(__file__).parent / "slang.yaml").read_text(encoding="utf-8"))
    return {str(variant): str(standard) for standard, variants in raw.items() for variant in variants}


# Slang and abbreviations as citizens write them (value may be several words). Offices add their
# own under ``slang:`` in routing.yaml.
SLANG: dict[str, str] = _load_slang()

# Enclitics peeled off before looking a word up in the slang list ("perpusnya" → "perpus").
_CLITICS = ("nya", "ku", "mu", "kah", "lah", "pun", "tuh")

# Decorated letters that Unicode compatibility folding does not turn into plain letters.
_FOLD: dict[int, str] = {}
for _i in range(26):
    _FOLD[0x1F170 + _i] = chr(ord("a") + _i)  # 🅰 negative squared
    _FOLD[0x1F150 + _i] = chr(ord("a") + _i)  # 🅐 negative circled
    _FOLD[0x1F1E6 + _i] = chr(ord("a") + _i)  # 🇦 regional indicator
for _small, _plain in zip("ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ", "abcdefghijklmnoprstuvwyz", strict=True):
    _FOLD[ord(_small)] = _plain  # small capitals
_FOLD[0x0131] = "i"  # dotless i

# Combining marks (strike-through, underline, keycaps, variation selectors, zero-width chars).
_MARKS = re.compile(
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe00-\ufe0f\ufe20-\ufe2f\u200b-\u200f\u2060]"
)
_URL = re2.compile(
    r"(?:https?://|www\.)\S+"
    r"|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|id|net|org|co|ly|me|xyz|io|site|online|link|vip|top"
    r"|club|info|biz|asia|pro|live|app|store|cc|tv|gg)\b(?:/\S*)?"
)
_MENTION = re.compile(r"(?<![\w@])@[a-z0-9_.]+")
_TOKEN = re.compile(r"<url>|<mention>|[a-z0-9@$]+%?")
_ALNUM = re.compile(r"[a-z0-9]+")
_LEET_I = str.maketrans("4310579@$", "aeiostgas")
_LEET_L = str.maketrans("4310579@$", "aelostgas")
# A number with a unit or suffix stays a number: 10rb, 2jt, 20k, 98%, 90an, 7th, 4d, x500.
_NUMBER = re.compile(r"\d+(?:rb|ribu|k|jt|juta|m|an|x|th|thn|d|%)?|x\d+")
_REDUP = re.compile(r"([a-z]{2,})2")  # "anak2" → "anak"
_WORD_NUMBER = re.compile(r"([a-z0-9@$]*[a-z][a-z0-9@$]*?)(\d{2,})")  # "gacor77", "bola88", "sl0t88"
_NUMBER_WORD = re.compile(r"(\d+)([a-z]{3,})")  # "8pagi"
_INTERLEAVED = re.compile(r"[a-z][0-9@$]+[a-z]")
_RUN3 = re.compile(r"([a-z])\1{2,}")
_RUN2 = re.compile(r"([a-z])\1+")


# The characters _FOLD maps (translate with a dictionary is slow: it runs only when one is there).
_FOLDABLE = frozenset(map(chr, _FOLD))


def fold(text: str) -> str:
    """NFKC, lower case, decorated letters → plain, combining marks removed (of the clipped text)."""
    if text.isascii():  # every step below leaves lower-case ASCII as it is
        return text.lower()
    text = unicodedata.normalize("NFKC", text).lower()
    if not _FOLDABLE.isdisjoint(text):
        text = text.translate(_FOLD)
    text = unicodedata.normalize("NFD", text)
    if text.isascii():
        return text
    return unicodedata.normalize("NFC", _MARKS.sub("", text))


class _CompiledRe:
    """The ``re`` module as Sastrawi's modules see it: the same ``match`` and ``sub``, each pattern
    compiled once. Sastrawi calls ``re.match(pattern, word)`` about a hundred times for each word it
    stems, and ``re.sub(part, "", word, count=1)`` with a part of the word as the pattern; the ``re``
    module's cache look-up was a third of its time, and a new pattern is compiled for every part.
    A pattern of ASCII letters and digits only is that text itself, so its ``sub`` is
    ``str.replace`` (the same leftmost occurrences). Patterns are kept up to :attr:`LIMIT`."""

    LIMIT = 20_000

    def __init__(self) -> None:
        self._match: dict[str, Callable[[str], re.Match[str] | None]] = {}  # pattern → its match
        self._compiled: dict[tuple[str, int], re.Pattern[str]] = {}

    def __getattr__(self, name: str) -> Any:  # flags and anything else: the re module's own
        return getattr(re, name)

    def _get(self, pattern: str, flags: int) -> re.Pattern[str]:
        key = (pattern, int(flags))
        compiled = self._compiled.get(key)
        if compiled is None:
            if len(self._compiled) >= self.LIMIT:
                self._compiled, self._match = {}, {}
            compiled = self._compiled[key] = re.compile(pattern, flags)
        return compiled

    def match(self, pattern: str, string: str, flags: int = 0) -> re.Match[str] | None:
        if not flags:
            match = self._match.get(pattern)
            if match is None:
                match = self._match[pattern] = self._get(pattern, 0).match
            return match(string)
        return self._get(pattern, flags).match(string)

    def sub(self, pattern: str, repl: str, string: str, count: int = 0, flags: int = 0) -> str:
        if not flags and "\\" not in repl and pattern.isascii() and pattern.isalnum():
            return string.replace(pattern, repl, count or -1)
        return self._get(pattern, flags).sub(repl, string, count)


@lru_cache(maxsize=1)
def _sastrawi() -> tuple[Any, frozenset[str]]:
    import sys

    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    fast_re = _CompiledRe()
    for name, module in list(sys.modules.items()):
        if name.startswith("Sastrawi.") and getattr(module, "re", None) is re:
            module.re = fast_re  # type: ignore[attr-defined]
    factory = StemmerFactory()
    return factory.create_stemmer(), frozenset(factory.get_words())


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Sastrawi stem of one word, cached (Sastrawi is slow per call); markers/numbers unchanged."""
    if len(word) <= 3 or word in _MARKERS or not word.isalpha():
        return word
    stemmer, dictionary = _sastrawi()
    if word in dictionary and word.isascii() and word.islower():
        return word  # what Sastrawi answers for a root word of its dictionary, without its overhead
    return str(stemmer.stem(word)) or word


class _Word(NamedTuple):
    """What one raw token becomes, for routing (``words``/``stems``) and for the spam check.

    The per-word cache keeps it as a plain tuple of tuples of strings (:data:`_Entry`): the garbage
    collector stops tracking an exact tuple of untracked items (never a named tuple), so a large
    per-word cache costs nothing in the collector's full passes."""

    words: tuple[str, ...]
    stems: tuple[str, ...]
    spam: tuple[str, ...]  # in sequence, for spam phrases and patterns
    spam_extra: tuple[str, ...]  # other readings (1 → l, unsplit forms, raw token)


# _Word as cached: (words, stems, spam, spam_extra).
_Entry = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]


@dataclass(frozen=True)
class Analysis:
    """A message after normalisation."""

    tokens: tuple[str, ...]  # stems, in order (URL/mention markers included)
    words: tuple[str, ...]  # the same before stemming
    spam_seq: tuple[str, ...]  # de-leetified words, in order, for spam phrases and patterns
    spam_set: frozenset[str]  # every reading of every word, for spam keywords
    urls: int
    mentions: int


class Normalizer:
    """Indonesian social-media normalisation; every per-word step is cached."""

    def __init__(
        self,
        slang: Mapping[str, str] | None = None,
        vocabulary: Iterable[str] = (),
        spam_vocabulary: Iterable[str] = (),
        cache_size: int = 100_000,
    ) -> None:
        self.slang: dict[str, tuple[str, ...]] = {
            k: tuple(v.split()) for k, v in {**SLANG, **(slang or {})}.items()
        }
        dictionary = _sastrawi()[1]
        self.spam_vocabulary = frozenset(w for w in spam_vocabulary if len(w) >= 3 and w.isalpha())
        self.known: frozenset[str] = (
            dictionary
            | self.slang.keys()
            | {w for v in self.slang.values() for w in v}
            | frozenset(vocabulary)
            | self.spam_vocabulary
        )
        # Pieces a glued word ("slotgacor", "#situsgacor") may be split into, for the spam check.
        self._pieces = frozenset(w for w in self.known if len(w) >= 3)
        self._word: Callable[[str], _Entry] = lru_cache(maxsize=cache_size)(self._entry)

    # -- per word -------------------------------------------------------------------------
    def collapse(self, word: str) -> str:
        """Shorten stretched letters: "bangeeet" → "banget", "maaaaf" → "maaf", "minn" → "min"."""
        if word in self.known:
            return word
        if _RUN3.search(word):
            for candidate in (_RUN3.sub(r"\1", word), _RUN3.sub(r"\1\1", word), _RUN2.sub(r"\1", word)):
                if candidate in self.known:
                    return candidate
            word = _RUN3.sub(r"\1", word)
        if len(word) > 3 and word[-1] == word[-2] and word[:-1] in self.known:
            return word[:-1]
        return word

    def expand(self, word: str) -> tuple[str, ...]:
        """Slang/abbreviation → standard words ("gmn" → "bagaimana"; "perpusnya" → "perpustakaan")."""
        hit = self.slang.get(word)
        if hit is not None:
            return hit
        if word in self.known or len(word) < 5:
            return (word,)
        bases = [word[: -len(c)] for c in _CLITICS if word.endswith(c) and len(word) > len(c) + 2]
        for base in bases:  # "perpusnya" → "perpus" → "perpustakaan"
            hit = self.slang.get(base)
            if hit is not None:
                return hit
        if stem(word) in self.known:
            return (word,)  # Sastrawi can stem it
        for base in bases:  # "ipusnasnya" → "ipusnas"
            if base in self.known:
                return (base,)
        if word.endswith("in") and len(word) >= 6:  # colloquial -in: "musnahin", "cariin"
            base = word[:-2]
            hit = self.slang.get(base)
            if hit is not None:
                return hit
            if base in self.known:
                return (base,)
        return (word,)

    def _segment(self, word: str) -> tuple[str, ...] | None:
        """Split a glued unknown word into known pieces, at least one of them a spam word."""
        if not self.spam_vocabulary or len(word) < 6 or len(word) > 40 or word in self.known:
            return None
        n = len(word)
        best: list[tuple[str, ...] | None] = [None] * (n + 1)
        best[0] = ()
        for end in range(3, n + 1):
            for start in range(max(0, end - 20), end - 2):
                prev = best[start]
                if prev is not None and word[start:end] in self._pieces:
                    cand = (*prev, word[start:end])
                    cur = best[end]
                    if cur is None or len(cand) < len(cur):
                        best[end] = cand
        pieces = best[n]
        if pieces and len(pieces) > 1 and any(p in self.spam_vocabulary for p in pieces):
            return pieces
        return None

    def _plain(self, word: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        words = self.expand(self.collapse(word))
        return words, tuple(stem(w) for w in words)

    def _entry(self, tok: str) -> _Entry:
        w = self._analyze_word(tok)
        return (w.words, w.stems, w.spam, w.spam_extra)

    def _analyze_word(self, tok: str) -> _Word:
        if len(tok) > MAX_WORD:  # no word is this long: one opaque token, no per-letter analysis
            tok = tok[:MAX_WORD]
            return _Word((tok,), (tok,), (tok,), ())
        if tok in _MARKERS or _NUMBER.fullmatch(tok):
            return _Word((tok,), (tok,), (tok,), ())
        if tok.isalpha():
            words, stems = self._plain(tok)
            seg = self._segment(words[0]) if len(words) == 1 else None
            if seg:
                return _Word(words, stems, seg, (tok, *words))
            return _Word(words, stems, words, (tok,))

        extra: list[str] = [tok]
        m = _REDUP.fullmatch(tok)
        if m:
            words, stems = self._plain(m.group(1))
            return _Word(words, stems, words, (tok,))
        m = _WORD_NUMBER.fullmatch(tok)
        if m and m.group(1).translate(_LEET_I).isalpha():
            letters = self.collapse(m.group(1).translate(_LEET_I))
            words, stems = self._plain(letters)
            seg = self._segment(letters)
            return _Word((*words, m.group(2)), (*stems, m.group(2)), (*(seg or words), m.group(2)), (tok,))

        readings = []
        for table in (_LEET_I, _LEET_L):
            r = tok.translate(table)
            if r.isalpha():
                readings.append(self.collapse(r))
        known = [r for r in readings if r in self.known]
        if known or (readings and _INTERLEAVED.search(tok)):
            chosen = (known or readings)[0]
            words, stems = self._plain(chosen)
            extra += [r for r in readings if r != chosen]
            seg = self._segment(chosen)
            return _Word(words, stems, seg or words, tuple(extra))
        m = _NUMBER_WORD.fullmatch(tok)
        if m and self.collapse(m.group(2)) in self.known:
            words, stems = self._plain(m.group(2))
            return _Word((m.group(1), *words), (m.group(1), *stems), (m.group(1), *words), ())
        spam_words = (readings[0],) if readings else (tok,)
        return _Word((tok,), (tok,), spam_words, (tok, *readings))

    # -- per message ----------------------------------------------------------------------
    def analyze(self, text: str) -> Analysis:
        t = fold(clip(text))
        outside: list[str] = []  # words inside URLs and mentions: spam signals, not routing words
        urls = mentions = 0
        if "." in t or "/" in t:
            found = _URL.findall(t)
            if found:
                urls = len(found)
                for u in found:
                    outside += _ALNUM.findall(u)
                t = _URL.sub(" <url> ", t)
        if "@" in t:
            found = _MENTION.findall(t)
            if found:
                mentions = len(found)
                for u in found:
                    outside += _ALNUM.findall(u)
                t = _MENTION.sub(" <mention> ", t)
        raw = _TOKEN.findall(t)

        # Join spaced letters: "s l o t" / "s.l.o.t" / "s🔥l🔥o🔥t" → "slot".
        toks: list[str] = []
        run: list[str] = []
        for tok in raw if 1 in map(len, raw) else ():  # no one-letter token: nothing to join
            if len(tok) == 1:
                run.append(tok)
                continue
            if run:
                toks.extend(("".join(run),) if len(run) >= 3 else run)
                run = []
            toks.append(tok)
        if run:
            toks.extend(("".join(run),) if len(run) >= 3 else run)
        if not toks:
            toks = raw

        words: list[str] = []
        stems: list[str] = []
        spam_seq: list[str] = []
        spam_set: set[str] = set()
        word = self._word
        add = spam_set.update
        for ws, ss, sp, extra in map(word, toks):
            words += ws
            stems += ss
            spam_seq += sp
            add(extra)
        for piece in outside:
            _ws, _ss, sp, extra = word(piece)
            add(sp)
            add(extra)
        spam_set.update(spam_seq)
        spam_set.update(stems)
        return Analysis(tuple(stems), tuple(words), tuple(spam_seq), frozenset(spam_set), urls, mentions)


@lru_cache(maxsize=1)
def _default_normalizer() -> Normalizer:
    return Normalizer()


def normalize(text: str) -> list[str]:
    """Tokens of ``text`` after Indonesian normalisation and stemming (URL/mention → markers)."""
    return list(_default_normalizer().analyze(text).tokens)
