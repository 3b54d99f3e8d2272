"""Copy a SQLite database into PostgreSQL (``supportbot db copy``).

Every table of the schema, parents before the tables that reference them, row by
row through PostgreSQL's COPY, in one transaction: the copy is whole or not there.
The identity columns then continue after the highest id copied. The PostgreSQL
database must hold no data yet (its schema is made first, by the migrations).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.store import postgres

# Checked for rows before a copy: a database that has any is not overwritten.
_DATA_TABLES = ("conversations", "agents", "events", "tickets", "canned_replies")


class CopyError(Exception):
    """The copy cannot be made (the destination holds data, the schemas differ)."""


@dataclass
class Copied:
    rows: dict[str, int] = field(default_factory=dict)


def tables_in_order(src: sqlite3.Connection) -> list[str]:
    """The source's tables, each after those its foreign keys reference."""
    names = [
        row[0]
        for row in src.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name != '_migrations' ORDER BY name"
        )
    ]
    parents = {
        name: {row[2] for row in src.execute(f'PRAGMA foreign_key_list("{name}")')} - {name}
        for name in names
    }
    ordered: list[str] = []
    while len(ordered) < len(names):
        ready = [n for n in names if n not in ordered and parents[n] <= set(ordered)]
        if not ready:
            raise CopyError(f"foreign keys in a cycle among {sorted(set(names) - set(ordered))}")
        ordered += ready
    return ordered


def columns(conn: sqlite3.Connection, table: str) -> list[str]:
    if postgres.is_postgres(conn):
        return [
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
                (table,),
            )
        ]
    return [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]


def copy_database(
    src: sqlite3.Connection,
    dest: sqlite3.Connection,
    progress: Callable[[str, int], None] | None = None,
) -> Copied:
    """Copy every row of ``src`` (SQLite) into ``dest`` (PostgreSQL, migrated, empty)."""
    if not postgres.is_postgres(dest):
        raise CopyError("the destination is not a PostgreSQL database")
    copier = postgres.copier(dest)
    copied = Copied()
    dest.execute("BEGIN")
    try:
        for table in _DATA_TABLES:
            if dest.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone():
                raise CopyError(f"the PostgreSQL database already holds data ({table})")
        for table in tables_in_order(src):
            names = columns(src, table)
            missing = set(names) - set(columns(dest, table))
            if missing:
                raise CopyError(f"{table}: no columns {sorted(missing)} in PostgreSQL")
            listed = ", ".join(f'"{name}"' for name in names)
            rows = src.execute(f'SELECT {listed} FROM "{table}"')
            copied.rows[table] = copier(table, names, rows)
            if progress is not None:
                progress(table, copied.rows[table])
            if table in postgres.IDENTITY_TABLES:
                dest.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f'coalesce(max(id), 0) + 1, false) FROM "{table}"'
                )
        dest.execute("COMMIT")
    except BaseException:
        if dest.in_transaction:
            dest.execute("ROLLBACK")
        raise
    return copied
