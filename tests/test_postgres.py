"""The PostgreSQL store (``--database postgresql://``) on a real PostgreSQL server: the
schema the migrations make, the writer's guarantees, a lost connection, the copy of
a SQLite database (every report the same from both), and the server's chats."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import threading
from datetime import date
from pathlib import Path
from typing import Any

from test_reports import MARCH, seed

from bot.reports import ReportFilter, build_report, csat_log, iter_csat_log
from bot.store import Database, accounts, postgres
from bot.store import conversations as convs
from bot.store.db import StorageUnavailable, connect
from bot.store.migrations import MIGRATIONS, migrate, migrate_sqlite, pending

from benchmarks.serverproc import ROOT

NAMES = [name for name, _ in MIGRATIONS]


def test_statements_are_rewritten_for_postgresql() -> None:
    assert postgres.translate("SELECT a FROM t WHERE b = ? AND c LIKE '5%?'") == (
        "SELECT a FROM t WHERE b = %s AND c LIKE '5%%?'",
        False,
    )
    assert postgres.translate("INSERT INTO messages (a) VALUES (?)") == (
        "INSERT INTO messages (a) VALUES (%s) RETURNING id",
        True,
    )
    # conversations have text ids: nothing to return
    assert postgres.translate("INSERT INTO conversations (id) VALUES (?)")[1] is False
    assert postgres.translate(
        "SELECT ifnull(agent_id, 0), CAST(x AS INTEGER) FROM c INDEXED BY idx_c WHERE 1"
    ) == ("SELECT coalesce(agent_id, 0), CAST(x AS BIGINT) FROM c WHERE 1", False)
    assert postgres.translate("BEGIN IMMEDIATE")[0] == "BEGIN"
    assert (
        postgres.redact("postgresql://shop:s3cret@db:5432/x") == "postgresql://shop:***@db:5432/x"
    )


def _pg_schema(conn: sqlite3.Connection) -> tuple[dict[str, list[str]], set[str]]:
    tables: dict[str, list[str]] = {}
    for table, column in conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
    ):
        tables.setdefault(table, []).append(column)
    indexes = {
        row[0]
        for row in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
            "AND indexname LIKE 'idx_%'"
        )
    }
    return tables, indexes


def _sqlite_schema(conn: sqlite3.Connection) -> tuple[dict[str, list[str]], set[str]]:
    names = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    tables = {n: [row[1] for row in conn.execute(f'PRAGMA table_info("{n}")')] for n in names}
    indexes = {
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%'"
        )
    }
    return tables, indexes


def test_the_schema_is_the_one_the_migrations_make_in_sqlite(
    tmp_path: Path, postgres_server: Any
) -> None:
    lite = connect(tmp_path / "a.db")
    migrate(lite)
    fresh = connect(postgres_server.database())
    assert migrate(fresh) == NAMES
    assert migrate(fresh) == [] and pending(fresh) == []
    assert _pg_schema(fresh) == _sqlite_schema(lite)
    # A database made by the first migrations gets the difference, not a new schema.
    old = connect(postgres_server.database())
    old.execute("BEGIN")
    for statement in postgres.schema_sql([], NAMES[:4]):
        old.execute(statement)
    for name in NAMES[:4]:
        old.execute("INSERT INTO _migrations VALUES (?, ?)", (name, "2026-01-01T00:00:00.000Z"))
    old.execute("COMMIT")
    assert pending(old) == NAMES[4:]
    assert migrate(old) == NAMES[4:]
    assert _pg_schema(old) == _pg_schema(fresh)
    for conn in (lite, fresh, old):
        conn.close()


def test_migrate_sqlite_applies_only_what_it_is_told(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    assert migrate_sqlite(conn, only=NAMES[:2]) == NAMES[:2]
    assert migrate_sqlite(conn) == NAMES[2:]


def _add_conversation(conn: sqlite3.Connection, cid: str) -> None:
    convs.insert_conversation(
        conn,
        id=cid,
        token_hash=f"h-{cid}",
        language="en",
        status="bot",
        created_at="2026-12-06T10:00:00.000Z",
    )


async def test_the_writer_keeps_its_promises_on_postgresql(postgres_url: str) -> None:
    db = Database(postgres_url)
    db.start(migrate)
    try:
        await db.write(lambda conn: _add_conversation(conn, "c1"))
        agent = await db.write(
            lambda conn: accounts.add_agent(conn, "ada@shop.example", "Ada", "agent", "pw-1234567")
        )
        assert agent.id == 1  # lastrowid through RETURNING

        def fails(conn: sqlite3.Connection) -> None:
            _add_conversation(conn, "c2")
            _add_conversation(conn, "c1")  # the same id again

        # A job that fails is rolled back alone, with sqlite3's error, and the others of
        # its batch are kept.
        results = await asyncio.gather(
            db.write(fails),
            db.write(lambda conn: _add_conversation(conn, "c3")),
            return_exceptions=True,
        )
        assert isinstance(results[0], sqlite3.IntegrityError)
        assert results[1] is None
        # A bad fire-and-forget row is dropped; the good ones are stored.
        insert = "INSERT INTO events (conversation_id, actor, type, created_at, properties) VALUES (?, ?, ?, ?, ?)"
        db.submit(insert, ("c1", "bot", "ok.1", "2026-12-06T10:00:00.000Z", "{}"))
        db.submit(insert, ("c1", None, "bad", "2026-12-06T10:00:00.000Z", "{}"))  # actor NOT NULL
        db.submit(insert, ("c1", "bot", "ok.2", "2026-12-06T10:00:00.000Z", '{"q": "50%"}'))
        await db.flush()
        rows = await db.read(
            lambda conn: [
                tuple(r) for r in conn.execute("SELECT type, properties FROM events ORDER BY id")
            ]
        )
        assert rows == [("ok.1", "{}"), ("ok.2", '{"q": "50%"}')]
        ids = await db.read(
            lambda conn: [r["id"] for r in conn.execute("SELECT id FROM conversations ORDER BY id")]
        )
        assert ids == ["c1", "c3"]
        # A forged id with a NUL finds nothing (PostgreSQL's text cannot hold one).
        assert await db.read(lambda conn: convs.get_conversation(conn, "c1\x00")) is None
    finally:
        db.stop()


async def test_a_deadlock_victim_is_run_again(postgres_url: str) -> None:
    """Two processes' writers lock the same two rows in opposite orders: PostgreSQL ends
    one transaction's wait as a deadlock; its job runs again and both succeed."""
    setup = connect(postgres_url)
    migrate(setup)
    setup.execute("BEGIN")
    for cid in ("a", "b"):
        _add_conversation(setup, cid)
    setup.execute("COMMIT")
    setup.execute(
        "ALTER DATABASE " + postgres_url.rsplit("/", 1)[1] + " SET deadlock_timeout = '100ms'"
    )
    setup.close()
    first, second = Database(postgres_url), Database(postgres_url)
    first.start()
    second.start()
    both_hold_one = threading.Barrier(2, timeout=10)
    runs: list[str] = []

    def job(mine: str, theirs: str) -> Any:
        def run(conn: sqlite3.Connection) -> str:
            runs.append(mine)
            conn.execute("UPDATE conversations SET mood = mood + 1 WHERE id = ?", (mine,))
            if runs.count(mine) == 1:
                both_hold_one.wait()
            conn.execute("UPDATE conversations SET mood = mood + 1 WHERE id = ?", (theirs,))
            return mine

        return run

    try:
        results = await asyncio.gather(first.write(job("a", "b")), second.write(job("b", "a")))
        assert sorted(results) == ["a", "b"]
        assert len(runs) == 3  # one of the two ran twice
        moods = await first.read(
            lambda conn: [r[0] for r in conn.execute("SELECT mood FROM conversations ORDER BY id")]
        )
        assert moods == [2.0, 2.0]  # each job counted once
    finally:
        first.stop()
        second.stop()


async def test_a_lost_connection_fails_the_batch_and_the_writer_reconnects(
    postgres_url: str, postgres_server: Any
) -> None:
    db = Database(postgres_url)
    db.start(migrate)
    try:
        await db.write(lambda conn: _add_conversation(conn, "before"))
        assert await db.read(lambda conn: convs.get_conversation(conn, "before")) is not None
        name = postgres_url.rsplit("/", 1)[1]
        postgres_server.execute(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        )
        outcome: list[Any] = []
        for cid in ("during", "after"):
            try:
                outcome.append(await db.write(lambda conn, cid=cid: _add_conversation(conn, cid)))
            except StorageUnavailable as exc:
                outcome.append(exc)
        # the write on the cut connection is refused as storage trouble, never lost silently
        assert isinstance(outcome[0], StorageUnavailable) and outcome[1] is None
        stored = await db.read(
            lambda conn: {r[0] for r in conn.execute("SELECT id FROM conversations")}
        )
        assert stored == {"before", "after"}
    finally:
        db.stop()


async def _command(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


FILTERS = [
    ReportFilter(),
    MARCH,
    ReportFilter(language="it"),
    ReportFilter(handled="escalated"),
    ReportFilter(rating=5),
    ReportFilter(since=date(2026, 3, 10), until=date(2026, 3, 20), handled="bot"),
]


async def test_db_copy_gives_postgresql_the_same_data_and_every_report(
    tmp_path: Path, postgres_url: str
) -> None:
    source = tmp_path / "shop.db"
    lite = connect(source)
    migrate(lite)
    lite.execute("BEGIN")
    seed(lite)
    lite.execute("COMMIT")
    lite.close()

    code, out, err = await _command("db", "copy", "--db", str(source), "--database", postgres_url)
    assert code == 0, err
    assert "copied" in out and "events" in err
    # Not twice: the destination holds data now.
    code, _, err = await _command("db", "copy", "--db", str(source), "--database", postgres_url)
    assert code == 2 and "already holds data" in err

    lite, pg = connect(source, readonly=True), connect(postgres_url, readonly=True)
    try:
        for table in ("conversations", "messages", "events", "csat", "agents", "tickets"):
            order = "id" if table != "csat" else "conversation_id"
            sql = f"SELECT * FROM {table} ORDER BY {order}"
            assert [tuple(r) for r in pg.execute(sql)] == [tuple(r) for r in lite.execute(sql)], (
                table
            )
        for f in FILTERS:
            assert build_report(pg, f).to_dict() == build_report(lite, f).to_dict(), f
            assert csat_log(pg, f, limit=50) == csat_log(lite, f, limit=50), f
            assert list(iter_csat_log(pg, f)) == list(iter_csat_log(lite, f)), f
    finally:
        lite.close()
        pg.close()
    # The command line reads both alike; ids go on after the copied ones.
    for store in (["--db", str(source)], ["--database", postgres_url]):
        code, out, err = await _command(
            "report", "--since", "2026-03-01", "--until", "2026-03-31", *store
        )
        assert code == 0, err
        if store[0] == "--db":
            expected = out
    assert out == expected
    pg = connect(postgres_url)
    pg.execute("BEGIN")
    new = accounts.add_agent(pg, "new@shop.example", "New", "agent", "a long enough password")
    pg.execute("COMMIT")
    pg.close()
    lite = connect(source)
    assert new.id == 1 + max(r[0] for r in lite.execute("SELECT id FROM agents"))
    lite.close()


async def test_wrong_database_urls_get_clear_errors(tmp_path: Path, postgres_server: Any) -> None:
    code, _, err = await _command("report", "--database", "mysql://x@y/z")
    assert code == 2 and "expected a postgresql:// URL" in err
    bad = (
        postgres_server.url.rsplit("/", 1)[0].replace("postgres@", "postgres:secret@") + "/nothere"
    )
    code, _, err = await _command("report", "--database", bad)
    assert code == 2 and "nothere" in err and "secret" not in err
