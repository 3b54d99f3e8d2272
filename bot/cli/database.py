"""``supportbot db copy``: a SQLite database into PostgreSQL."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    db = sub.add_parser("db", help="the store: copy a SQLite database into PostgreSQL")
    commands = db.add_subparsers(dest="db_command", metavar="ACTION")
    commands.required = True
    copy = commands.add_parser(
        "copy",
        help="copy every row of a SQLite database into an empty PostgreSQL database",
        description="Copy every row of the SQLite database (--db) into the PostgreSQL "
        "database (--database), in one transaction: the PostgreSQL schema is made first, "
        "and it must hold no data yet. Stop the server on the SQLite file first: what it "
        "writes during the copy is not copied.",
    )
    copy.add_argument("--db", type=Path, required=True, help="the SQLite database file")
    copy.add_argument(
        "--database", required=True, metavar="URL", help="postgresql://USER:PASSWORD@HOST:PORT/DB"
    )
    copy.set_defaults(func=run_copy)


def run_copy(args: argparse.Namespace) -> int:
    from bot.cli import CommandError
    from bot.cli.common import check_database_url, db_label
    from bot.cli.report import open_store_readonly
    from bot.store.copy import CopyError, copy_database
    from bot.store.db import connect
    from bot.store.migrations import migrate

    check_database_url(args.database)
    src = open_store_readonly(args.db)
    try:
        dest = connect(args.database)
        migrate(dest)
    except sqlite3.Error as exc:
        raise CommandError(f"{db_label(args.database)}: {exc}") from None

    def progress(table: str, rows: int) -> None:
        print(f"{table:<16} {rows:>10,} rows", file=sys.stderr, flush=True)

    try:
        copied = copy_database(src, dest, progress)
    except (CopyError, sqlite3.Error) as exc:
        raise CommandError(f"nothing copied: {exc}") from None
    finally:
        src.close()
        dest.close()
    total = sum(copied.rows.values())
    print(f"copied {total:,} rows of {len(copied.rows)} tables into {db_label(args.database)}")
    return 0
