"""Routing incoming public messages to the bidang concerned, and flagging spam (SOP step 7).

Every comment, mention, reply or message collected in step 6 is read here: spam (online gambling,
illegal loans, follower selling, investment scams) is recognised first and is not forwarded;
anything else goes to the bidang whose rules in ``config/routing.yaml`` score highest, or to the
default route (the Sekretariat) when nothing scores enough or two bidang tie.

The text is normalised the way citizens really write: Unicode compatibility forms and decorated
letters (𝐒𝐋𝐎𝐓, ⓈⓁⓄⓉ, 🅂🄻🄾🅃, s̶l̶o̶t̶) are folded, URLs and mentions become markers, stretched
letters are shortened ("bangeeet"), spaced letters are joined ("s l o t"), digits used as letters
are read as letters ("m4xw1n"), slang and abbreviations are expanded ("gmn", "pinjem", "perpus")
and every word is stemmed with Sastrawi. All of it is cached per word, so routing stays fast.

Domain code: does not import Airflow.
"""

from __future__ import annotations

import json
import math
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sop_tasks.config import config_dir, explain, read_yaml_mapping
from sop_tasks.errors import ConfigError

RULES_FILE = "routing.yaml"
URL_MARK = "<url>"
MENTION_MARK = "<mention>"
_MARKERS = frozenset({URL_MARK, MENTION_MARK})

# --------------------------------------------------------------------------------------------
# Slang and abbreviations as citizens write them in comments (value may be several words).
# Offices can add their own under ``slang:`` in routing.yaml.
# --------------------------------------------------------------------------------------------
# Each line: standard form(s) = the ways people write it.
_SLANG_TABLE = """
bagaimana = gmn gmna gimana gmana bgmn
berapa = brp brapa brpa
dimana = dmn dimn dmna
kemana = kmn
kapan = kpn kapn
kenapa = knp knapa napa
perpustakaan = perpus
perpustakaan daerah = perpusda
perpustakaan nasional = perpusnas
perpustakaan keliling = pusling
pinjam = pinjem minjem minjam
dipinjam = dipinjem
pinjamkan = pinjemin minjemin
kembalikan = balikin ngembaliin ngembalikan mbalikin
dikembalikan = dibalikin
admin = min mimin minmin adm
saya = sy sya aku ak aq gw gue gua ane
kakak = kak ka kk kaka
ibu = bu
bapak = pak
orang tua = ortu
tidak = tdk gak ga gk nggak ngga nggk enggak engga kagak ndak nda tak
tidak bisa = gabisa gbs
tidak apa apa = gpp
jangan = jgn
sudah = udh udah sdh dah sudh
belum = blm blum belom lom
masih = msh
lagi = lg lgi
yang = yg yng
juga = jg jga
bisa = bs bsa
boleh = blh
karena = krn karna krna
untuk = utk untk
dengan = dgn dg
sama = sm ama
saja = aja aj ajah
kalau = kalo klo kl klau
tapi = tp tpi
terus = trs trus
dari = dr dri
tentang = ttg
kepada = kpd
sebagai = sbg
tersebut = tsb
dan lain lain = dll
dan sebagainya = dsb
jadi = jd jdi
bukan = bkn
cuma = cm
memang = emg emang
seperti = kyk kayak
begini = gini
begitu = gitu
ini = ni
itu = tu
sampai = sampe smpe
tetap = ttp tetep
sebelum = sblm
setelah = stlh
beberapa = bbrp
banyak = bnyk byk
langsung = lgsg lgsung
padahal = pdhl
banget = bgt bngt
besok = bsk besuk
tanggal = tgl
sekarang = skrg skrng skg
kemarin = kmrn kemaren kmarin
tadi = td
tahun = thn th
hari = hr
bulan = bln
minggu = mgg mggu
buat = bikin bkin
cari = nyari nyariin
tanya = nanya nanyain tnya
datang = dateng
tambah = nambah
ambil = ngambil
buka = bukak
pakai = pake
dipakai = dipake
urus = ngurus
terima = nerima
serahkan = nyerahin
hilang = ilang
dapat = dapet dpt
ingin = pgn pengen pingin
mau = mo mw
lihat = liat ngeliat
kasih = ngasih
mengerti = ngerti
ajak = ngajak
tunggu = nunggu nungguin
balas = bales bls
tahu = tau
tolong = tlg tlong
benar = bener bnr
malas = males
terima kasih = makasih makasi mksh mksih trims trimakasih terimakasih thx thanks tq
kecamatan = kec
kabupaten = kab
kelurahan = kel
desa = ds
jalan = jl
sekolah = sklh
kelas = kls
mahasiswa = mhs
whatsapp = wa
instagram = ig
telepon = telp tlp
"""
SLANG: dict[str, str] = {
    variant: standard.strip()
    for standard, _, variants in (line.partition(" = ") for line in _SLANG_TABLE.strip().splitlines())
    for variant in variants.split()
}

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
_URL = re.compile(
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


def _fold(text: str) -> str:
    """NFKC, lower case, decorated letters → plain, combining marks removed."""
    text = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text).lower().translate(_FOLD))
    return unicodedata.normalize("NFC", _MARKS.sub("", text))


@lru_cache(maxsize=1)
def _sastrawi() -> tuple[Any, frozenset[str]]:
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    factory = StemmerFactory()
    return factory.create_stemmer(), frozenset(factory.get_words())


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Sastrawi stem of one word, cached (Sastrawi is slow per call); markers/numbers unchanged."""
    if len(word) <= 3 or word in _MARKERS or not word.isalpha():
        return word
    return str(_sastrawi()[0].stem(word)) or word


@dataclass(frozen=True)
class _Word:
    """What one raw token becomes, for routing (``words``/``stems``) and for the spam check."""

    words: tuple[str, ...]
    stems: tuple[str, ...]
    spam: tuple[str, ...]  # in sequence, for spam phrases and patterns
    spam_extra: tuple[str, ...]  # other readings (1 → l, unsplit forms, raw token)


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
        self._word: Callable[[str], _Word] = lru_cache(maxsize=cache_size)(self._analyze_word)

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

    def _analyze_word(self, tok: str) -> _Word:
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
        t = _fold(text)
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
        for tok in raw:
            if len(tok) == 1:
                run.append(tok)
                continue
            if run:
                toks.extend(("".join(run),) if len(run) >= 3 else run)
                run = []
            toks.append(tok)
        if run:
            toks.extend(("".join(run),) if len(run) >= 3 else run)

        words: list[str] = []
        stems: list[str] = []
        spam_seq: list[str] = []
        spam_set: set[str] = set()
        word = self._word
        for tok in toks:
            w = word(tok)
            words += w.words
            stems += w.stems
            spam_seq += w.spam
            spam_set.update(w.spam_extra)
        for piece in outside:
            w = word(piece)
            spam_set.update(w.spam)
            spam_set.update(w.spam_extra)
        spam_set.update(spam_seq)
        spam_set.update(stems)
        return Analysis(tuple(stems), tuple(words), tuple(spam_seq), frozenset(spam_set), urls, mentions)


@lru_cache(maxsize=1)
def _default_normalizer() -> Normalizer:
    return Normalizer()


def normalize(text: str) -> list[str]:
    """Tokens of ``text`` after Indonesian normalisation and stemming (URL/mention → markers)."""
    return list(_default_normalizer().analyze(text).tokens)


# --------------------------------------------------------------------------------------------
# Rules (config/routing.yaml)
# --------------------------------------------------------------------------------------------
class _Model(BaseModel):
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


class BidangRuleSpec(_Model):
    keywords: dict[str, float] = {}
    exact_words: dict[str, float] = {}
    phrases: dict[str, float] = {}

    _keys = field_validator("keywords", "exact_words", "phrases", mode="before")(_weights)
    _vals = field_validator("keywords", "exact_words", "phrases")(_check_weights)


class SpamCategorySpec(_Model):
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
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pola '{pattern}' bukan regex yang sah ({exc}); perbaiki polanya") from None
        return v


class RoutingSpec(_Model):
    default: str = Field(pattern=r"^[a-z0-9_]+$")
    min_score: float = Field(ge=0)
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
    patterns: tuple[tuple[re.Pattern[str], str, float], ...]
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
                patterns=tuple((re.compile(p), p, w) for p, w in cat.patterns.items()),
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
        vocabulary=frozenset(vocabulary),
        spam_vocabulary=frozenset(spam_vocab),
    )


def _one_word(tokens: tuple[str, ...]) -> str:
    if not tokens:
        return "kosong setelah dinormalisasi; tulis satu kata biasa"
    return f"menjadi {len(tokens)} kata ({' '.join(tokens)}); pindahkan ke 'phrases'"


# --------------------------------------------------------------------------------------------
# Routing
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RouteDecision:
    bidang: str | None  # bidang code from the config; None only when spam
    spam: bool
    score: float
    reasons: tuple[str, ...]  # human-readable, Indonesian

    def to_json(self) -> dict[str, Any]:
        return {"bidang": self.bidang, "spam": self.spam, "score": self.score, "reasons": list(self.reasons)}


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

    def route(self, text: str) -> RouteDecision:
        a = self.normalizer.analyze(text)
        spam, hints = self._spam(text, a)
        if spam is not None:
            return spam
        return self._bidang(a, hints)

    def route_many(self, texts: Iterable[str]) -> list[RouteDecision]:
        return [self.route(t) for t in texts]

    # -- spam -----------------------------------------------------------------------------
    def _spam(self, text: str, a: Analysis) -> tuple[RouteDecision | None, tuple[str, ...]]:
        """The spam decision (None: not spam) and, if not spam, notes on weak spam signals."""
        cats = self.rules.spam
        scores = [0.0] * len(cats)
        hits: list[list[str]] = [[] for _ in cats]
        for word in a.spam_set:
            for ci, w in self._spam_words.get(word, ()):
                scores[ci] += w
                hits[ci].append(f"'{word}'" if w > 0 else f"'{word}' {_w(w)}")
        seq = a.spam_seq
        seen: set[tuple[int, tuple[str, ...]]] = set()
        for i, tok in enumerate(seq):
            for ci, tokens, written, w in self._spam_phrases.get(tok, ()):
                if (ci, tokens) not in seen and seq[i : i + len(tokens)] == tokens:
                    seen.add((ci, tokens))
                    scores[ci] += w
                    hits[ci].append(f"'{written}'" if w > 0 else f"'{written}' {_w(w)}")
        joined: str | None = None
        hints: list[str] = []
        best: tuple[float, SpamRule, list[str]] | None = None
        for ci, cat in enumerate(cats):
            if cat.patterns:
                if joined is None:
                    joined = " ".join(seq)
                for pattern, _written, w in cat.patterns:
                    m = pattern.search(joined)
                    if m:
                        scores[ci] += w
                        hits[ci].append(f"'{m.group(0)}'")
            for emoji, w in cat.emoji:
                if emoji in text:
                    scores[ci] += w
                    hits[ci].append(emoji)
            score = scores[ci]
            if score > 0 and a.urls and cat.url_weight:
                score += cat.url_weight
                hits[ci].append("tautan")
            if score <= 0:
                continue
            found = ", ".join(sorted(hits[ci]))
            if score < cat.threshold:
                hints.append(
                    f"ada tanda {cat.label} ({found}) tetapi skor {score:.1f} "
                    f"< ambang {cat.threshold:.1f}: bukan spam"
                )
            elif best is None or score > best[0]:
                best = (score, cat, hits[ci])
        if best is None:
            return None, tuple(hints)
        score, cat, found_hits = best
        decision = RouteDecision(
            bidang=None,
            spam=True,
            score=round(score, 2),
            reasons=(
                f"spam: {cat.label} ({', '.join(sorted(found_hits))})",
                f"skor spam {score:.1f} ≥ ambang {cat.threshold:.1f}: tidak diteruskan ke bidang mana pun",
            ),
        )
        return decision, ()

    # -- bidang ---------------------------------------------------------------------------
    def _bidang(self, a: Analysis, hints: tuple[str, ...]) -> RouteDecision:
        rules = self.rules
        scores: dict[str, float] = {}
        why: dict[str, list[str]] = {}

        def add(code: str, w: float, reason: str) -> None:
            scores[code] = scores.get(code, 0.0) + w
            why.setdefault(code, []).append(f"{reason} ({_w(w)}) → {code}")

        for stem_ in dict.fromkeys(a.tokens):  # in text order, each once
            for code, w in rules.keywords.get(stem_, ()):
                add(code, w, f"kata '{stem_}'")
        if rules.exact_words:
            for word in dict.fromkeys(a.words):
                for code, w in rules.exact_words.get(word, ()):
                    add(code, w, f"kata '{word}'")
        toks = a.tokens
        seen: set[tuple[tuple[str, ...], str]] = set()
        for i, tok in enumerate(toks):
            for tokens, written, code, w in rules.phrases.get(tok, ()):
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
            return RouteDecision(default, False, 0.0, tuple(reasons))
        top_code, top = ranked[0]
        if top < rules.min_score:
            reasons.append(
                f"skor tertinggi {top:.1f} ({top_code}) di bawah minimum {rules.min_score:.1f} "
                f"→ bawaan: {default}"
            )
            return RouteDecision(default, False, round(top, 2), tuple(reasons))
        if len(ranked) > 1 and math.isclose(ranked[1][1], top):
            tied = [c for c, s in ranked if math.isclose(s, top)]
            reasons.append(f"skor seri {top:.1f} antara {', '.join(tied)} → bawaan: {default}")
            return RouteDecision(default, False, round(top, 2), tuple(reasons))
        others = ", ".join(f"{c} {s:.1f}" for c, s in ranked[1:])
        reasons.append(f"skor tertinggi: {top_code} {top:.1f}" + (f" (lainnya: {others})" if others else ""))
        return RouteDecision(top_code, False, round(top, 2), tuple(reasons))


# --------------------------------------------------------------------------------------------
# Accuracy on a labelled sample (tests, bench, tuning the rules)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    text: str
    bidang: str | None  # None only for spam
    spam: bool


def load_samples(path: Path) -> list[Sample]:
    """A JSONL file of ``{"text", "bidang", "spam"}`` objects."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            row = json.loads(line)
            if bool(row["spam"]) != (row["bidang"] is None):
                raise ValueError(f"{path} baris {n}: 'bidang' harus null jika dan hanya jika 'spam' true")
            out.append(Sample(str(row["text"]), row["bidang"], bool(row["spam"])))
    return out


@dataclass(frozen=True)
class AccuracyReport:
    per_bidang: Mapping[str, tuple[int, int]]  # code → (correct, total), over legitimate messages
    spam_caught: int  # spam flagged as spam
    spam_total: int
    false_spam: int  # legitimate messages flagged as spam
    misses: tuple[tuple[Sample, RouteDecision], ...]

    @property
    def bidang_accuracy(self) -> float:
        total = sum(t for _, t in self.per_bidang.values())
        return sum(c for c, _ in self.per_bidang.values()) / total if total else 1.0

    @property
    def spam_recall(self) -> float:
        return self.spam_caught / self.spam_total if self.spam_total else 1.0

    @property
    def spam_precision(self) -> float:
        flagged = self.spam_caught + self.false_spam
        return self.spam_caught / flagged if flagged else 1.0

    def table(self) -> str:
        lines = [f"{'kelompok':<16}{'benar':>7}{'jumlah':>8}{'akurasi':>9}", "-" * 40]
        for code, (c, t) in self.per_bidang.items():
            lines.append(f"{code:<16}{c:>7}{t:>8}{c / t if t else 1.0:>9.1%}")
        legit = sum(t for _, t in self.per_bidang.values())
        right = sum(c for c, _ in self.per_bidang.values())
        lines.append(f"{'semua bidang':<16}{right:>7}{legit:>8}{self.bidang_accuracy:>9.1%}")
        caught, total = self.spam_caught, self.spam_total
        lines.append(f"{'spam (recall)':<16}{caught:>7}{total:>8}{self.spam_recall:>9.1%}")
        lines.append(f"spam salah tandai (pesan sah dianggap spam): {self.false_spam} dari {legit}")
        lines.append(f"presisi spam: {self.spam_precision:.1%}")
        return "\n".join(lines)


def evaluate(router: Router, samples: Iterable[Sample]) -> AccuracyReport:
    per: dict[str, list[int]] = {}
    caught = spam_total = false_spam = 0
    misses: list[tuple[Sample, RouteDecision]] = []
    for s in samples:
        d = router.route(s.text)
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
    )


# --------------------------------------------------------------------------------------------
# `sop route`
# --------------------------------------------------------------------------------------------
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
