"""The ``supportbot`` command line: a thin layer over the library.

Each sub-command lives in its own module under ``bot.cli`` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a callable
taking the parsed ``argparse.Namespace`` and returning an exit status. Command
modules import heavy dependencies inside their functions so that quick commands
(``ask``, ``mood``) start fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from bot import __version__
from bot.settings import SettingsError

# Order here is the order in `supportbot --help`.
COMMAND_MODULES = (
    "bot.cli.serve",
    "bot.cli.kb",
    "bot.cli.mood",
    "bot.cli.agent",
    "bot.cli.report",
    "bot.cli.export",
    "bot.cli.privacy",
    "bot.cli.database",
)


class CommandError(Exception):
    """A user-facing error: printed as ``supportbot: error: ...``, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="supportbot",
        description="Self-hosted live-support chat: FAQ bot, human agents, CSAT reports.",
    )
    parser.add_argument("--version", action="version", version=f"supportbot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CommandError, SettingsError) as exc:
        parser.exit(2, f"supportbot: error: {exc}\n")
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `supportbot export ... | head`
        sys.stderr.close()
        return 0
