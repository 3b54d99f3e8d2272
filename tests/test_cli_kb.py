"""``supportbot ask`` and ``supportbot kb check|export`` through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

DATA = Path(__file__).parent / "data"
SMALL = DATA / "kb_small"
ROOT = Path(__file__).parent.parent


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        input=stdin,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_ask_batch_json_one_line_per_question_in_order(tmp_path: Path):
    questions = [
        "How long does delivery take?",
        "",
        "😀",
        "Ile kosztuje wysyłka?",
        "What is the capital of Australia?",
        "x" * 2000,
        "my order",
    ]
    batch = tmp_path / "q.txt"
    batch.write_text("\n".join(questions) + "\n", encoding="utf-8")
    proc = run_cli("ask", "--kb", str(SMALL), "--batch", str(batch), "--json")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["query"] for r in rows] == questions
    for row in rows:
        assert set(row) >= {"query", "action", "entry_id", "score", "suggestions"}
        assert row["action"] in ("answer", "suggest", "fallback")
        assert isinstance(row["suggestions"], list) and len(row["suggestions"]) <= 3
    assert (rows[0]["action"], rows[0]["entry_id"]) == ("answer", "delivery-time")
    assert rows[1] == {
        "query": "",
        "action": "fallback",
        "entry_id": None,
        "score": 0.0,
        "suggestions": [],
        "language": "en",
        "path": "fast",
    }
    assert rows[2]["action"] == "fallback" and rows[2]["entry_id"] is None
    assert (rows[3]["entry_id"], rows[3]["language"]) == ("shipping-cost", "pl")
    assert rows[4]["action"] == "fallback"
    assert rows[6]["action"] == "suggest" and rows[6]["suggestions"][0] == rows[6]["entry_id"]


def test_ask_reads_a_csv_kb_and_stdin():
    proc = run_cli(
        "ask",
        "--kb",
        str(DATA / "kb_csv" / "faq.csv"),
        "--batch",
        "-",
        "--json",
        stdin="when will my order arrive\nhow do I return an item\n",
    )
    assert proc.returncode == 0, proc.stderr
    ids = [json.loads(line)["entry_id"] for line in proc.stdout.splitlines()]
    assert ids == ["delivery-time", "return-policy"]


def test_ask_prints_the_answer_text(capsys: pytest.CaptureFixture[str]):
    assert main(["ask", "--kb", str(SMALL), "can", "I", "pay", "with", "PayPal?"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("answer [payment-methods]")
    assert "We accept cards, PayPal and bank transfer." in out
    assert main(["ask", "--kb", str(SMALL), "--lang", "it", "come posso pagare con PayPal"]) == 0
    assert "Accettiamo carte, PayPal e bonifico bancario." in capsys.readouterr().out
    assert main(["ask", "--kb", str(SMALL), "tell me a joke about penguins"]) == 0
    assert capsys.readouterr().out.startswith("fallback")


def test_ask_errors_are_reported_not_raised(tmp_path: Path):
    proc = run_cli("ask", "--kb", str(tmp_path / "nope"), "hello")
    assert proc.returncode == 2 and "no valid knowledge base" in proc.stderr
    proc = run_cli("ask", "--kb", str(SMALL))
    assert proc.returncode == 2 and "QUESTION" in proc.stderr
    proc = run_cli("ask", "--kb", str(SMALL), "--batch", str(tmp_path / "missing.txt"))
    assert proc.returncode == 2 and "missing.txt" in proc.stderr


def test_kb_check_lists_problems_with_file_and_line():
    proc = run_cli("kb", "check", str(DATA / "kb_broken"))
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert any(
        line.startswith(str(DATA / "kb_broken" / "syntax.toml") + ":8: TOML syntax error")
        for line in lines
    )
    assert any(":5: duplicate id 'dup-id'" in line for line in lines)
    assert any(":16: entry 'empty-answer' (en): empty answer" in line for line in lines)
    assert lines[-1].endswith("10 problem(s)")


def test_kb_check_clean_kb(capsys: pytest.CaptureFixture[str]):
    assert main(["kb", "check", str(SMALL)]) == 0
    assert capsys.readouterr().out.strip().endswith("6 entries (en, it, pl): OK")


def test_kb_export_writes_csv_that_loads_back(tmp_path: Path):
    out = tmp_path / "kb.csv"
    proc = run_cli("kb", "export", "--kb", str(SMALL), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert header == "id,question,answer,alternates,tags,lang,keywords,topic"
    check = run_cli("kb", "check", str(out))
    assert check.returncode == 0 and "6 entries (en, it, pl): OK" in check.stdout
    to_stdout = run_cli("kb", "export", "--kb", str(SMALL))
    assert to_stdout.stdout == out.read_text(encoding="utf-8")
