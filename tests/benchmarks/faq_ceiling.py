"""How much of a FAQ set the bot could answer at 5% wrong, with its own confidence.

    .venv/bin/python tests/benchmarks/faq_ceiling.py                # every set below
    .venv/bin/python tests/benchmarks/faq_ceiling.py KB QUERIES     # one set

The bot answers outright when its confidence (the calibrated probability of the
best entry, ``score`` in ``supportbot ask --json``) reaches the threshold learnt
from the knowledge base's own held-out phrasings. This script asks, afterwards and
with the answers known: what share of the in-scope questions would a threshold
picked on these very questions answer right, with at most 5% (and 10%) of the
outright answers wrong, out-of-scope questions included? That is the most any
choice of a single threshold can give with the same evidence and ranking, so an
``answered`` target above it needs better evidence (a better encoder, more
phrasings), not better calibration.

Queries files have the columns ``query,expected`` (``expected`` empty, ``oos`` or
``out_of_scope`` for a question no entry covers), as ``../shared/bench/faq_eval.py``
reads them.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT.parent / "shared" / "bench"
OUT_OF_SCOPE = {"", "none", "oos", "out_of_scope"}

SETS = [
    ("bundled shop", ROOT / "knowledge_base", ROOT / "tests/data/shop_queries.csv"),
    ("new shop questions", ROOT / "knowledge_base", ROOT / "tests/data/shop_queries_new.csv"),
    ("second shop", ROOT / "tests/data/kb_bikes/faq.csv", ROOT / "tests/data/kb_bikes/queries.csv"),
    ("xSID it", BENCH / "ext/xsid_it/kb.csv", BENCH / "ext/xsid_it/queries_dev.csv"),
    ("xSID en", BENCH / "ext/xsid_en/kb.csv", BENCH / "ext/xsid_en/queries_dev.csv"),
    ("Bitext en", BENCH / "ext/bitext_en/kb.csv", BENCH / "ext/bitext_en/queries_dev.csv"),
    ("BANKING77", BENCH / "banking77/kb.csv", BENCH / "banking77/queries.csv"),
    ("CLINC150", BENCH / "clinc150/kb.csv", BENCH / "clinc150/queries.csv"),
]


def ask(kb: Path, queries: list[str]) -> list[dict[str, object]]:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("".join(q.replace("\n", " ") + "\n" for q in queries))
    try:
        out = subprocess.run(
            [sys.executable, "-m", "bot", "ask", "--kb", str(kb), "--batch", fh.name, "--json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        Path(fh.name).unlink()
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def ceiling(scored: list[tuple[float, bool]], in_scope: int, wrong_at_most: float) -> float:
    """The largest share of in-scope questions answered right by answering every
    question whose score is at least some threshold, with at most ``wrong_at_most``
    of those answers wrong."""
    best = 0.0
    right = wrong = 0
    ordered = sorted(scored, key=lambda x: -x[0])
    for i, (score, ok) in enumerate(ordered):
        right, wrong = right + ok, wrong + (not ok)
        last_of_tie = i + 1 == len(ordered) or ordered[i + 1][0] < score
        if last_of_tie and wrong <= wrong_at_most * (right + wrong):
            best = max(best, right / in_scope)
    return best


def measure(name: str, kb: Path, queries_file: Path) -> dict[str, float | str]:
    with queries_file.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    results = ask(kb, [r["query"] for r in rows])
    if len(results) != len(rows):
        raise SystemExit(f"{name}: {len(rows)} questions, {len(results)} answers")
    in_scope = top1 = answered = wrong = given = 0
    scored: list[tuple[float, bool]] = []
    for row, result in zip(rows, results, strict=True):
        expected = row["expected"].strip()
        oos = expected.lower() in OUT_OF_SCOPE
        right = not oos and result["entry_id"] == expected
        in_scope += not oos
        top1 += right
        if result["action"] == "answer":
            given += 1
            answered += right
            wrong += not right
        if result["entry_id"] is not None:
            scored.append((float(result["score"]), right))  # type: ignore[arg-type]
    return {
        "set": name,
        "top1": top1 / in_scope,
        "answered": answered / in_scope,
        "wrong": wrong / given if given else 0.0,
        "ceiling5": ceiling(scored, in_scope, 0.05),
        "ceiling10": ceiling(scored, in_scope, 0.10),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kb", nargs="?", type=Path)
    parser.add_argument("queries", nargs="?", type=Path)
    args = parser.parse_args()
    if args.kb is not None and args.queries is None:
        parser.error("give both KB and QUERIES, or neither")
    sets = [(args.kb.name, args.kb, args.queries)] if args.kb else SETS
    print(
        f"{'set':20s} {'top1':>6s} {'answered':>9s} {'wrong':>6s}  answered at most, 5% / 10% wrong"
    )
    for name, kb, queries in sets:
        if not kb.exists() or not queries.exists():
            print(f"{name:20s} (missing: {kb if not kb.exists() else queries})")
            continue
        f = measure(name, kb, queries)
        print(
            f"{name:20s} {f['top1']:6.3f} {f['answered']:9.3f} {f['wrong']:6.3f}  "
            f"{f['ceiling5']:.3f} / {f['ceiling10']:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
