"""SQLite access that never blocks the event loop.

All writes go through **one writer thread** fed by a queue. The writer takes
whatever jobs are waiting (up to ``batch``), runs each inside its own SAVEPOINT
of one transaction and commits once; only then are the callers' futures
resolved, so an awaited :meth:`Database.write` means "committed". A job that
raises rolls back to its savepoint alone (a job alone in its batch needs none:
its transaction is rolled back and begun again), and so do fire-and-forget rows (a bad
row is logged and dropped, the others are kept); a failed COMMIT (disk full,
read-only file) fails every job of the batch with :class:`StorageUnavailable`
and the writer goes on with the next batch, so the service recovers once the
disk does. Storage failures are told from a job's own errors by SQLite's result
code (``sqlite_errorname``).

Reads run in a small thread pool, each thread with its own connection (WAL lets
them read while the writer writes).

This follows datasette's ``execute_write_fn`` design. The same class serves
PostgreSQL (a ``postgresql://`` URL instead of a path): one writer thread per
process there too, its connection behind the SQLite interface of
``bot.store.postgres``. A job that a deadlock with another process chose as its
victim is run again in a new transaction after the jobs before it are committed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bot.store import postgres

try:
    import fcntl
except ImportError:  # Windows: SQLite's busy handler does the waiting
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

T = TypeVar("T")
WriteFn = Callable[[sqlite3.Connection], Any]


class StorageUnavailable(Exception):
    """The database cannot take writes right now (read-only, disk full, locked)."""


@dataclass(slots=True)
class _Job:
    fn: WriteFn | None
    future: asyncio.Future[Any] | None
    loop: asyncio.AbstractEventLoop | None
    sql: str | None = None  # fire-and-forget row insert (events): executemany-ed per batch
    params: Sequence[Any] | None = None


_STOP = _Job(None, None, None)


def connect(path: Path | str, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection to the SQLite file, or to PostgreSQL for a ``postgresql://`` URL
    (the same interface: bot.store.postgres)."""
    if postgres.is_url(path):
        return postgres.connect(str(path), readonly=readonly)
    if readonly:
        conn = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
        )
    else:
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode: a commit survives a crash of the process (kill -9);
        # only a power loss can lose the last transactions.
        conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def check_schema(conn: sqlite3.Connection) -> None:
    """Raise ``sqlite3.Error`` unless the file is a supportbot database (of any version),
    before migrations would make one of any other SQLite file."""
    conn.execute("SELECT 1 FROM conversations LIMIT 1")


class WritersLock:
    """The writers of one SQLite file, in every process, taking turns.

    A writer holds an exclusive ``flock`` on ``FILE-writers`` beside the database
    while it writes. One that finds it taken tries again after 0.05 ms, doubling up
    to 0.5 ms, where SQLite's own busy handler (``BEGIN IMMEDIATE`` on a file another
    process writes) sleeps 1, 2, 5, 10 ... ms between tries: with two busy server
    processes on one file, those sleeps were longer than the writes they waited for.
    The server's writer takes it before it collects its batch, so the jobs that
    arrive while it waits join the batch. A lock held longer than ``timeout`` (a
    command line stopped mid-write) is given up on, with a warning, and SQLite's
    busy handler decides, as without the lock. Without ``fcntl`` (Windows), for
    PostgreSQL (its writers take turns on an advisory lock) or when the file cannot
    be made (a read-only folder), there is no lock.
    """

    FIRST_PAUSE = 0.00005
    LAST_PAUSE = 0.0005

    def __init__(self, database: Path | str | None, timeout: float = 5.0) -> None:
        self._fd: int | None = None
        self._held = False
        self.timeout = timeout
        self.name = str(database)
        if fcntl is None or not isinstance(database, Path) or str(database) == ":memory:":
            return
        try:
            self._fd = os.open(f"{database}-writers", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            log.info("no writers' lock beside %s (%s): SQLite's busy handler waits", database, exc)

    @classmethod
    def of(cls, conn: sqlite3.Connection) -> WritersLock:
        """The lock of the file ``conn`` is open on."""
        if not isinstance(conn, sqlite3.Connection):
            return cls(None)
        file = conn.execute("PRAGMA database_list").fetchone()[2]
        return cls(Path(file) if file else None)

    def __enter__(self) -> WritersLock:
        if self._fd is None:
            return self
        deadline = time.monotonic() + self.timeout
        pause = self.FIRST_PAUSE
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._held = True
                return self
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    log.warning(
                        "the writers' lock of %s was held for over %.0f s: writing without it",
                        self.name,
                        self.timeout,
                    )
                    return self
                time.sleep(pause)
                pause = min(pause * 2, self.LAST_PAUSE)

    def __exit__(self, *exc: object) -> None:
        if self._held:
            fcntl.flock(self._fd, fcntl.LOCK_UN)  # type: ignore[arg-type]
            self._held = False

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction on a connection of its own (the command line's): taken at
    once, waiting for the servers' writers (their lock, then ``busy_timeout``: 5 s each);
    committed at the end, rolled back on any exception."""
    lock = WritersLock.of(conn)
    try:
        with lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield
                conn.execute("COMMIT")  # may fail too (a deferred foreign key): rolled back
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
    finally:
        lock.close()


class Database:
    def __init__(self, path: Path | str, *, batch: int = 500, readers: int = 4) -> None:
        # a SQLite file's path, or a PostgreSQL URL (kept as it is)
        self.target: Path | str = str(path) if postgres.is_url(path) else Path(path)
        self.name = postgres.redact(str(path)) if postgres.is_url(path) else str(path)
        if postgres.is_url(path):
            # each job is a savepoint: PostgreSQL keeps 64 of them per transaction in
            # memory; more slow every reader's visibility checks down
            batch = min(batch, postgres.MAX_BATCH)
        self.batch = batch
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._readers = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="sqlite-read")
        self._local = threading.local()
        self._read_conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.batches_committed = 0

    # -- lifecycle -------------------------------------------------------

    def start(self, migrate: Callable[[sqlite3.Connection], object] | None = None) -> None:
        """Open the write connection, apply migrations, start the writer thread.

        Raises :class:`StorageUnavailable` when the file cannot be opened or migrated.
        """
        try:
            conn = connect(self.target)
            if migrate is not None:
                migrate(conn)
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"cannot open database {self.name}: {exc}") from exc
        self._writer = threading.Thread(
            target=self._run_writer, args=(conn,), name="sqlite-writer", daemon=True
        )
        self._writer.start()

    def stop(self) -> None:
        """Finish the queued writes, then stop the writer and close connections."""
        if self._writer is not None:
            self._queue.put(_STOP)
            self._writer.join()
            self._writer = None
        self._readers.shutdown(wait=True)
        with self._lock:
            for conn in self._read_conns:
                conn.close()
            self._read_conns.clear()

    # -- writes ----------------------------------------------------------

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` in the writer thread; return its result once committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(fn, future, loop))
        return await future

    def submit(self, sql: str, params: Sequence[Any]) -> None:
        """Queue one row insert without waiting (engagement events).

        Rows are inserted with ``executemany`` in the next batch; a failure is logged.
        """
        self._queue.put(_Job(None, None, None, sql, params))

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        await self.write(lambda conn: None)

    # -- reads -----------------------------------------------------------

    def _read_conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and getattr(conn, "closed", False):  # PostgreSQL went away
            with self._lock:
                self._read_conns.remove(conn)
            conn.close()
            conn = None
        if conn is None:
            conn = connect(self.target)
            conn.execute("PRAGMA query_only = ON")
            conn.execute("PRAGMA cache_size = -16000")  # 16 MB: report queries group a lot
            self._local.conn = conn
            with self._lock:
                self._read_conns.append(conn)
        return conn

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` on a reader thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._run_read, fn)

    def _run_read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._read_conn()
        try:
            return fn(conn)
        except sqlite3.Error:
            if getattr(conn, "closed", False):  # PostgreSQL went away: once more, anew
                return fn(self._read_conn())
            raise

    # -- the writer thread ----------------------------------------------

    def _run_writer(self, conn: sqlite3.Connection) -> None:
        current: sqlite3.Connection | None = conn
        writers = WritersLock(self.target)
        try:
            while True:
                first = self._queue.get()
                if first is _STOP:
                    return
                with writers:  # other processes' writers of this file take turns with us
                    current, stop = self._write_batch(current, first)
                if stop:
                    return
        finally:
            writers.close()
            if current is not None:
                current.close()

    def _write_batch(
        self, current: sqlite3.Connection | None, first: _Job
    ) -> tuple[sqlite3.Connection | None, bool]:
        """Collect a batch after ``first`` and run it; (the connection now, stop?)."""
        jobs = [first]
        stop = False
        while len(jobs) < self.batch:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is _STOP:
                stop = True
                break
            jobs.append(job)
        if current is None:
            # The last batch failed on the storage: reopen (the file may be
            # writable again, the disk may have room again).
            try:
                current = self._reopen()
            except sqlite3.Error as exc:
                self._fail(jobs, _translate(exc, reopen=True))
                return None, stop
        if self._lost_before_begin(current):
            # PostgreSQL dropped the idle connection (a restart, a time-out):
            # nothing of this batch was sent, so run it on a new one.
            current.close()
            try:
                current = self._reopen()
            except sqlite3.Error as exc:
                self._fail(jobs, _translate(exc, reopen=True))
                return None, stop
        if not self._run_batch(current, jobs):
            current.close()
            current = None
        return current, stop

    def _lost_before_begin(self, conn: sqlite3.Connection) -> bool:
        """Whether a PostgreSQL connection is found lost before the batch begins."""
        check = getattr(conn, "lost", None)
        return bool(check is not None and check())

    def _reopen(self) -> sqlite3.Connection:
        """A new write connection, after the storage failed.

        Seen with SQLite 3.40: the first connection opened after a read-only database
        file became writable again could not begin a write (SQLITE_READONLY) while the
        next one could. So the new connection begins and rolls back a write first, and
        is opened once more if that fails.
        """
        conn = connect(self.target)
        if not _can_write(conn):
            conn.close()
            conn = connect(self.target)  # if this one cannot either, the batch says why
        return conn

    def _fail(self, jobs: list[_Job], error: BaseException) -> None:
        log.error("database unavailable, %d jobs refused: %s", len(jobs), error)
        self._settle([(job, None, error) for job in jobs if job.fn is not None])

    def _run_batch(self, conn: sqlite3.Connection, jobs: list[_Job]) -> bool:
        """Run and commit one batch; False when the storage itself failed."""
        outcomes: list[tuple[_Job, Any, BaseException | None]] = []
        rows: dict[str, list[Sequence[Any]]] = {}
        healthy = True
        first = 0  # jobs before it are committed (a retried deadlock commits early)
        retries = 0  # of the current job
        # A batch of one job needs no savepoint: the transaction is the job's (the
        # rows come after it). Two round trips fewer per write on PostgreSQL.
        solo = sum(1 for job in jobs if job.fn is not None) == 1
        try:
            conn.execute("BEGIN IMMEDIATE")
            index = 0
            while index < len(jobs):
                job = jobs[index]
                if job.fn is None:
                    assert job.sql is not None and job.params is not None
                    rows.setdefault(job.sql, []).append(job.params)
                    index += 1
                    continue
                if not solo:
                    conn.execute("SAVEPOINT job")
                try:
                    result = job.fn(conn)
                except Exception as exc:  # noqa: BLE001 - handed to the caller
                    if solo:
                        conn.execute("ROLLBACK")
                        conn.execute("BEGIN IMMEDIATE")
                    else:
                        conn.execute("ROLLBACK TO job")
                        conn.execute("RELEASE job")
                    if getattr(exc, "retry", False) and retries < _RETRIES:
                        # PostgreSQL chose this job as a deadlock's victim: commit the
                        # jobs before it, so that their locks go, and run it again.
                        retries += 1
                        self._commit(conn, rows)
                        rows = {}
                        self._settle(outcomes)
                        outcomes, first = [], index
                        conn.execute("BEGIN IMMEDIATE")
                        continue
                    error = _translate(exc)
                    if isinstance(error, StorageUnavailable):
                        raise exc
                    outcomes.append((job, None, error))  # a victim too often: its own error
                else:
                    if not solo:
                        conn.execute("RELEASE job")
                    outcomes.append((job, result, None))
                index += 1
                retries = 0
            self._commit(conn, rows)
        except sqlite3.Error as exc:
            log.error("database write failed, %d jobs refused: %s", len(jobs) - first, exc)
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            except sqlite3.Error:
                log.exception("rollback failed")
            error = _translate(exc)
            healthy = not isinstance(error, StorageUnavailable)
            outcomes = [(job, None, error) for job in jobs[first:] if job.fn is not None]
        self._settle(outcomes)
        return healthy

    def _commit(self, conn: sqlite3.Connection, rows: dict[str, list[Sequence[Any]]]) -> None:
        """Insert the batch's fire-and-forget rows and commit."""
        for sql, params in rows.items():
            _insert_rows(conn, sql, params)
        conn.execute("COMMIT")
        self.batches_committed += 1

    def _settle(self, outcomes: list[tuple[_Job, Any, BaseException | None]]) -> None:
        # One wake-up per event loop per batch, not one per job.
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, Any]]] = {}
        for job, result, error in outcomes:
            assert job.loop is not None and job.future is not None
            by_loop.setdefault(job.loop, []).append((job.future, result, error))
        for loop, settled in by_loop.items():
            loop.call_soon_threadsafe(_settle_all, settled)


_RETRIES = 3  # a deadlock victim runs again at most this often

# SQLite's primary result codes that mean the storage, not the job, is at fault
# (extended codes such as SQLITE_IOERR_WRITE or SQLITE_READONLY_DBMOVED included).
_STORAGE_CODES = (
    "SQLITE_READONLY",
    "SQLITE_FULL",
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_IOERR",
    "SQLITE_CANTOPEN",
    "SQLITE_NOTADB",
    "SQLITE_CORRUPT",
    "SQLITE_PROTOCOL",
    "SQLITE_PERM",
)


def _insert_rows(conn: sqlite3.Connection, sql: str, params: list[Sequence[Any]]) -> None:
    """Fire-and-forget rows, in their own savepoint: a bad row (a bug in its caller) is
    logged and dropped, and never fails the other jobs of the batch."""
    conn.execute("SAVEPOINT rows")
    try:
        conn.executemany(sql, params)
    except sqlite3.Error as exc:
        conn.execute("ROLLBACK TO rows")
        if isinstance(_translate(exc), StorageUnavailable):
            conn.execute("RELEASE rows")
            raise
        for row in params:  # find the bad ones; keep the others
            conn.execute("SAVEPOINT row")
            try:
                conn.execute(sql, row)
            except sqlite3.Error as row_exc:
                conn.execute("ROLLBACK TO row")
                if isinstance(_translate(row_exc), StorageUnavailable):
                    conn.execute("RELEASE row")
                    conn.execute("RELEASE rows")
                    raise
                log.error(
                    "dropped a row that could not be stored (%s): %s",
                    getattr(row_exc, "sqlite_errorname", type(row_exc).__name__),
                    sql[:60],
                )
            conn.execute("RELEASE row")
    conn.execute("RELEASE rows")


def _can_write(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    except sqlite3.Error:
        return False
    return True


def _translate(exc: BaseException, *, reopen: bool = False) -> BaseException:
    """Storage failures (as opposed to a job's own bugs) become StorageUnavailable,
    told apart by SQLite's result code, not by the message's wording."""
    if not isinstance(exc, sqlite3.Error):
        return exc
    name = getattr(exc, "sqlite_errorname", None) or ""
    if reopen or any(name == code or name.startswith(code + "_") for code in _STORAGE_CODES):
        return StorageUnavailable(str(exc))
    return exc


def _settle_all(settled: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in settled:
        _settle(future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the caller was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
