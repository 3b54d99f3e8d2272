"""Looking for a person's data in every column of every table (no tests in here).

The tables and columns are discovered from the database itself (sqlite_master and
``PRAGMA table_info``), not taken from a list, so a column added later is scanned too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable


def tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite_%' ORDER BY name"
    )
    return [row[0] for row in rows]


def columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]


def traces(conn: sqlite3.Connection, needles: Iterable[str]) -> list[tuple[str, str, str]]:
    """``(table, column, needle)`` for every column holding a needle (case-insensitive),
    every column read as text."""
    found = []
    wanted = [n for n in needles if n]
    for table in tables(conn):
        for column in columns(conn, table):
            for needle in wanted:
                hits = conn.execute(
                    f'SELECT count(*) FROM "{table}" '
                    f'WHERE instr(lower(CAST("{column}" AS TEXT)), lower(?)) > 0',
                    (needle,),
                ).fetchone()[0]
                if hits:
                    found.append((table, column, needle))
    return found
