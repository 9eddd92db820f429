"""Benchmark of SOP step 7 routing: throughput, linear time on long input, training time, accuracy.

    .venv/bin/python bench/bench_routing.py [--n 10000] [--seed 7] [--no-cv]

Targets (issue 12): routing >= 5,000 messages/s (rules + model), linear time on any input,
training on 10,000 examples <= 60 s; on the frozen test part bidang accuracy >= 95 %, spam
recall >= 95 %, false spam <= 1 %.

Messages for throughput and training are built from the labelled training part: two messages cut
and joined, with a random name, number, emoji and casing, so nearly every message is distinct text
(as in real traffic, the vocabulary repeats; per-word caches keep routing fast). Timed cold (every
cache empty, Sastrawi's own per-word cache included, as in the fresh task process of a sweep) and
warm (fresh messages, median of 3), in CPU time (what one core delivers) and wall time.

What is timed: a monitoring sweep routes the new items of a channel as ONE BATCH
(``LearnedRouter.route_many``: the rules message by message, the model's probabilities for the
whole batch at once), so the target applies to the batch figure ("kelompok"); routing one message
at a time (``route``, as ``sop route`` does) is printed beside it for comparison ("per pesan"). The
rules alone route message by message either way. The batch is scored in chunks of about
``BATCH_WORDS`` (2,000) words, some 40 messages, so a sweep of a few dozen new items gets the same
cost per message once the words are known; a cold sweep of only a few items pays the first-time
cost of each new word (Sastrawi stemming above all) over fewer messages.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sop_tasks.routing import LearnedRouter, Router, evaluate, load_rules, stem  # noqa: E402
from sop_tasks.routing.evaluation import (  # noqa: E402
    Sample,
    cross_validate,
    frozen_samples,
    train_samples,
)
from sop_tasks.routing.model import TextModel, train  # noqa: E402
from sop_tasks.routing.normalize import _sastrawi  # noqa: E402

RULES = REPO / "config" / "routing.yaml"
CODES = ("perpustakaan", "kearsipan", "sekretariat")
TARGET_RATE, TARGET_TRAIN_S = 5000.0, 60.0

_NAMES = ["kak rina", "pak budi", "bu sri", "mas agus", "dek nisa", "om joko", "mbak tari", "bang ucok"]
_EMOJI = ["🙏", "😭", "😁", "🔥", "👍", "😅", "✨", "", "", ""]


def make_samples(samples: list[Sample], n: int, rnd: random.Random) -> list[Sample]:
    """Distinct messages labelled like their first part."""
    out = []
    for _ in range(n):
        a, b = rnd.choice(samples), rnd.choice(samples)
        cut = rnd.randint(0, len(b.text) // 3)
        text = f"{rnd.choice(_NAMES)} {a.text} {b.text[:cut]} {rnd.randint(0, 99999)} {rnd.choice(_EMOJI)}"
        if rnd.random() < 0.2:
            text = text.upper()
        out.append(Sample(text, a.bidang, a.spam, a.kategori))
    return out


def rate(router: Router | LearnedRouter, messages: list[str], batch: bool) -> tuple[float, float]:
    """(messages per second of CPU time, per second of wall time): on a shared machine the CPU
    figure is what one core delivers; the wall figure includes waiting for a core. ``batch``: the
    messages as one batch (``route_many``, as a sweep routes them), else one ``route`` call each."""
    c, t = time.process_time(), time.perf_counter()
    if batch:
        router.route_many(messages)
    else:
        for m in messages:
            router.route(m)
    return len(messages) / (time.process_time() - c), len(messages) / (time.perf_counter() - t)


def empty_caches() -> None:
    """Empty the per-word caches shared by every router: the stem cache and Sastrawi's own (which
    training filled); each router and each copy of a model brings its own empty caches."""
    stem.cache_clear()
    _sastrawi()[0].get_cache().data.clear()


def throughput(rules, model: TextModel, train_part: list[Sample], n: int, rnd: random.Random) -> bool:
    print(f"\n## Throughput — {n:,} pesan (target >= {TARGET_RATE:,.0f} pesan/detik, CPU)")
    print("  kelompok = satu sapuan: route_many atas semua pesan (yang dipakai DAG pemantauan)")
    print("  per pesan = route satu per satu (seperti `sop route`), sebagai pembanding")
    ok = True
    for name, make, batch, counts in (
        ("aturan saja", lambda: Router(rules), False, True),
        ("aturan + model, per pesan", lambda: LearnedRouter(rules, replace(model)), False, False),
        ("aturan + model, kelompok", lambda: LearnedRouter(rules, replace(model)), True, True),
    ):
        empty_caches()
        router = make()  # fresh per-word caches (a copy of the model: its own empty row cache)
        gc.collect()  # the previous router's garbage is not charged to this one
        cold, cold_wall = rate(router, [s.text for s in make_samples(train_part, n, rnd)], batch)
        runs = [rate(router, [s.text for s in make_samples(train_part, n, rnd)], batch) for _ in range(3)]
        warm, warm_wall = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
        print(
            f"  {name:<26} dingin {cold:8,.0f} /s CPU ({cold_wall:,.0f} /s dinding)   "
            f"hangat {warm:8,.0f} /s CPU ({warm_wall:,.0f} /s dinding)" + ("" if counts else "   (info)")
        )
        if counts:
            ok = ok and min(cold, warm) >= TARGET_RATE
    return ok


def linear_time(rules, model) -> bool:
    print("\n## Waktu linear pada pesan panjang (detik per pesan)")
    router = LearnedRouter(rules, model)
    shapes = {
        "angka": lambda k: "1" * k,
        "a1a1…": lambda k: "a1" * (k // 2),
        "a.a.a…": lambda k: "a." * (k // 2),
        "s l o t…": lambda k: "s " * (k // 2),
        "kata+!": lambda k: ("abcdefghijklmnopqrstuvwxyz " * (k // 27 + 1))[:k],
        "@a@a…": lambda k: "@a" * (k // 2),
    }
    sizes = (1_000, 10_000, 100_000, 1_000_000)
    print(f"  {'bentuk':<10}" + "".join(f"{s:>12,}" for s in sizes))
    worst = 0.0
    for name, make in shapes.items():
        times = []
        for size in sizes:
            text = make(size)
            t = time.perf_counter()
            router.route(text)
            times.append(time.perf_counter() - t)
        worst = max(worst, times[-1])
        print(f"  {name:<10}" + "".join(f"{x:>12.4f}" for x in times))
    t = time.perf_counter()
    router.route("1" * 65_000)
    print(f"  65.000 angka (dulu 89 detik): {time.perf_counter() - t:.4f} detik")
    ok = worst < 1.0
    print(f"  terlama untuk 1.000.000 karakter: {worst:.3f} detik — {'linear' if ok else 'TERLALU LAMBAT'}")
    return ok


def training_time(rules, train_part: list[Sample], rnd: random.Random) -> bool:
    print(f"\n## Melatih pada 10.000 contoh (target <= {TARGET_TRAIN_S:.0f} detik)")
    big = make_samples(train_part, 10_000, rnd)
    c, t = time.process_time(), time.perf_counter()
    m = train(big, Router(rules), version="bench")
    took, wall = time.process_time() - c, time.perf_counter() - t
    print(f"  {took:.1f} detik CPU ({wall:.1f} detik dinding), {len(m.features):,} fitur")
    return took <= TARGET_TRAIN_S


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-cv", action="store_true", help="skip the 5-fold cross-validation")
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# Routing SOP langkah 7 — {os.cpu_count()} inti, beban rata-rata {load:.1f}")

    rules = load_rules(RULES, bidang_codes=CODES)
    train_part = train_samples()
    t = time.perf_counter()
    model = train(train_part, Router(rules), version="bench-latih")
    print(f"  model dari bagian latih ({len(train_part)} contoh): {time.perf_counter() - t:.1f} detik")

    ok = throughput(rules, model, train_part, args.n, rnd)
    ok = linear_time(rules, model) and ok
    ok = training_time(rules, train_part, rnd) and ok

    frozen = frozen_samples()
    print(f"\n## Bagian uji beku ({len(frozen)} pesan) — hanya aturan")
    print(evaluate(Router(rules), frozen).table())
    report = evaluate(LearnedRouter(rules, model), frozen)
    print(f"\n## Bagian uji beku ({len(frozen)} pesan) — aturan + model")
    print(report.table())
    print("batas:", "; ".join(report.bar_problems()) or "semua terpenuhi")
    ok = ok and not report.bar_problems()
    if not args.no_cv:
        cv = cross_validate(
            lambda part: LearnedRouter(rules, train(part, Router(rules), version="cv")), train_part
        )
        print(f"\n## Validasi silang 5 lipatan pada bagian latih ({len(train_part)} pesan)")
        print(cv.table())
    print(f"\nHasil: {'SEMUA TARGET TERPENUHI' if ok else 'ada target yang TIDAK terpenuhi'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
