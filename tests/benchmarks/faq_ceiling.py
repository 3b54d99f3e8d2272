"""How much of a FAQ set the bot could answer at 5% wrong, with its own confidence.

    .venv/bin/python tests/benchmarks/faq_ceiling.py                # every set below
    .venv/bin/python tests/benchmarks/faq_ceiling.py KB QUERIES     # one set

The bot answers outright when its confidence (``score`` in ``supportbot ask --json``:
the fast path's calibrated probability when that path is sure, else the slow
path's) reaches the threshold its knowledge base learnt from its own held-out
phrasings, one per path. This script asks, afterwards and with the answers known:
what share of the in-scope questions would thresholds picked on these very
questions answer right, with at most 5% (and 10%) of the outright answers wrong,
out-of-scope questions included? Two readings: one threshold on the score, and one
threshold per path (the fast path's questions stay with it, as the bot decides).
With a ``lang`` column, each language is also read on its own (its own thresholds).
That is the most any choice of thresholds can give with the same confidences, so an
``answered`` target above it needs a confidence that ranks right and wrong answers
apart better (a better encoder, more phrasings), not another calibration.

Queries files have the columns ``query,expected`` (``expected`` is ``none`` for a
question no entry covers), as ``../shared/bench/faq_eval.py`` reads them.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT.parent / "shared" / "bench"
OUT_OF_SCOPE = "none"  # faq_eval.py's marker

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
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as fh:
        fh.write("".join(q.replace("\n", " ") + "\n" for q in queries))
    try:
        out = subprocess.run(
            [sys.executable, "-m", "bot", "ask", "--kb", str(kb), "--batch", fh.name, "--json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
    finally:
        Path(fh.name).unlink()
    if out.returncode:
        raise SystemExit(f"supportbot ask failed on {kb}:\n{out.stderr}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def _steps(scored: list[tuple[float, bool]]) -> tuple[np.ndarray, np.ndarray]:
    """Right and wrong answers given by each threshold on ``scored``, from answering
    nothing to answering everything (a threshold never splits a tie)."""
    ordered = sorted(scored, key=lambda x: -x[0])
    right, wrong = [0], [0]
    r = w = 0
    for i, (score, ok) in enumerate(ordered):
        r, w = r + ok, w + (not ok)
        if i + 1 == len(ordered) or ordered[i + 1][0] < score:
            right.append(r)
            wrong.append(w)
    return np.array(right, dtype=np.int64), np.array(wrong, dtype=np.int64)


def ceiling(groups: list[list[tuple[float, bool]]], in_scope: int, wrong_at_most: float) -> float:
    """The largest share of ``in_scope`` questions answered right with one threshold
    per group (each question answered when its score reaches its group's threshold),
    with at most ``wrong_at_most`` of the answers wrong."""
    if not in_scope:
        return float("nan")
    right, wrong = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
    for group in groups:
        r, w = _steps(group)
        both_right = (right[:, None] + r[None, :]).ravel()
        both_wrong = (wrong[:, None] + w[None, :]).ravel()
        # the frontier only: for each number of wrong answers, the most right ones
        most = np.full(int(both_wrong.max()) + 1, -1, dtype=np.int64)
        np.maximum.at(most, both_wrong, both_right)
        wrong = np.flatnonzero(most >= 0)
        right = most[wrong]
    ok = wrong <= wrong_at_most * (right + wrong)
    return float(right[ok].max()) / in_scope if ok.any() else 0.0


def measure(rows: list[dict[str, str]], results: list[dict[str, Any]]) -> dict[str, float]:
    in_scope = top1 = answered = wrong = given = 0
    by_path: dict[str, list[tuple[float, bool]]] = {}
    for row, result in zip(rows, results, strict=True):
        expected = row["expected"].strip()
        oos = expected == OUT_OF_SCOPE
        right = not oos and result["entry_id"] == expected
        in_scope += not oos
        top1 += right
        if result["action"] == "answer":
            given += 1
            answered += right
            wrong += not right
        if result["entry_id"] is not None:  # a fallback without one is never answered
            path = str(result.get("path") or "fast")
            by_path.setdefault(path, []).append((float(result["score"]), right))
    pooled = [[x for group in by_path.values() for x in group]]
    paths = list(by_path.values())
    return {
        "top1": top1 / in_scope if in_scope else float("nan"),
        "answered": answered / in_scope if in_scope else float("nan"),
        "wrong": wrong / given if given else 0.0,
        "one5": ceiling(pooled, in_scope, 0.05),
        "paths5": ceiling(paths, in_scope, 0.05),
        "paths10": ceiling(paths, in_scope, 0.10),
    }


def report(name: str, kb: Path, queries_file: Path) -> None:
    with queries_file.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    results = ask(kb, [r["query"] for r in rows])
    if len(results) != len(rows):
        raise SystemExit(f"{name}: {len(rows)} questions, {len(results)} answers")
    parts = [(name, rows, results)]
    langs = sorted({r.get("lang", "") for r in rows} - {""})
    if len(langs) > 1:
        for lang in langs:
            mine = [i for i, r in enumerate(rows) if r.get("lang") == lang]
            parts.append((f"  {lang}", [rows[i] for i in mine], [results[i] for i in mine]))
    for label, part_rows, part_results in parts:
        f = measure(part_rows, part_results)
        print(
            f"{label:20s} {f['top1']:6.3f} {f['answered']:9.3f} {f['wrong']:6.3f}  "
            f"{f['one5']:14.3f}  {f['paths5']:.3f} / {f['paths10']:.3f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kb", nargs="?", type=Path)
    parser.add_argument("queries", nargs="?", type=Path)
    args = parser.parse_args()
    if args.kb is not None and args.queries is None:
        parser.error("give both KB and QUERIES, or neither")
    sets = [(args.kb.name, args.kb, args.queries)] if args.kb else SETS
    print(
        f"{'set':20s} {'top1':>6s} {'answered':>9s} {'wrong':>6s}  one threshold, 5%  "
        "a threshold per path, 5% / 10% wrong"
    )
    for name, kb, queries in sets:
        if not kb.exists() or not queries.exists():
            print(f"{name:20s} (missing: {kb if not kb.exists() else queries})")
            continue
        report(name, kb, queries)


if __name__ == "__main__":
    main()
