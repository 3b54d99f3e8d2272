"""``supportbot mood``: single messages, batches, JSON and readable output, errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = main(["mood", *argv])
    return status, capsys.readouterr().out


def test_single_message_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "--json", "passami un operatore umano")
    assert status == 0
    [line] = out.splitlines()
    obj = json.loads(line)
    assert obj["message"] == "passami un operatore umano"
    assert obj["escalate"] is True and obj["asks_for_person"] is True
    assert obj["reasons"] == ["asks for a person"]
    assert isinstance(obj["score"], float)


def test_single_message_readable(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "WHERE IS MY ORDER???")
    assert status == 0
    assert out.startswith("ESCALATE")
    assert "shouting" in out and "WHERE IS MY ORDER???" in out
    _, out = run(capsys, "what are your opening hours")
    assert out.startswith("ok") and "no concern" in out


def test_batch_gives_one_object_per_line_in_order(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    lines = [
        "what are your delivery times",
        "",
        "I want to speak to a human",
        "😡😡",
        "jestem wściekły",
        "?!?!",
        "x" * 2000,
    ]
    batch = tmp_path / "messages.txt"
    batch.write_text("\n".join(lines) + "\n", encoding="utf-8")
    status, out = run(capsys, "--batch", str(batch), "--json")
    assert status == 0
    objects = [json.loads(line) for line in out.splitlines()]
    assert [o["message"] for o in objects] == lines
    assert [o["escalate"] for o in objects] == [False, False, True, True, True, False, False]
    assert all(set(o) >= {"message", "escalate", "score", "reasons"} for o in objects)


def test_batch_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("hello\r\nthis is outrageous\n"))
    status, out = run(capsys, "--batch", "-", "--json")
    assert status == 0
    objects = [json.loads(line) for line in out.splitlines()]
    assert [o["message"] for o in objects] == ["hello", "this is outrageous"]
    assert [o["escalate"] for o in objects] == [False, True]


def test_undecodable_input_is_replaced(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    batch = tmp_path / "bad.txt"
    batch.write_bytes(b"caf\xe9 is closed\n\xff\xfe\n")
    status, out = run(capsys, "--batch", str(batch), "--json")
    assert status == 0
    objects = [json.loads(line) for line in out.splitlines()]
    assert [o["message"] for o in objects] == ["caf\ufffd is closed", "\ufffd\ufffd"]
    status, out = run(capsys, "--json", "broken \udcff surrogate")
    assert status == 0 and json.loads(out)["message"] == "broken ? surrogate"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((), "give either a MESSAGE or --batch FILE"),
        (("hello", "--batch", "x.txt"), "give either a MESSAGE or --batch FILE"),
        (("--batch", "/nonexistent/messages.txt"), "no such file"),
    ],
)
def test_usage_errors(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["mood", *argv])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_help_lists_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["mood", "--help"])
    out = capsys.readouterr().out
    assert "--batch" in out and "--json" in out


def test_module_entry_point_for_the_scorer(tmp_path: Path) -> None:
    """What ../shared/bench/mood_eval.py runs: ``python -m bot mood --batch FILE --json``."""
    batch = tmp_path / "m.txt"
    batch.write_text("transfer me to a live agent\nthank you very much\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "mood", "--batch", str(batch), "--json"],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    objects = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o["escalate"] for o in objects] == [True, False]


def test_command_module_starts_without_the_detector() -> None:
    """Registering the command must not import the detector (CLI start-up stays fast)."""
    code = (
        "import sys, argparse; import bot.cli.mood as m; "
        "m.register(argparse.ArgumentParser().add_subparsers()); "
        "print('bot.mood.detector' in sys.modules, 'textblob' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.stdout.split() == ["False", "False"], proc.stderr
