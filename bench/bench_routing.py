"""Benchmark of SOP step 7 routing: throughput (target >= 5,000 items/s) and sample accuracy.

    .venv/bin/python bench/bench_routing.py [--n 10000] [--seed 7]

The 10,000 messages are built from the labelled sample: two sample messages cut and joined, with
a random name, number, emoji and casing, so nearly every message is distinct text (as in real
traffic, the vocabulary repeats; per-word caches are what keeps routing fast). Timed twice: cold
(every cache empty, Sastrawi stemming each new word) and warm (a second batch of fresh messages).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sop_tasks.routing import Router, evaluate, load_rules, load_samples, stem  # noqa: E402

SAMPLE = REPO / "tests" / "data" / "routing_sample.jsonl"
RULES = REPO / "config" / "routing.yaml"
TARGET = 5000.0

_NAMES = ["kak rina", "pak budi", "bu sri", "mas agus", "dek nisa", "om joko", "mbak tari", "bang ucok"]
_EMOJI = ["🙏", "😭", "😁", "🔥", "👍", "😅", "✨", "", "", ""]


def make_messages(texts: list[str], n: int, rnd: random.Random) -> list[str]:
    out = []
    for _ in range(n):
        a, b = rnd.choice(texts), rnd.choice(texts)
        cut = rnd.randint(0, len(b))
        msg = f"{rnd.choice(_NAMES)} {a} {b[:cut]} {rnd.randint(0, 99999)} {rnd.choice(_EMOJI)}"
        if rnd.random() < 0.2:
            msg = msg.upper()
        out.append(msg)
    return out


def timed(router: Router, messages: list[str]) -> float:
    t = time.perf_counter()
    router.route_many(messages)
    return len(messages) / (time.perf_counter() - t)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    samples = load_samples(SAMPLE)
    rnd = random.Random(args.seed)
    texts = [s.text for s in samples]

    t = time.perf_counter()
    router = Router(load_rules(RULES, bidang_codes=("perpustakaan", "kearsipan", "sekretariat")))
    setup_ms = (time.perf_counter() - t) * 1000

    stem.cache_clear()
    router = Router(router.rules)  # fresh per-word caches
    cold = timed(router, make_messages(texts, args.n, rnd))
    warm = [timed(router, make_messages(texts, args.n, rnd)) for _ in range(3)]

    print(f"Routing SOP langkah 7 — {args.n:,} pesan (target >= {TARGET:,.0f} pesan/detik)")
    print(f"  muat aturan + Sastrawi : {setup_ms:8.1f} ms")
    print(f"  dingin (cache kosong)  : {cold:8,.0f} pesan/detik")
    print(f"  hangat (median 3x)     : {statistics.median(warm):8,.0f} pesan/detik")
    ok = min(cold, statistics.median(warm)) >= TARGET
    print(f"  target {'TERPENUHI' if ok else 'TIDAK terpenuhi'}")

    report = evaluate(router, samples)
    print(f"\nAkurasi pada {SAMPLE.relative_to(REPO)} ({len(samples)} pesan berlabel)")
    print(report.table())
    for sample, decision in report.misses:
        want = "spam" if sample.spam else sample.bidang
        got = "spam" if decision.spam else decision.bidang
        print(f"  salah: [{want} → {got}] {sample.text}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
