"""Arguments and checks shared by several commands."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_DB = Path("supportbot.db")


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", type=Path, help=f"SQLite database file (default ./{DEFAULT_DB}, or SUPPORTBOT_DB)"
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        help="PostgreSQL instead of the SQLite file: postgresql://USER:PASSWORD@HOST:PORT/DB "
        "(or SUPPORTBOT_DATABASE)",
    )


def db_path(args: argparse.Namespace) -> Path | str:
    """The SQLite file, or the PostgreSQL URL given by --database / SUPPORTBOT_DATABASE."""
    from bot.settings import settings_from_env

    settings = settings_from_env(
        db=getattr(args, "db", None), database=getattr(args, "database", None)
    )
    check_database_url(settings.database)
    return settings.store


def check_database_url(database: str) -> None:
    """--database / SUPPORTBOT_DATABASE, when given, must be a PostgreSQL URL."""
    from bot.cli import CommandError
    from bot.store.postgres import redact

    if database and not is_url(database):
        raise CommandError(
            f"--database {redact(database)}: expected a postgresql:// URL "
            "(a SQLite file is given with --db)"
        )


def is_url(target: object) -> bool:
    from bot.store.postgres import is_url as url

    return url(target)


def db_label(target: Path | str) -> str:
    """``--db FILE`` or ``--database URL`` (without its password), for messages."""
    from bot.store.postgres import redact

    return f"--database {redact(str(target))}" if is_url(target) else f"--db {target}"


def check_db_path(path: Path | str, *, must_exist: bool = False, readonly_ok: bool = False) -> None:
    """Fail early, with a clear message, when the database cannot be used.

    With ``readonly_ok`` (the server), an existing read-only file only warns: the
    service starts, refuses writes with ``storage_unavailable`` and recovers as
    soon as the file is writable again.
    """
    from bot.cli import CommandError

    if is_url(path):  # PostgreSQL: the connection says what is wrong
        return
    path = Path(path)
    if path.is_dir():
        raise CommandError(f"--db {path} is a directory, not a database file")
    if path.exists():
        if not os.access(path, os.R_OK):
            raise CommandError(f"--db {path}: the file is not readable by this user")
        if not os.access(path, os.W_OK) and not must_exist:  # readers need no write access
            if not readonly_ok:
                raise CommandError(f"--db {path}: the file is not writable by this user")
            print(
                f"supportbot: warning: --db {path} is read-only: chats are refused until "
                "it is writable",
                file=sys.stderr,
            )
        return
    if must_exist:
        raise CommandError(f"--db {path}: no such database (run `supportbot serve` first)")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise CommandError(f"--db {path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CommandError(f"--db {path}: cannot create a file in {parent} (permission denied)")
