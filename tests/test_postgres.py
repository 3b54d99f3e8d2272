"""The PostgreSQL store (``--database postgresql://``) on a real PostgreSQL server: the
schema the migrations make, the writer's guarantees, a lost connection, the copy of
a SQLite database (every report the same from both), and the server's chats."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

from test_reports import MARCH, seed

from bot.reports import ReportFilter, build_report, csat_log, iter_csat_log
from bot.store import Database, accounts, postgres
from bot.store import conversations as convs
from bot.store.db import connect
from bot.store.migrations import MIGRATIONS, migrate, migrate_sqlite, pending

from conftest import supportbot

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
    assert (
        postgres.translate("BEGIN IMMEDIATE")[0] == "BEGIN; SELECT pg_advisory_xact_lock(7265627)"
    )
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
    for statement in postgres.schema_sql([], NAMES[:2]):
        old.execute(statement)
    for name in NAMES[:2]:
        old.execute("INSERT INTO _migrations VALUES (?, ?)", (name, "2026-01-01T00:00:00.000Z"))
    old.execute("COMMIT")
    assert pending(old) == NAMES[2:]
    assert migrate(old) == NAMES[2:]  # tables made again by SQLite: columns altered
    assert _pg_schema(old) == _pg_schema(fresh)
    columns = (
        "SELECT table_name, column_name, data_type, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_schema = current_schema() "
        "ORDER BY table_name, column_name"
    )
    assert [tuple(r) for r in old.execute(columns)] == [tuple(r) for r in fresh.execute(columns)]
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


async def test_writes_of_two_processes_take_turns(postgres_url: str) -> None:
    """As with SQLite's write lock, one write transaction at a time across processes
    (and commands): a second process's write waits for the first one's commit."""
    first, second = Database(postgres_url), Database(postgres_url)
    first.start(migrate)
    second.start(migrate)
    inside = threading.Event()
    spans: dict[str, tuple[float, float]] = {}

    def slow(conn: sqlite3.Connection) -> None:
        began = time.monotonic()
        _add_conversation(conn, "slow")
        inside.set()
        time.sleep(0.3)
        spans["slow"] = (began, time.monotonic())

    def quick(conn: sqlite3.Connection) -> None:
        _add_conversation(conn, "quick")  # its first statement takes the lock
        wrote = time.monotonic()
        spans["quick"] = (wrote, wrote)

    try:
        slow_write = asyncio.ensure_future(first.write(slow))
        await asyncio.to_thread(inside.wait, 10)
        await asyncio.gather(slow_write, second.write(quick))
        assert spans["quick"][0] >= spans["slow"][1]  # wrote after the slow one ended
        ids = await second.read(
            lambda conn: [r[0] for r in conn.execute("SELECT id FROM conversations ORDER BY id")]
        )
        assert ids == ["quick", "slow"]
    finally:
        first.stop()
        second.stop()


async def test_a_deadlock_victim_runs_again_after_the_jobs_before_it_commit(
    tmp_path: Path,
) -> None:
    """The writer's answer to PostgreSQL ending a wait as a deadlock (an error marked
    ``retry``): the jobs before it are committed, it runs again in a new transaction;
    a job chosen more than three times gets its own error, the others are kept."""
    db = Database(tmp_path / "w.db")
    db.start(migrate)
    tries: dict[str, int] = {"once": 0, "always": 0}

    def victim(name: str, times: int) -> Any:
        def run(conn: sqlite3.Connection) -> str:
            tries[name] += 1
            _add_conversation(conn, f"{name}{tries[name]}")
            if tries[name] <= times:
                error = sqlite3.OperationalError("deadlock detected")
                error.retry = True  # type: ignore[attr-defined]
                raise error
            return name

        return run

    try:
        results = await asyncio.gather(
            db.write(lambda conn: _add_conversation(conn, "before")),
            db.write(victim("once", 1)),
            db.write(victim("always", 99)),
            db.write(lambda conn: _add_conversation(conn, "after")),
            return_exceptions=True,
        )
        assert results[0] is None and results[1] == "once" and results[3] is None
        assert isinstance(results[2], sqlite3.OperationalError)
        assert tries == {"once": 2, "always": 4}
        ids = await db.read(
            lambda conn: {r[0] for r in conn.execute("SELECT id FROM conversations")}
        )
        assert ids == {"before", "once2", "after"}  # the victims' rolled-back rows are gone
    finally:
        db.stop()


async def test_connections_the_server_cut_are_made_again(
    postgres_url: str, postgres_server: Any
) -> None:
    """A PostgreSQL restart or time-out closes idle connections: the writer finds its
    own closed before a batch and opens a new one, a reader tries once more on a new
    one; nothing is refused or lost."""
    db = Database(postgres_url)
    db.start(migrate)
    try:
        await db.write(lambda conn: _add_conversation(conn, "before"))
        assert await db.read(lambda conn: convs.get_conversation(conn, "before")) is not None
        name = postgres_url.rsplit("/", 1)[1]
        postgres_server.execute(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        )
        await asyncio.sleep(0.2)
        for cid in ("during", "after"):
            await db.write(lambda conn, cid=cid: _add_conversation(conn, cid))
        stored = await db.read(
            lambda conn: {r[0] for r in conn.execute("SELECT id FROM conversations")}
        )
        assert stored == {"before", "during", "after"}
    finally:
        db.stop()


def test_errors_are_told_apart_by_their_kind() -> None:
    """Storage trouble (the batch fails, the writer reconnects) against a statement's own
    error (the job fails alone), by SQLSTATE."""
    import psycopg

    def name(exc: Exception) -> str:
        return str(postgres._sqlite_error(exc).sqlite_errorname)

    assert name(psycopg.errors.AdminShutdown("x")) == "SQLITE_IOERR"
    assert name(psycopg.errors.ConnectionFailure("x")) == "SQLITE_IOERR"
    assert name(psycopg.OperationalError("the connection is closed")) == "SQLITE_IOERR"
    assert name(psycopg.errors.DiskFull("x")) == "SQLITE_FULL"
    assert name(psycopg.errors.QueryCanceled("statement timeout")) == "SQLITE_ERROR"
    assert name(psycopg.errors.LockNotAvailable("x")) == "SQLITE_ERROR"
    assert name(psycopg.errors.UniqueViolation("x")) == "SQLITE_CONSTRAINT"
    deadlock = postgres._sqlite_error(psycopg.errors.DeadlockDetected("x"))
    assert (
        getattr(deadlock, "retry", False) and deadlock.sqlite_errorname == "SQLITE_ABORT_ROLLBACK"
    )


def test_identity_tables_are_those_with_an_integer_id() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate_sqlite(conn)
    integer_ids = {
        table
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if any(
            r[1] == "id" and r[2] == "INTEGER" and r[5]
            for r in conn.execute(f'PRAGMA table_info("{table}")')
        )
    }
    assert integer_ids == postgres.IDENTITY_TABLES


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

    code, out, err = await supportbot("db", "copy", "--db", str(source), "--database", postgres_url)
    assert code == 0, err
    assert "copied" in out and "events" in err
    # Not twice: the destination holds data now.
    code, _, err = await supportbot("db", "copy", "--db", str(source), "--database", postgres_url)
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
        code, out, err = await supportbot(
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


async def test_nul_characters_are_copied_and_read(tmp_path: Path, postgres_url: str) -> None:
    """SQLite keeps a NUL in text (a page title as the browser sent it) and in JSON as
    ``\\u0000``; PostgreSQL's text and jsonb take neither: the copy and the JSON
    functions read them as U+FFFD instead of failing."""
    source = tmp_path / "nul.db"
    lite = connect(source)
    migrate(lite)
    lite.execute("BEGIN")
    convs.insert_conversation(
        lite, id="c1", token_hash="h1", language="en", status="bot", page_title="a\x00b"
    )
    lite.execute(
        "INSERT INTO events (conversation_id, actor, type, created_at, properties) "
        "VALUES (?, ?, ?, ?, ?)",
        ("c1", "shopper", "chat.started", "2026-12-06T10:00:00.000Z", '{"page_url": "x\\u0000y"}'),
    )
    lite.execute("COMMIT")
    lite.close()
    code, _, err = await supportbot("db", "copy", "--db", str(source), "--database", postgres_url)
    assert code == 0, err
    pg = connect(postgres_url)
    try:
        assert pg.execute("SELECT page_title FROM conversations").fetchone()[0] == "a\ufffdb"
        found = pg.execute("SELECT json_extract(properties, '$.page_url') FROM events").fetchone()
        assert found[0] == "x\ufffdy"
    finally:
        pg.close()


async def test_wrong_database_urls_get_clear_errors(tmp_path: Path, postgres_server: Any) -> None:
    code, _, err = await supportbot("report", "--database", "mysql://x@y/z")
    assert code == 2 and "expected a postgresql:// URL" in err
    bad = (
        postgres_server.url.rsplit("/", 1)[0].replace("postgres@", "postgres:secret@") + "/nothere"
    )
    code, _, err = await supportbot("report", "--database", bad)
    assert code == 2 and "nothere" in err and "secret" not in err
