"""SOP step 7: routing incoming messages to a bidang and flagging spam (sop_tasks.routing)."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from contextlib import redirect_stderr
from pathlib import Path
from typing import Any

import pytest

from sop_tasks.errors import ConfigError
from sop_tasks.routing import (
    RouteDecision,
    Router,
    RoutingRules,
    evaluate,
    load_rules,
    load_samples,
    main_route,
    normalize,
)
from tests.support.records import write_yaml

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "config" / "routing.yaml"
SAMPLE = REPO / "tests" / "data" / "routing_sample.jsonl"
CODES = ("perpustakaan", "kearsipan", "sekretariat")


@pytest.fixture(scope="module")
def rules() -> RoutingRules:
    return load_rules(RULES, bidang_codes=CODES)


@pytest.fixture(scope="module")
def router(rules: RoutingRules) -> Router:
    return Router(rules)


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # slang
        ("gmn cara pinjem buku di perpus?", ["bagaimana", "cara", "pinjam", "buku", "di", "pustaka"]),
        ("min, brp lama minjem?", ["admin", "berapa", "lama", "pinjam"]),
        ("yg tdk bs", ["yang", "tidak", "bisa"]),
        ("udh blm gak ga nggak", ["sudah", "belum", "tidak", "tidak", "tidak"]),
        ("bsk jg", ["besok", "juga"]),
        ("sy aku gw", ["saya", "saya", "saya"]),
        ("dmn kpn tgl", ["mana", "kapan", "tanggal"]),  # "dimana", stemmed
        ("mimin", ["admin"]),
        ("perpusnya", ["pustaka"]),  # slang behind an enclitic
        ("makasih", ["terima", "kasih"]),
        # repeated letters and case
        ("bangeeet", ["banget"]),
        ("halooo", ["halo"]),
        ("maaaaf", ["maaf"]),  # a real double letter is kept
        ("minnnn", ["admin"]),
        ("bukuuu", ["buku"]),
        ("PERPUS", ["pustaka"]),
        ("PiNjEm BuKu", ["pinjam", "buku"]),
        # leet and numbers
        ("m4xw1n", ["maxwin"]),
        ("g4c0r", ["gacor"]),
        ("sl0t", ["slot"]),
        ("d3po", ["depo"]),
        ("g@c0r", ["gacor"]),
        ("gacor77", ["gacor", "77"]),
        ("depo 10rb wd 2jt 98%", ["depo", "10rb", "wd", "2jt", "98%"]),  # numbers stay numbers
        ("tahun 1998", ["tahun", "1998"]),
        ("anak2", ["anak"]),
        # spaced and decorated letters
        ("s l o t", ["slot"]),
        ("S.L.O.T", ["slot"]),
        ("s-l-o-t", ["slot"]),
        ("s🔥l🔥o🔥t", ["slot"]),
        ("𝐒𝐋𝐎𝐓", ["slot"]),
        ("ⓈⓁⓄⓉ", ["slot"]),
        ("🅂🄻🄾🅃", ["slot"]),
        ("🆂🅻🅾🆃", ["slot"]),
        ("s̶l̶o̶t̶", ["slot"]),
        ("ｓｌｏｔ", ["slot"]),
    ],
)
def test_normalize(text: str, expected: list[str]) -> None:
    assert normalize(text) == expected


def test_normalize_urls_and_mentions_become_markers() -> None:
    assert normalize("cek https://bit.ly/abc dan @kominfo_kendal") == ["cek", "<url>", "dan", "<mention>"]
    assert normalize("daftar di bola88.com") == ["daftar", "di", "<url>"]
    assert normalize("") == []


# --------------------------------------------------------------------------------------------
# Routing
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "bidang"),
    [
        ("min perpus buka jam brp hari sabtu?", "perpustakaan"),
        ("mau pinjem buku harus punya kartu anggota gak?", "perpustakaan"),
        ("aku telat balikin buku 3 hari, dendanya brp?", "perpustakaan"),
        ("perpus keliling ke desa kami kapan lagi min?", "perpustakaan"),
        ("ipusnas nya error, gabisa baca ebook", "perpustakaan"),
        ("pw wifi di ruang baca apa kak", "perpustakaan"),
        ("mau cari arsip tanah kakek tahun 1970an, gmn caranya?", "kearsipan"),
        ("prosedur penelusuran arsip utk warisan apa aja min", "kearsipan"),
        ("pameran arsip di pendopo sampai kapan?", "kearsipan"),
        ("bedanya arsip statis dan dinamis apa ya", "kearsipan"),
        ("desa kami mau ikut bimtek pengelolaan arsip", "kearsipan"),
        ("punya surat lama jaman belanda, mau diserahkan ke dinas", "kearsipan"),
        ("dinas nerima anak PKL gak min?", "sekretariat"),
        ("info magang buat mahasiswa dong", "sekretariat"),
        ("mau mengajukan kerjasama dengan dinas, ke siapa?", "sekretariat"),
        ("permohonan informasi publik lewat PPID gimana?", "sekretariat"),
        ("mau komplain, pelayanan petugasnya jutek", "sekretariat"),
        ("terima kasih min atas bantuannya 🙏", "sekretariat"),
    ],
)
def test_routes_to_bidang(router: Router, text: str, bidang: str) -> None:
    d = router.route(text)
    assert (d.bidang, d.spam) == (bidang, False), d.reasons


def test_reasons_name_each_word_weight_and_bidang(router: Router) -> None:
    d = router.route("mau pinjem buku min")
    assert "kata 'pinjam' (+2.0) → perpustakaan" in d.reasons
    assert "kata 'buku' (+2.0) → perpustakaan" in d.reasons
    assert d.reasons[-1] == "skor tertinggi: perpustakaan 4.0"
    assert d.score == 4.0


def test_nothing_matching_goes_to_default(router: Router) -> None:
    d = router.route("halo selamat pagi 😊")
    assert (d.bidang, d.spam, d.score) == ("sekretariat", False, 0.0)
    assert d.reasons[-1] == "tidak ada kata kunci bidang yang cocok → bawaan: sekretariat"


def test_below_minimum_goes_to_default(router: Router) -> None:
    d = router.route("koleksinya bagus")  # koleksi +1.0 < min_score 2.0
    assert d.bidang == "sekretariat"
    assert "di bawah minimum 2.0 → bawaan: sekretariat" in d.reasons[-1]


def test_highest_score_wins(router: Router) -> None:
    d = router.route("pinjam buku atau cari arsip desa di kantor")  # 4.0 vs 3.5 vs 1.5
    assert d.bidang == "perpustakaan"
    assert d.reasons[-1] == "skor tertinggi: perpustakaan 4.0 (lainnya: kearsipan 3.5, sekretariat 1.5)"


def test_tie_goes_to_default(router: Router) -> None:
    d = router.route("buku dan surat lama")  # buku 2.0 vs "surat lama" 2.0
    assert d.bidang == "sekretariat"
    assert d.reasons[-1] == "skor seri 2.0 antara kearsipan, perpustakaan → bawaan: sekretariat"


def test_message_about_both_archives_and_library(router: Router) -> None:
    d = router.route("di gedung perpus ada arsip foto lama kendal gak?")
    assert d.bidang == "kearsipan"  # arsip 3 + foto lama 1.5 beats perpustakaan 2
    assert any(r.endswith("→ perpustakaan") for r in d.reasons)  # the other bidang is visible too


def test_route_many_and_to_json(router: Router) -> None:
    texts = ["pinjem buku", "slot gacor maxwin", "halo"]
    many = router.route_many(texts)
    assert many == [router.route(t) for t in texts]
    j = many[0].to_json()
    assert set(j) == {"bidang", "spam", "score", "reasons"}
    assert j["bidang"] == "perpustakaan" and j["spam"] is False and isinstance(j["reasons"], list)
    json.dumps(j)  # serialisable


# --------------------------------------------------------------------------------------------
# Spam
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("SLOT GACOR hari ini MAXWIN", "judi online"),
        ("s l o t g a c o r", "judi online"),
        ("m4xw1n di situs g4c0r", "judi online"),
        ("sl0t d3po 10rb", "judi online"),
        ("𝐌𝐀𝐗𝐖𝐈𝐍 🎰🎰", "judi online"),
        ("ⓈⓁⓄⓉ ⒼⒶⒸⓄⓇ", "judi online"),
        ("#slotgacor #maxwin", "judi online"),
        ("rtp live pola jam 12", "judi online"),
        ("link alternatif anti blokir https://t.co/x", "judi online"),
        ("depo 20k wd 1jt", "judi online"),
        ("pinjol cair tanpa BI checking", "pinjaman online ilegal"),
        ("jual followers aktif murah", "jual pengikut/like"),
        ("profit 20% per hari, robot trading", "investasi bodong/penipuan uang"),
    ],
)
def test_spam_is_flagged_and_not_forwarded(router: Router, text: str, label: str) -> None:
    d = router.route(text)
    assert d.spam and d.bidang is None, d.reasons
    assert d.reasons[0].startswith(f"spam: {label} (")
    assert "tidak diteruskan" in d.reasons[1]


def test_spam_reason_names_the_signals(router: Router) -> None:
    d = router.route("m4xw1n bosku")
    assert d.reasons[0] == "spam: judi online ('bosku', 'maxwin')"
    assert d.score == 4.0


def test_url_adds_weight_only_to_existing_signals(router: Router) -> None:
    assert router.route("gacor").score == 3.0
    assert router.route("gacor https://x.co/a").score == 4.0
    assert router.route("info lengkap https://dinarpus.kendalkab.go.id").spam is False


@pytest.mark.parametrize(
    "text",
    [
        "Masih ada slot kunjungan perpustakaan buat rombongan TK?",
        "slot kunjungan studi banding masih ada?",
        "Depo arsip buka hari apa aja min?",
        "akun ini sering dispam judol, tolong hapus komentar slot itu",
        "bisa perpanjang pinjaman buku online?",
        "ada buku investasi saham buat pemula?",
        "Kak, 10rb buat denda telat 2 hari ya?",
    ],
)
def test_legitimate_messages_with_spammy_words_are_not_spam(router: Router, text: str) -> None:
    d = router.route(text)
    assert not d.spam and d.bidang is not None, d.reasons


def test_weak_spam_signal_is_explained(router: Router) -> None:
    d = router.route("Depo arsip buka hari apa aja min?")
    assert d.bidang == "kearsipan"
    assert any(r.startswith("ada tanda judi online ('depo')") and "bukan spam" in r for r in d.reasons)


# --------------------------------------------------------------------------------------------
# Config errors
# --------------------------------------------------------------------------------------------
def _write(tmp_path: Path, data: object) -> Path:
    return write_yaml(tmp_path, "routing.yaml", data)


def _minimal() -> dict[str, Any]:
    return {
        "default": "sekretariat",
        "min_score": 2.0,
        "bidang": {
            "perpustakaan": {"keywords": {"buku": 2.0}},
            "sekretariat": {"phrases": {"terima kasih": 2.0}},
        },
        "spam": {"judi": {"label": "judi online", "threshold": 3.0, "keywords": {"gacor": 3.0}}},
    }


def test_minimal_rules_load_and_route(tmp_path: Path) -> None:
    r = Router(load_rules(_write(tmp_path, _minimal()), bidang_codes=CODES))
    assert r.route("pinjam bukunya").bidang == "perpustakaan"
    assert r.route("g4c0r").spam


def test_default_path_is_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, _minimal())
    monkeypatch.setenv("SOP_CONFIG_DIR", str(tmp_path))
    assert load_rules().source == (tmp_path / "routing.yaml").resolve()


_DELETE = object()


def _rules_file(tmp_path: Path, dotted: str, value: object) -> Path:
    """The minimal rules with ``value`` set at ``dotted`` (``a/b/c``; ``_DELETE`` removes the key)."""
    data = _minimal()
    *parents, last = dotted.split("/")
    node = data
    for part in parents:
        node = node[part]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return _write(tmp_path, data)


# `codes` column: None loads the rules alone, CODES checks them against office.yaml's bidang,
# _SOP_ROUTE runs `sop route`, which reads office.yaml itself and prints the problems on stderr.
_SOP_ROUTE = "sop route"


def _problems(path: Path, codes: Sequence[str] | str | None) -> list[str]:
    """The problem lines the rules at ``path`` are refused with."""
    if codes == _SOP_ROUTE:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stderr(err):
            assert main_route("halo", False, io.StringIO(), out, rules_path=path) == 2
        assert out.getvalue() == ""
        message = err.getvalue()
        assert "Konfigurasi kantor tidak valid" in message
        return [line.removeprefix("- ") for line in message.splitlines()[1:]]
    with pytest.raises(ConfigError) as exc:
        load_rules(path, bidang_codes=codes)
    assert "Konfigurasi kantor tidak valid" in str(exc.value)
    return exc.value.problems


_KW = "bidang/perpustakaan/keywords"


@pytest.mark.parametrize(
    ("where", "value", "codes", "key", "fix"),
    [
        (
            _KW,
            {"kartu anggota": 2.0},
            None,
            "bidang.perpustakaan.keywords.kartu anggota",
            "pindahkan ke 'phrases'",
        ),
        (
            "bidang/perpustakaan/phrases",
            {"buku": 2.0},
            None,
            "bidang.perpustakaan.phrases.buku",
            "ke 'keywords'",
        ),
        (_KW, {"pinjam": 0}, None, "bidang.perpustakaan.keywords", "bukan nol"),
        (_KW, {"pinjam": "banyak"}, None, "bidang.perpustakaan.keywords.pinjam", "harus berupa angka"),
        (_KW, "buku", None, "bidang.perpustakaan.keywords", "harus berupa pemetaan"),
        ("bidang/perpustakaan/kata", {"buku": 1.0}, None, "bidang.perpustakaan.kata", "kunci tidak dikenal"),
        ("spam/judi/patterns", {"(slot": 2.0}, None, "spam.judi.patterns", "bukan regex yang sah"),
        ("spam/judi/threshold", 0, None, "spam.judi.threshold", "lebih besar dari 0"),
        ("spam/judi/label", _DELETE, None, "spam.judi.label", "wajib diisi"),
        ("bidang/Perpus Daerah", {}, None, "bidang", "kode bidang 'Perpus Daerah' tidak sah"),
        ("min_score", -1, None, "min_score", "tidak boleh negatif"),
        pytest.param(
            "bidang/perpustakan",
            {"keywords": {"buku": 1.0}},
            CODES,
            "bidang.perpustakan",
            "kunci 'bidang.perpustakan': kode bidang 'perpustakan' tidak ada di office.yaml"
            " (yang ada: perpustakaan, kearsipan, sekretariat)",
            id="unknown-bidang-names-the-choices",
        ),
        pytest.param(
            "default",
            "umum",
            CODES,
            "default",
            "kunci 'default': bidang 'umum' tidak ada di office.yaml",
            id="default-must-be-an-office-bidang",
        ),
        pytest.param(
            "default",
            "umum",
            None,  # without office codes: must still be one of the rule's bidang
            "default",
            "kunci 'default': bidang 'umum' tidak ada di bawah 'bidang'",
            id="default-must-be-a-rule-bidang",
        ),
        pytest.param(
            "default",
            "humas",
            _SOP_ROUTE,
            "default",
            "kunci 'default': bidang 'humas' tidak ada di office.yaml",
            id="sop-route-prints-the-problem-and-exits-2",
        ),
    ],
)
def test_rule_errors_name_file_key_and_fix(
    tmp_path: Path, where: str, value: object, codes: Sequence[str] | str | None, key: str, fix: str
) -> None:
    path = _rules_file(tmp_path, where, value)
    line = next(p for p in _problems(path, codes) if f"kunci '{key}'" in p)
    assert line.startswith(f"{path.resolve()}: kunci '{key}'") and fix in line


def test_missing_key_is_the_only_problem(tmp_path: Path) -> None:
    path = _rules_file(tmp_path, "min_score", _DELETE)
    assert _problems(path, None) == [f"{path.resolve()}: kunci 'min_score': wajib diisi"]


def test_numeric_yaml_keys_are_words(tmp_path: Path) -> None:
    data = _minimal()
    data["spam"]["judi"]["keywords"] = {777: 1.5, "gacor": 3.0}
    r = Router(load_rules(_write(tmp_path, data)))
    assert r.route("gacor 777").score == 4.5


def test_office_rules_file_is_valid_against_office_codes(office_cfg: object) -> None:
    codes = [b.code for b in office_cfg.bidang]  # type: ignore[attr-defined]
    rules = load_rules(RULES, bidang_codes=codes)
    assert rules.default == "sekretariat" and set(rules.bidang) == set(CODES)


# --------------------------------------------------------------------------------------------
# `sop route`
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "bidang", "spam", "first", "reason"),
    [
        (
            "min mau pinjem buku",
            "perpustakaan",
            False,
            "Bidang tujuan: Bidang Perpustakaan (perpustakaan) — skor 4.0\nAlasan:\n",
            "  - kata 'pinjam' (+2.0) → perpustakaan",
        ),
        ("sl0t g4c0r", None, True, "SPAM — tidak diteruskan", "spam: judi online ('gacor', 'slot')"),
        (
            "arsip statis",
            "kearsipan",
            False,
            "Bidang tujuan: Bidang Kearsipan (kearsipan) — skor 5.0\nAlasan:\n",
            "  - kata 'arsip' (+3.0) → kearsipan",
        ),
    ],
)
def test_main_route_one_text_explained_and_as_json(
    text: str, bidang: str | None, spam: bool, first: str, reason: str
) -> None:
    out = io.StringIO()  # the rules alone (model=None; the learned router: test_routing_model.py)
    assert main_route(text, False, io.StringIO(), out, rules_path=RULES, model=None) == 0
    assert out.getvalue().startswith(first)
    assert reason in out.getvalue()
    out = io.StringIO()
    assert main_route(text, True, io.StringIO(), out, rules_path=RULES, model=None) == 0
    obj = json.loads(out.getvalue())
    assert obj["bidang"] == bidang and obj["spam"] is spam and obj["reasons"]


def test_main_route_json_reads_one_message_per_line() -> None:
    stdin = io.StringIO("pinjem buku\nSLOT GACOR 🎰\r\n\nmagang\n")
    out = io.StringIO()
    assert main_route(None, True, stdin, out, rules_path=RULES, model=None) == 0
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [(x["text"], x["bidang"], x["spam"]) for x in lines] == [
        ("pinjem buku", "perpustakaan", False),
        ("SLOT GACOR 🎰", None, True),
        ("", "sekretariat", False),
        ("magang", "sekretariat", False),
    ]
    # A spam decision also names its category (a key under 'spam' in routing.yaml).
    assert all(
        set(x) == {"text", "bidang", "spam", "score", "reasons"} | ({"kategori"} if x["spam"] else set())
        for x in lines
    )
    assert lines[1]["kategori"] == "judi_online"


def test_main_route_without_text_or_json_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main_route(None, False, io.StringIO(), io.StringIO(), rules_path=RULES) == 2
    assert "--json" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# Accuracy on the labelled sample
# --------------------------------------------------------------------------------------------
def test_sample_is_large_and_labelled_consistently() -> None:
    samples = load_samples(SAMPLE)
    assert len(samples) >= 150
    counts = {code: sum(s.bidang == code for s in samples) for code in CODES}
    assert counts["perpustakaan"] >= 50 and counts["kearsipan"] >= 40 and counts["sekretariat"] >= 25
    assert sum(s.spam for s in samples) >= 35
    assert len({s.text for s in samples}) == len(samples)


def test_accuracy_on_sample(router: Router) -> None:
    report = evaluate(router, load_samples(SAMPLE))
    print("\n\nAkurasi pengarahan pada tests/data/routing_sample.jsonl")
    print(report.table())
    if report.misses:
        print("Salah arah:")
        for sample, decision in report.misses:
            want = "spam" if sample.spam else sample.bidang
            got = "spam" if decision.spam else decision.bidang
            print(f"  [{want} → {got}] {sample.text}")
    assert report.bidang_accuracy >= 0.85
    for code, (correct, total) in report.per_bidang.items():
        assert correct / total >= 0.75, code
    assert report.spam_recall >= 0.9
    assert report.false_spam <= 2


def test_decision_is_frozen() -> None:
    d = RouteDecision("perpustakaan", False, 2.0, ("x",))
    with pytest.raises(AttributeError):
        d.bidang = "kearsipan"  # type: ignore[misc]
