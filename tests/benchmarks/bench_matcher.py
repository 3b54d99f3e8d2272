"""FAQ matcher benchmark: load time and per-question latency on a 10,000-phrasing KB,
and the cascade (fast path, slow path) on the shop knowledge bases.

    .venv/bin/python tests/benchmarks/bench_matcher.py                 # latency + load
    .venv/bin/python tests/benchmarks/bench_matcher.py --eval          # also faq_eval.py
    .venv/bin/python tests/benchmarks/bench_matcher.py --bench-dir ../shared/bench
    .venv/bin/python tests/benchmarks/bench_matcher.py --cascade       # fast/slow path costs

``--cascade`` builds each shop KB's state as the server does (calibration, sentence
encoder, phrasing vectors), then times every question of its query files through
the fast path, and the slow path for those the fast path is not sure of: fast-path
p50/p99 for the questions it answers on its own (target p50 <= 1 ms), the slow
path's cost per message, and the share of messages that take it.

The 10,000-phrasing KB is built in memory from the BANKING77 and CLINC150 KB
files of the bench directory: their 227 entries, then deterministic copies whose
phrasings have a word dropped, two words swapped or a letter doubled, with new
ids, until there are 10,000 phrasings (about 1,000 entries of 10 phrasings, the
size of a large shop FAQ). Questions are the two sets' test queries. Targets:
load <= 2 s, p50 <= 1 ms, p99 <= 5 ms per question (in process).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import MappingProxyType

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.kb.loader import load_kb
from bot.kb.matcher import Matcher
from bot.kb.model import Entry, KnowledgeBase, LocalizedEntry

SETS = ("banking77", "clinc150")
TARGET_PHRASINGS = 10_000


def _perturb(text: str, rng: random.Random) -> str:
    tokens = text.split()
    kind = rng.randrange(3)
    if kind == 0 and len(tokens) > 3:
        del tokens[rng.randrange(len(tokens))]
    elif kind == 1 and len(tokens) > 2:
        i = rng.randrange(len(tokens) - 1)
        tokens[i], tokens[i + 1] = tokens[i + 1], tokens[i]
    else:
        i = rng.randrange(len(tokens))
        word = tokens[i]
        if len(word) > 3:
            j = rng.randrange(1, len(word))
            tokens[i] = word[:j] + word[j - 1] + word[j:]
    return " ".join(tokens)


def big_kb(bench: Path) -> KnowledgeBase:
    base: list[Entry] = []
    for name in SETS:
        kb = load_kb(bench / name / "kb.csv").kb
        assert kb is not None, name
        base.extend(Entry(f"{name}:{e.id}", e.texts, e.tags) for e in kb)
    entries = list(base)
    count = sum(len(e.text("en").phrasings) for e in entries)
    rng = random.Random(7)
    copy = 0
    while count < TARGET_PHRASINGS:
        copy += 1
        for entry in base:
            text = entry.text("en")
            phrasings = [_perturb(p, rng) for p in text.phrasings][: TARGET_PHRASINGS - count]
            if not phrasings:
                break
            local = LocalizedEntry(phrasings[0], text.answer, tuple(phrasings[1:]))
            entries.append(Entry(f"{entry.id}~{copy}", MappingProxyType({"en": local})))
            count += len(phrasings)
    return KnowledgeBase(tuple(entries))


def queries(bench: Path) -> list[str]:
    out: list[str] = []
    for name in SETS:
        with (bench / name / "queries.csv").open(newline="", encoding="utf-8") as fh:
            out.extend(row["query"] for row in csv.DictReader(fh))
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_latency(bench: Path, limit: int) -> bool:
    kb = big_kb(bench)
    print(f"KB: {len(kb)} entries, {kb.phrasing_count()} phrasings")
    loads, cpu_loads = [], []
    matcher = None
    for _ in range(3):
        started, cpu_started = time.perf_counter(), time.process_time()
        matcher = Matcher(kb)
        loads.append(time.perf_counter() - started)
        cpu_loads.append(time.process_time() - cpu_started)
    assert matcher is not None
    load = statistics.median(loads)
    qs = queries(bench)
    rng = random.Random(1)
    rng.shuffle(qs)
    qs = qs[:limit]
    for q in qs[:200]:  # warm caches (speller), as a running server would be
        matcher.match(q)
    times, cpu_times = [], []
    for q in qs:
        started, cpu_started = time.perf_counter(), time.process_time()
        matcher.match(q)
        times.append((time.perf_counter() - started) * 1000)
        cpu_times.append((time.process_time() - cpu_started) * 1000)
    p50, p99 = percentile(times, 0.50), percentile(times, 0.99)
    ok = load <= 2.0 and p50 <= 1.0 and p99 <= 5.0
    print(
        f"machine load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
        "(wall times grow with it; CPU times do not)"
    )
    print(
        f"load: {load:.2f} s wall, {statistics.median(cpu_loads):.2f} s CPU "
        "(median of 3; target <= 2 s)"
    )
    print(
        f"latency over {len(times)} questions: p50 {p50:.3f} ms, p90 "
        f"{percentile(times, 0.90):.3f} ms, p99 {p99:.3f} ms, max {max(times):.3f} ms "
        f"(targets p50 <= 1 ms, p99 <= 5 ms)"
    )
    print(
        f"CPU time per question: p50 {percentile(cpu_times, 0.50):.3f} ms, "
        f"p99 {percentile(cpu_times, 0.99):.3f} ms (unaffected by other processes)"
    )
    print("latency/load:", "OK" if ok else "BELOW TARGET")
    return ok


def run_eval(bench: Path) -> bool:
    ok = True
    for name in SETS:
        cmd = [
            sys.executable,
            str(bench / "faq_eval.py"),
            str(bench / name / "kb.csv"),
            str(bench / name / "queries.csv"),
            "--cmd",
            f"{sys.executable} -m bot",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
        print(f"{name}: {proc.stdout.strip() or proc.stderr.strip()[-500:]}")
        ok = ok and proc.returncode == 0
    return ok


CASCADE_SETS = (
    ("knowledge_base", ("tests/data/shop_queries.csv", "tests/data/shop_queries_new.csv")),
    ("tests/data/kb_bikes/faq.csv", ("tests/data/kb_bikes/queries.csv",)),
)


def bench_cascade() -> bool:
    import tempfile

    from threadpoolctl import threadpool_limits

    from bot.kb.matcher import MatcherConfig
    from bot.kb.semantic import EmbeddingCache, load_encoder
    from bot.kb.service import BUILT, build_state

    threadpool_limits(1)  # as in the slow path's worker processes
    started = time.perf_counter()
    encoder, warning = load_encoder("inline")
    if encoder is None:
        print(warning)
        return False
    print(f"sentence encoder loaded in {time.perf_counter() - started:.2f} s")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for kb_path, query_files in CASCADE_SETS:
            kb = load_kb(ROOT / kb_path).kb
            assert kb is not None
            for cached in (False, True):
                cache = EmbeddingCache(Path(tmp))
                started, cpu = time.perf_counter(), time.process_time()
                BUILT.clear()  # time the whole build (matcher, vectors, calibration)
                state = build_state(kb, MatcherConfig(), (), encoder, cache)
                print(
                    f"{kb_path}: {len(kb)} entries, {kb.phrasing_count()} phrasings; state "
                    f"built in {time.perf_counter() - started:.2f} s wall, "
                    f"{time.process_time() - cpu:.2f} s CPU "
                    f"({'vectors from the cache' if cached else 'phrasings encoded'})"
                )
            faq = state.faq
            qs: list[str] = []
            for name in query_files:
                with (ROOT / name).open(newline="", encoding="utf-8") as fh:
                    qs.extend(row["query"] for row in csv.DictReader(fh))
            for q in qs[:50]:
                faq.match(q)  # warm caches
            sure_ms, unsure_ms, slow_ms = [], [], []
            for q in qs:
                t0 = time.perf_counter()
                fast = faq.fast(q)
                t1 = time.perf_counter()
                (sure_ms if fast.sure else unsure_ms).append((t1 - t0) * 1000)
                if not fast.sure:
                    faq.slow(q, None, fast)
                    slow_ms.append((time.perf_counter() - t1) * 1000)
            share = len(slow_ms) / len(qs)
            p50 = percentile(sure_ms, 0.5) if sure_ms else 0.0
            print(
                f"  {len(qs)} questions; fast path sure of {len(sure_ms)}: p50 {p50:.3f} ms, "
                f"p99 {percentile(sure_ms, 0.99) if sure_ms else 0.0:.3f} ms "
                "(target p50 <= 1 ms)"
            )
            if slow_ms:
                print(
                    f"  slow path taken by {share:.0%} of messages: fast path p50 "
                    f"{percentile(unsure_ms, 0.5):.3f} ms, then slow path p50 "
                    f"{percentile(slow_ms, 0.5):.2f} ms, p99 {percentile(slow_ms, 0.99):.2f} ms, "
                    f"mean {statistics.fmean(slow_ms):.2f} ms per message"
                )
            ok = ok and p50 <= 1.0
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--bench-dir",
        type=Path,
        default=ROOT.parent / "shared" / "bench",
        help="folder with banking77/, clinc150/ and faq_eval.py "
        "(default ../shared/bench next to the repository)",
    )
    parser.add_argument("--eval", action="store_true", help="also run faq_eval.py on both sets")
    parser.add_argument("--queries", type=int, default=5000, help="questions to time")
    parser.add_argument(
        "--cascade",
        action="store_true",
        help="time the fast and slow paths on the shop knowledge bases instead",
    )
    args = parser.parse_args()
    if args.cascade:
        return 0 if bench_cascade() else 1
    if not (args.bench_dir / "banking77" / "kb.csv").is_file():
        print(f"no bench data in {args.bench_dir}", file=sys.stderr)
        return 2
    ok = bench_latency(args.bench_dir, args.queries)
    if args.eval:
        ok = run_eval(args.bench_dir) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
