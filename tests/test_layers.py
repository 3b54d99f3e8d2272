"""SQL lives only in store modules: files under ``bot/store/`` and files named ``store.py``.

The layers are namespace -> service -> store, and the store's typed functions are the
only place that knows the schema, so a change of table or index is made in one place.
This finds every string (f-strings included, docstrings not) shaped like an SQL
statement, keywords in capitals as the code writes them (so "Select a picture from
your phone" is not one), and every call that runs SQL (``execute`` and its kin,
which also catches SQL put together by concatenation), and fails on those outside a
store module.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"

STATEMENT = re.compile(
    r"""(?:\s|--[^\n]*\n|/\*.*?\*/|\()*(
        SELECT\s.*?\bFROM\b
      | SELECT\s+\w+\s*\(
      | (INSERT|REPLACE)\s+(OR\s+\w+\s+)?INTO\s
      | UPDATE\s+(OR\s+\w+\s+)?\S+\s+SET\s
      | DELETE\s+FROM\s
      | (CREATE|DROP)\s+(UNIQUE\s+|TEMP\w*\s+|VIRTUAL\s+)*(TABLE|INDEX|VIEW|TRIGGER)\s
      | ALTER\s+TABLE\s
      | WITH\s+(RECURSIVE\s+)?\w+(\s*\([^)]*\))?\s+AS\s*\(
      | PRAGMA\s+\w+
      | EXPLAIN\s+(QUERY\s+PLAN\s+)?(SELECT|INSERT|UPDATE|DELETE|WITH)\s
      | ATTACH\s+(DATABASE\s+)?\S+\s+AS\s
      | DETACH\s+(DATABASE\s+)?\w+\s*;?\s*$
      | (VACUUM|ANALYZE|REINDEX)(\s+\w+)?\s*;?\s*$
      | BEGIN(\s+(DEFERRED|IMMEDIATE|EXCLUSIVE))?(\s+TRANSACTION)?\s*;?\s*$
      | (COMMIT|ROLLBACK)(\s+TRANSACTION)?(\s+TO\s+(SAVEPOINT\s+)?\w+)?\s*;?\s*$
      | (SAVEPOINT|RELEASE(\s+SAVEPOINT)?)\s+\w+\s*;?\s*$
    )""",
    re.DOTALL | re.VERBOSE,
)
# Calls that run SQL on a connection, however the statement was put together.
RUNS_SQL = {"execute", "executemany", "executescript"}


def is_store(path: Path) -> bool:
    return path.name == "store.py" or (BOT / "store") in path.parents


def docstrings(tree: ast.Module) -> set[int]:
    """The ids of the docstring nodes of the module, its classes and functions."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def texts(tree: ast.Module) -> list[tuple[int, str]]:
    """Every string constant but the docstrings, with an f-string's parts joined around
    ``{}`` for each value (so ``f"SELECT {columns} FROM t"`` reads as one statement)."""
    skip = docstrings(tree)
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            out.append((node.lineno, text))
            skip.update(id(v) for v in node.values)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            out.append((node.lineno, node.value))
    return sorted(out)


def test_sql_is_only_in_store_modules() -> None:
    offending = [
        f"{path.relative_to(ROOT)}:{line}: {text.strip()[:60]!r}"
        for path in sorted(BOT.rglob("*.py"))
        if not is_store(path)
        for line, text in texts(ast.parse(path.read_text(encoding="utf-8")))
        if STATEMENT.match(text)
    ]
    assert not offending, "SQL outside a store module:\n" + "\n".join(offending)


def is_redis_pipeline(receiver: ast.expr) -> bool:
    """``pipe.execute()`` of a Redis pipeline (bot/cluster) sends Redis commands, not SQL."""
    return isinstance(receiver, ast.Name) and receiver.id in {"pipe", "pipeline"}


def test_only_store_modules_run_sql() -> None:
    """Catches SQL the text check cannot see (put together by concatenation)."""
    offending = [
        f"{path.relative_to(ROOT)}:{node.lineno}: .{node.func.attr}()"
        for path in sorted(BOT.rglob("*.py"))
        if not is_store(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in RUNS_SQL
        and not is_redis_pipeline(node.func.value)
    ]
    assert not offending, "SQL run outside a store module:\n" + "\n".join(offending)


def test_the_check_sees_sql_and_not_english() -> None:
    sql = [
        "SELECT id, name FROM agents",
        "\n  INSERT INTO events (type) VALUES (?)",
        "UPDATE conversations SET status = ?",
        "DELETE FROM messages WHERE id = ?",
        "CREATE UNIQUE INDEX idx ON t (a)",
        "WITH recent AS (SELECT 1) SELECT * FROM recent",
        "PRAGMA query_only = ON",
        "BEGIN IMMEDIATE",
        "ROLLBACK TO job",
        "RELEASE job",
        "COMMIT",
        "-- the schema\nCREATE TABLE t (a)",
        "(SELECT max(id) FROM t)",
        "SELECT changes()",
        "UPDATE OR IGNORE t SET a = 1",
        "EXPLAIN QUERY PLAN SELECT a FROM t",
        "VACUUM",
    ]
    english = [
        "Update the agent's status when the console reconnects",
        "Select a language",
        "Delete this message?",
        "Begin a new chat",
        "With an agent",
        "commit message",
        "Select a picture from your phone",
        "Delete from this device?",
        "Begin",
        "Attach a picture",
        "Release notes",
    ]
    assert [s for s in sql if not STATEMENT.match(s)] == []
    assert [s for s in english if STATEMENT.match(s)] == []
