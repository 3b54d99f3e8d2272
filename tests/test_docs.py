"""The README stays true: every command, setting, event type and error code is in it."""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
from pathlib import Path

from bot.cli import build_parser
from bot.errors import MESSAGES
from bot.events import EVENT_TYPES
from bot.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands(parser: argparse.ArgumentParser, prefix: str = "supportbot") -> list[str]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append(f"{prefix} {name}")
                found.extend(commands(sub, f"{prefix} {name}"))
    return found


def test_every_cli_command_is_documented() -> None:
    missing = [c for c in commands(build_parser()) if c not in README]
    assert not missing, f"commands missing from README.md: {missing}"


def test_every_setting_is_documented() -> None:
    missing = [
        ENV_PREFIX + f.name.upper()
        for f in dataclasses.fields(Settings)
        if ENV_PREFIX + f.name.upper() not in README
    ]
    assert not missing, f"settings missing from README.md: {missing}"


def test_every_event_type_is_documented() -> None:
    missing = [name for name in EVENT_TYPES if f"`{name}`" not in README]
    assert not missing, f"event types missing from README.md: {missing}"


def test_every_error_code_is_documented() -> None:
    missing = [code for code in MESSAGES if f"`{code}`" not in README]
    assert not missing, f"error codes missing from README.md: {missing}"


def test_the_readme_commands_are_the_ones_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "sh tests/run.sh" in ci and "sh tests/run.sh" in README


def test_help_lists_every_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    top = [c.split()[1] for c in commands(build_parser()) if len(c.split()) == 2]
    assert all(name in result.stdout for name in top), result.stdout
