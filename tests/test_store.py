"""The SQLite layer: one writer thread, batched transactions, migrations, typed events."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from bot import events as ev
from bot.store import Database
from bot.store import events as store_events
from bot.store.db import connect, write_transaction
from bot.store.migrations import MIGRATIONS, migrate


@pytest.fixture
async def db(tmp_path: Path):
    database = Database(tmp_path / "store.db")
    database.start(migrate)
    yield database
    database.stop()


async def test_migrations_are_recorded_and_run_once(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    assert migrate(conn) == [name for name, _ in MIGRATIONS]
    assert migrate(conn) == []
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"conversations", "messages", "events", "agents", "csat", "_migrations"} <= tables


async def test_wal_mode_is_on(db: Database) -> None:
    mode = await db.read(lambda c: c.execute("PRAGMA journal_mode").fetchone()[0])
    assert mode == "wal"


async def test_a_write_is_visible_once_awaited(db: Database) -> None:
    def insert(conn: sqlite3.Connection) -> int:
        ev.insert_events(conn, ev.WidgetOpened(conversation_id="c1", actor="shopper"))
        return 7

    assert await db.write(insert) == 7
    rows = await db.read(lambda c: c.execute("SELECT type, actor FROM events").fetchall())
    assert [tuple(r) for r in rows] == [("widget.opened", "shopper")]


async def test_a_failing_job_does_not_undo_its_batch_neighbours(db: Database) -> None:
    def good(n: int):
        return lambda conn: ev.insert_events(conn, ev.NpsGiven(conversation_id=f"c{n}", score=n))

    def bad(conn: sqlite3.Connection) -> None:
        ev.insert_events(conn, ev.NpsGiven(conversation_id="bad", score=0))
        raise ValueError("boom")

    results = await asyncio.gather(
        db.write(good(1)), db.write(bad), db.write(good(2)), return_exceptions=True
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], ValueError)
    ids = await db.read(lambda c: [r[0] for r in c.execute("SELECT conversation_id FROM events")])
    assert sorted(ids) == ["c1", "c2"]


async def test_a_failing_job_alone_in_its_batch_leaves_nothing_and_keeps_the_rows(
    db: Database,
) -> None:
    """A job alone in its batch runs without a savepoint: when it fails, its writes are
    rolled back all the same, and fire-and-forget rows of the batch are kept."""

    def bad(conn: sqlite3.Connection) -> None:
        ev.insert_events(conn, ev.NpsGiven(conversation_id="bad", score=0))
        raise ValueError("boom")

    ev.submit(db, ev.NpsGiven(conversation_id="row", score=1))
    with pytest.raises(ValueError):
        await db.write(bad)  # mostly one batch with the row above
    await db.write(lambda conn: ev.insert_events(conn, ev.NpsGiven(conversation_id="ok", score=2)))
    ids = await db.read(lambda c: [r[0] for r in c.execute("SELECT conversation_id FROM events")])
    assert sorted(ids) == ["ok", "row"]


async def test_fire_and_forget_rows_are_batched_and_flushed(db: Database) -> None:
    for n in range(2000):
        db.submit(
            store_events.INSERT_SQL, ev.WidgetClosed(conversation_id=f"c{n}", actor="shopper").row()
        )
    await db.flush()
    count = await db.read(lambda c: c.execute("SELECT count(*) FROM events").fetchone()[0])
    assert count == 2000
    assert db.batches_committed < 2000  # grouped into transactions


async def test_events_are_typed_rows() -> None:
    event = ev.CsatGiven(conversation_id="c1", actor="shopper", rating=4, has_comment=True)
    conversation_id, actor, agent_id, type_, created_at, properties = event.row()
    assert (conversation_id, actor, agent_id, type_) == ("c1", "shopper", None, "csat.given")
    assert created_at.endswith("Z") and len(created_at) == 24
    assert json.loads(properties) == {"rating": 4, "has_comment": True}
    assert ev.EVENT_TYPES["csat.given"] is ev.CsatGiven


async def test_stop_finishes_queued_writes(tmp_path: Path) -> None:
    database = Database(tmp_path / "s.db")
    database.start(migrate)
    for n in range(500):
        database.submit(store_events.INSERT_SQL, ev.WidgetOpened(conversation_id=f"c{n}").row())
    database.stop()
    conn = sqlite3.connect(tmp_path / "s.db")
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 500


async def test_a_bad_fire_and_forget_row_never_fails_other_writes(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """A row its caller got wrong (here: no type, a NOT NULL column) is dropped and
    logged; the awaited write and the good rows of the same batch are committed."""
    good = ev.WidgetOpened(conversation_id="c1", actor="shopper").row()
    bad = (*good[:3], None, *good[4:])
    db.submit(store_events.INSERT_SQL, good)
    db.submit(store_events.INSERT_SQL, bad)
    db.submit(store_events.INSERT_SQL, good)

    def insert(conn: sqlite3.Connection) -> int:
        ev.insert_events(conn, ev.WidgetClosed(conversation_id="c2", actor="shopper"))
        return 1

    assert await db.write(insert) == 1
    rows = await db.read(
        lambda c: [
            (r[0], r[1]) for r in c.execute("SELECT conversation_id, type FROM events ORDER BY id")
        ]
    )
    assert sorted(rows) == [
        ("c1", "widget.opened"),
        ("c1", "widget.opened"),
        ("c2", "widget.closed"),
    ]
    assert "dropped a row that could not be stored (SQLITE_CONSTRAINT_NOTNULL)" in caplog.text


async def test_storage_errors_are_told_by_their_code_not_their_wording() -> None:
    from bot.store.db import StorageUnavailable, _translate

    full = sqlite3.OperationalError("anything at all")
    full.sqlite_errorname = "SQLITE_FULL"  # type: ignore[attr-defined]
    io = sqlite3.OperationalError("disk I/O error")
    io.sqlite_errorname = "SQLITE_IOERR_WRITE"  # type: ignore[attr-defined]
    # a job's own error that merely mentions "locked" is the job's, not the storage's
    own = sqlite3.IntegrityError("the row is locked by policy")
    own.sqlite_errorname = "SQLITE_CONSTRAINT_TRIGGER"  # type: ignore[attr-defined]
    assert isinstance(_translate(full), StorageUnavailable)
    assert isinstance(_translate(io), StorageUnavailable)
    assert _translate(own) is own


def test_a_turns_events_update_two_indexes_and_rare_types_have_their_own() -> None:
    """Each event row is written to two secondary indexes (its conversation, its time);
    the few types looked up by type are found through partial indexes of only them."""
    from bot.privacy.store import last_privacy_event, privacy_events_after

    conn = sqlite3.connect(":memory:")
    migrate(conn)
    full = [
        row[1]
        for row in conn.execute("PRAGMA index_list(events)")
        if row[4] == 0  # not partial
    ]
    assert sorted(full) == ["idx_events_conversation_id_id", "idx_events_created_at"]
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    last_privacy_event(conn)
    privacy_events_after(conn, 0)
    conn.execute(
        "SELECT count(*) FROM events WHERE type = 'bot.no_answer' AND created_at >= '2026-01'"
    )
    conn.set_trace_callback(None)
    used = {row[3] for sql in statements for row in conn.execute("EXPLAIN QUERY PLAN " + sql)}
    assert any("idx_events_privacy" in step for step in used), used
    assert any("idx_events_no_answer" in step for step in used), used
    assert not [step for step in used if step.startswith("SCAN")], used


def test_a_write_transaction_commits_or_leaves_nothing(tmp_path: Path) -> None:
    """The command line's transactions: committed at the end; rolled back when the
    job raises, and when the commit itself fails (a deferred foreign key)."""
    conn = connect(tmp_path / "t.db")
    conn.execute("CREATE TABLE p (id INTEGER PRIMARY KEY)")
    conn.execute("CREATE TABLE c (pid INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)")
    with write_transaction(conn):
        conn.execute("INSERT INTO p VALUES (1)")
    with pytest.raises(RuntimeError), write_transaction(conn):
        conn.execute("INSERT INTO p VALUES (2)")
        raise RuntimeError("the job failed")
    with pytest.raises(sqlite3.IntegrityError), write_transaction(conn):
        conn.execute("INSERT INTO c VALUES (99)")  # no such p: refused at COMMIT
    assert not conn.in_transaction
    assert [r[0] for r in conn.execute("SELECT id FROM p")] == [1]
    assert conn.execute("SELECT count(*) FROM c").fetchone()[0] == 0


async def test_writers_of_one_file_take_turns_on_its_writers_lock(tmp_path: Path) -> None:
    """Another process's writer (here: the lock held from this test) holds the file's
    writers' lock: the server's writer waits for it, collecting the jobs that come
    meanwhile into one batch, and commits them as soon as it is released; the
    command line's transactions wait for it too."""
    import threading

    from bot.store.db import WritersLock

    path = tmp_path / "store.db"
    database = Database(path)
    database.start(migrate)
    other = WritersLock(path)
    try:
        await database.write(lambda conn: None)  # the writer is up
        batches = database.batches_committed
        other.__enter__()

        def insert(n: int):
            return lambda conn: ev.insert_events(conn, ev.NpsGiven(conversation_id="c", score=n))

        writes = [asyncio.ensure_future(database.write(insert(n))) for n in range(5)]
        await asyncio.sleep(0.3)
        assert not any(w.done() for w in writes)
        assert database.batches_committed == batches
        cli = connect(path)
        cli_done = threading.Event()

        def command_line() -> None:
            with write_transaction(cli):
                cli.execute("CREATE TABLE cli_mark (x)")
            cli_done.set()

        thread = threading.Thread(target=command_line)
        thread.start()
        await asyncio.sleep(0.2)
        assert not cli_done.is_set()
        other.__exit__()
        await asyncio.wait_for(asyncio.gather(*writes), timeout=5)
        thread.join(timeout=5)
        assert cli_done.is_set()
        assert database.batches_committed - batches <= 2  # the five waited in one batch
        count = await database.read(lambda c: c.execute("SELECT COUNT(*) FROM events").fetchone())
        assert count[0] == 5
        cli.close()
    finally:
        other.close()
        database.stop()
    assert (tmp_path / "store.db-writers").exists()


def test_a_turns_conversation_and_resent_message_are_indexed_reads(tmp_path: Path) -> None:
    """A shopper turn reads its conversation and whether the message was sent before:
    an unknown chat, a new client id, a resent one, and an agent's message with the
    same client id (not the shopper's) are told apart; on SQLite in two statements,
    each through an index (PostgreSQL's single statement runs in every turn of
    tests/test_postgres_server.py, resent messages included)."""
    from bot.store import conversations as convs

    conn = connect(tmp_path / "t.db")
    migrate(conn)
    convs.insert_conversation(conn, id="c1", status="bot", token_hash="h1")
    sent = convs.insert_message(conn, "c1", "shopper", "hi", client_id="m1")
    convs.insert_message(conn, "c1", "agent", "hello", client_id="m2", agent_id=None)
    assert convs.conversation_and_resent(conn, "nope", "m1", "shopper") == (None, None)
    conversation, resent = convs.conversation_and_resent(conn, "c1", "m1", "shopper")
    assert conversation is not None and conversation.id == "c1" and resent == sent.id
    assert convs.conversation_and_resent(conn, "c1", "m9", "shopper")[1] is None
    assert convs.conversation_and_resent(conn, "c1", "m2", "shopper")[1] is None
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    convs.conversation_and_resent(conn, "c1", "m1", "shopper")
    conn.set_trace_callback(None)
    assert len(statements) == 2, statements
    plans = [
        [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + statement)]
        for statement in statements
    ]
    assert not [step for plan in plans for step in plan if step.startswith("SCAN")], plans
    assert any("conversations" in step and "INDEX" in step for step in plans[0]), plans
    assert any("messages" in step and "INDEX" in step for step in plans[1]), plans


def test_a_writers_lock_held_too_long_is_given_up_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A command line stopped mid-write keeps the lock: a writer waits ``timeout``
    seconds for it, then writes without it (SQLite's busy handler decides), warned."""
    import time

    from bot.store.db import WritersLock

    path = tmp_path / "store.db"
    stopped = WritersLock(path)
    waiting = WritersLock(path, timeout=0.3)
    try:
        with stopped:
            started = time.monotonic()
            with waiting:
                waited = time.monotonic() - started
            assert 0.3 <= waited < 2
            assert "held for over 0 s: writing without it" in caplog.text
        with waiting:  # free again: taken at once
            pass
    finally:
        stopped.close()
        waiting.close()
