"""PostgreSQL behind the store's SQLite interface (``--database postgresql://...``).

The store's functions take a connection and run SQL on it; they were written for
SQLite's ``sqlite3.Connection``. :class:`PgConnection` gives them the same surface on
a psycopg connection (``execute`` with ``?`` parameters, ``executemany``, rows that
index by number and by name, ``lastrowid``, ``rowcount``, ``in_transaction``), so that
one set of store functions, one writer thread per process and one set of tests serve
both engines. What differs between the two is kept here:

- **SQL text**, rewritten once per statement (:func:`translate`): ``?`` placeholders,
  ``ifnull``, ``INDEXED BY`` hints, ``CAST(.. AS INTEGER|REAL)``;
  ``INSERT`` into a table with an identity column gets ``RETURNING id`` (``lastrowid``).
  SQLite's ``julianday``, ``json_extract``, ``json_replace`` and ``instr`` exist in
  the PostgreSQL schema as functions of the same meaning (:data:`FUNCTIONS`).
  ``PRAGMA`` statements set SQLite's file options: here they do nothing and read 0.
- **Values**: booleans are stored and read as 0/1 and sums come back as Python
  numbers, as in SQLite.
- **Writes, one at a time.** ``BEGIN IMMEDIATE`` takes SQLite's write lock, and the
  store is written for that: a job reads, decides and writes as the only writer
  (a lifecycle move's compare-and-set, the privacy watcher's ``id > last seen``, an
  erasure from the command line while the server writes). Here it becomes
  ``BEGIN`` plus a transaction-scoped advisory lock, taken by every writer of every
  process and command: writes stay serial, and ids are committed in their order.
  Waiting for it is a queue in PostgreSQL, not SQLite's sleep-and-retry.
- **Errors** are raised as ``sqlite3`` exceptions with SQLite's result-code names
  (a lost connection reads as ``SQLITE_IOERR``: the writer reconnects; a constraint
  as ``sqlite3.IntegrityError``), so the callers' handling is the same for both. A
  deadlock or serialisation failure is marked ``retry``: the writer commits the jobs
  before it and runs the failed job again in a new transaction.
- **Schema**: the SQLite migrations are the one source. :func:`migrate` applies them to
  an in-memory SQLite database and creates the same tables and indexes here
  (:func:`schema_sql`); a database made by older migrations gets the difference.

psycopg (3) runs in the same threads the SQLite connections run in: the writer
thread and the reader pool. Parameters are bound on the client side (``ClientCursor``),
as SQLite's are typed by value, not by a prepared statement's guess.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any, cast

URL_PREFIXES = ("postgresql://", "postgres://")
MAX_BATCH = 60  # jobs (savepoints) per write transaction


def is_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(URL_PREFIXES)


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)


# -- SQL text --------------------------------------------------------------------

# Tables whose ``id`` is an identity column: an INSERT into them returns the id.
IDENTITY_TABLES = frozenset({"messages", "events", "agents", "canned_replies", "tickets", "outbox"})
_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+\"?(\w+)\"?", re.IGNORECASE)
_REWRITES = (
    # SQLite's write lock: one writing transaction at a time across every process
    # and command, as with SQLite (see WRITE_LOCK)
    (
        re.compile(r"\bBEGIN\s+IMMEDIATE\b", re.IGNORECASE),
        "BEGIN; SELECT pg_advisory_xact_lock(7265627)",
    ),
    (re.compile(r"\bifnull\s*\(", re.IGNORECASE), "coalesce("),
    (re.compile(r"\bINDEXED\s+BY\s+\w+\s*", re.IGNORECASE), ""),
    (re.compile(r"\bAS\s+INTEGER\s*\)", re.IGNORECASE), "AS BIGINT)"),
    (re.compile(r"\bAS\s+REAL\s*\)", re.IGNORECASE), "AS DOUBLE PRECISION)"),
)

# SQLite's functions that the store uses, with the same meaning on the stored text.
FUNCTIONS = (
    # days since noon in Greenwich on November 24, 4714 B.C., of an ISO 8601 time
    "CREATE OR REPLACE FUNCTION julianday(t text) RETURNS double precision "
    "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS "
    "$$ SELECT extract(epoch FROM t::timestamptz)::double precision / 86400.0 "
    "+ 2440587.5 $$",
    # the value at '$.a.b' as text (SQL NULL for a JSON null or a missing key)
    "CREATE OR REPLACE FUNCTION json_extract(doc text, path text) RETURNS text "
    "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS "
    "$$ SELECT replace(doc, '\\u0000', '\\ufffd')::jsonb "
    "#>> string_to_array(substr(path, 3), '.') $$",
    # json_replace(doc, '$.a', NULL, ...): keys that exist become null (the store
    # only ever replaces with NULL)
    "CREATE OR REPLACE FUNCTION json_replace(doc text, VARIADIC args text[]) RETURNS text "
    "LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ "
    "DECLARE j jsonb := replace(doc, '\\u0000', '\\ufffd')::jsonb; k text; i int; BEGIN "
    "IF doc IS NULL THEN RETURN NULL; END IF; "
    "FOR i IN 1 .. coalesce(array_length(args, 1), 0) BY 2 LOOP "
    "k := substr(args[i], 3); "
    "IF j ? k THEN j := jsonb_set(j, ARRAY[k], coalesce(to_jsonb(args[i + 1]), 'null')); "
    "END IF; END LOOP; RETURN j::text; END $$",
    "CREATE OR REPLACE FUNCTION instr(haystack text, needle text) RETURNS integer "
    "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT strpos(haystack, needle) $$",
)


@lru_cache(maxsize=2048)
def translate(sql: str) -> tuple[str, bool]:
    """The statement in PostgreSQL's words, and whether it returns an inserted id."""
    out: list[str] = []
    quote = ""
    for ch in sql:
        if quote:
            out.append("%%" if ch == "%" else ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    text = "".join(out)
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    match = _INSERT.match(text)
    returns_id = bool(
        match and match.group(1) in IDENTITY_TABLES and "RETURNING" not in text.upper()
    )
    if returns_id:
        text = text.rstrip().rstrip(";") + " RETURNING id"
    return text, returns_id


# -- values and rows -------------------------------------------------------------


class Row(tuple[Any, ...]):
    """A result row read by position or by column name, as ``sqlite3.Row``."""

    __slots__ = ()
    _index: dict[str, int] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


@lru_cache(maxsize=512)
def _row_class(names: tuple[str, ...]) -> type[Row]:
    return type("Row", (Row,), {"__slots__": (), "_index": {n: i for i, n in enumerate(names)}})


def _row_factory(cursor: Any) -> Any:
    description = cursor.description
    if description is None:
        return tuple
    cls = _row_class(tuple(column.name for column in description))
    return cls


def _values(params: Sequence[Any]) -> tuple[Any, ...]:
    """Parameters as PostgreSQL takes them: its text cannot hold NUL, which SQLite's can;
    a NUL reads as U+FFFD both when stored and when looked up (a forged id with a NUL
    finds nothing, as in SQLite, instead of failing)."""
    return tuple(
        value.replace("\x00", "\ufffd") if isinstance(value, str) and "\x00" in value else value
        for value in params
    )


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


@lru_cache(maxsize=1)
def _adapters() -> Any:
    """psycopg's adapters for our connections: 0/1 for booleans both ways, sums as
    Python numbers (SQLite's ``sum`` of integers is an integer)."""
    import psycopg
    from psycopg.adapt import Dumper, Loader
    from psycopg.types.numeric import IntDumper

    class BoolAsInt(IntDumper):
        def dump(self, obj: Any) -> bytes:
            return b"1" if obj else b"0"

        def quote(self, obj: Any) -> bytes:
            return b"1" if obj else b"0"

    class BoolLoader(Loader):
        def load(self, data: Any) -> int:
            return 1 if bytes(data) in (b"t", b"true") else 0

    class NumericLoader(Loader):
        def load(self, data: Any) -> int | float:
            return _number(Decimal(bytes(data).decode()))

    adapters = psycopg.adapt.AdaptersMap(psycopg.adapters)
    adapters.register_dumper(bool, cast(type[Dumper], BoolAsInt))
    adapters.register_loader("bool", BoolLoader)
    adapters.register_loader("numeric", NumericLoader)
    return adapters


# -- errors ----------------------------------------------------------------------

# SQLSTATE classes of a storage failure: connection exception, operator intervention
# (admin or crash shutdown, cannot connect now), system error
_STORAGE_STATES = ("08", "57P", "58")


def _sqlite_error(exc: Exception) -> sqlite3.Error:
    """The psycopg error as the sqlite3 error the store's callers handle."""
    import psycopg

    error: sqlite3.Error
    state = getattr(exc, "sqlstate", None) or ""
    if isinstance(exc, psycopg.errors.IntegrityError):
        error, name = sqlite3.IntegrityError(str(exc)), "SQLITE_CONSTRAINT"
    elif state.startswith("40"):  # deadlock, serialisation
        error, name = sqlite3.OperationalError(str(exc)), "SQLITE_ABORT_ROLLBACK"
        error.retry = True  # type: ignore[attr-defined]
    elif isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
        error, name = sqlite3.OperationalError(str(exc)), "SQLITE_READONLY"
    elif state.startswith("53"):  # disk full, out of memory, too many connections
        error, name = sqlite3.OperationalError(str(exc)), "SQLITE_FULL"
    elif state.startswith(_STORAGE_STATES) or (
        not state and isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
    ):
        # the connection is lost or refused, the server shuts down or failed: storage,
        # not the job (errors of a statement, e.g. a time-out, are the job's)
        error, name = sqlite3.OperationalError(str(exc)), "SQLITE_IOERR"
    elif isinstance(exc, psycopg.errors.DataError | psycopg.errors.ProgrammingError):
        error, name = sqlite3.OperationalError(str(exc)), "SQLITE_ERROR"
    else:
        error, name = sqlite3.DatabaseError(str(exc)), "SQLITE_ERROR"
    error.sqlite_errorname = name
    return error


# -- the connection --------------------------------------------------------------


class PgCursor:
    """The part of ``sqlite3.Cursor`` the store uses."""

    def __init__(self, cursor: Any, lastrowid: int | None = None, rows: list[Any] | None = None):
        self._cursor = cursor
        self.lastrowid = lastrowid
        self._rows = rows

    @property
    def rowcount(self) -> int:
        return -1 if self._cursor is None else int(self._cursor.rowcount)

    def fetchone(self) -> Any:
        if self._rows is not None:
            return self._rows.pop(0) if self._rows else None
        if self._cursor is None or self._cursor.description is None:
            return None
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        if self._rows is not None:
            rows, self._rows = self._rows, []
            return rows
        if self._cursor is None or self._cursor.description is None:
            return []
        return list(self._cursor.fetchall())

    def fetchmany(self, size: int = 1) -> list[Any]:
        if self._rows is not None:
            rows, self._rows = self._rows[:size], self._rows[size:]
            return rows
        if self._cursor is None or self._cursor.description is None:
            return []
        return list(self._cursor.fetchmany(size))

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


# Statements that change no data and return nothing: sent with the next one.
_DEFERRABLE = re.compile(r"^\s*(?:BEGIN\s+IMMEDIATE|SAVEPOINT\s+\w+|RELEASE\s+\w+)\s*$", re.I)
_ENDS = re.compile(r"^\s*(?:COMMIT|ROLLBACK)\s*$", re.I)
_PRAGMA = re.compile(r"^\s*PRAGMA\s+(\w+)\s*(?:=\s*(\w+))?", re.IGNORECASE)


class PgConnection:
    """A psycopg connection with the surface of ``sqlite3.Connection`` that the store
    uses; autocommit, so that transactions are begun and ended by the SQL, as with
    ``isolation_level=None`` in SQLite."""

    def __init__(self, url: str, *, readonly: bool = False) -> None:
        try:
            import psycopg
        except ImportError:
            error = sqlite3.OperationalError(
                "PostgreSQL storage needs psycopg: pip install 'supportbot[postgres]'"
            )
            error.sqlite_errorname = "SQLITE_CANTOPEN"
            raise error from None

        self.url = url
        # BEGIN, SAVEPOINT and RELEASE wait here and go with the next statement, in
        # the same round trip (a write job: 3 round trips instead of 5, or more)
        self._pending: list[str] = []
        try:
            self._conn = psycopg.connect(
                url,
                autocommit=True,
                cursor_factory=psycopg.ClientCursor,
                row_factory=_row_factory,
                context=_adapters(),
                connect_timeout=10,
                application_name="supportbot",
            )
        except psycopg.Error as exc:
            raise _sqlite_error(exc) from exc
        if readonly:
            self.execute("SET default_transaction_read_only = on")

    @property
    def closed(self) -> bool:
        return bool(self._conn.closed or self._conn.broken)

    def lost(self) -> bool:
        """Whether the server has closed this idle connection (a restart, a time-out),
        found without a round trip: an idle connection of ours has nothing to read (we
        listen to no notifications), so a readable socket is the server's goodbye
        (its error message, then end of file). Rarely a harmless notice: then a new
        connection is opened for nothing."""
        import select

        if self.closed:
            return True
        if self.in_transaction:
            return False
        try:
            readable, _, _ = select.select([self._conn.pgconn.socket], [], [], 0)
        except Exception:  # noqa: BLE001 - no socket to look at: treat as lost
            return True
        return bool(readable)

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        if self._pending and self._pending[0].startswith("BEGIN"):
            return True  # begun, though not sent yet
        return bool(self._conn.info.transaction_status != TransactionStatus.IDLE)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> PgCursor:
        import psycopg

        pragma = _PRAGMA.match(sql)
        if pragma:
            if pragma.group(1).lower() == "query_only" and pragma.group(2):
                on = pragma.group(2).lower() in ("1", "on", "true")
                self.execute(f"SET default_transaction_read_only = {'on' if on else 'off'}")
            return PgCursor(None, rows=[(0,)])
        if _DEFERRABLE.match(sql):
            self._pending.append(translate(sql)[0])
            return PgCursor(None)
        if self._pending and _ENDS.match(sql) and self._pending[0].startswith("BEGIN"):
            self._pending = []  # a transaction that wrote nothing: never sent at all
            return PgCursor(None)
        text, returns_id = translate(sql)
        prefix, self._pending = self._pending, []
        try:
            cursor = self._conn.cursor()  # raises too when the connection is lost
            if prefix:
                # the deferred statements and this one in one round trip; the
                # cursor moves on to this one's result
                cursor.execute("; ".join([*prefix, text]), _values(params))
                for _ in range(sum(part.count(";") + 1 for part in prefix)):
                    cursor.nextset()
            else:
                cursor.execute(text, _values(params))
        except psycopg.Error as exc:
            raise _sqlite_error(exc) from exc
        if returns_id:
            try:
                row = cursor.fetchone()
            except psycopg.Error as exc:
                raise _sqlite_error(exc) from exc
            return PgCursor(cursor, lastrowid=None if row is None else int(row[0]))
        return PgCursor(cursor)

    def execute_raw(self, sql: str) -> None:
        """A statement as it is, not translated (PostgreSQL's own, e.g. a function)."""
        import psycopg

        if self._pending:
            sql = "; ".join([*self._pending, sql])
            self._pending = []
        try:
            self._conn.execute(cast(Any, sql))
        except psycopg.Error as exc:
            raise _sqlite_error(exc) from exc

    def _flush(self) -> None:
        """Send the deferred statements now (before a statement that cannot carry them)."""
        if self._pending:
            prefix, self._pending = self._pending, []
            self.execute_raw("; ".join(prefix))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> PgCursor:
        import psycopg

        self._flush()
        text, returns_id = translate(sql)
        if returns_id:  # ids of many rows are not asked for: leave RETURNING out
            text = text[: -len(" RETURNING id")]
        try:
            cursor = self._conn.cursor()
            cursor.executemany(text, [_values(row) for row in rows])
        except psycopg.Error as exc:
            raise _sqlite_error(exc) from exc
        return PgCursor(cursor)

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """COPY rows into a table (``supportbot db copy``); the number copied."""
        import psycopg
        from psycopg import sql

        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        count = 0
        self._flush()
        try:
            with self._conn.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(_values(row))
                    count += 1
        except psycopg.Error as exc:
            raise _sqlite_error(exc) from exc
        return count

    def close(self) -> None:
        self._conn.close()


def connect(url: str, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection the store's functions take as theirs (see the module's note)."""
    return cast(sqlite3.Connection, PgConnection(url, readonly=readonly))


def is_postgres(conn: object) -> bool:
    return isinstance(conn, PgConnection)


# -- schema ----------------------------------------------------------------------

_DDL_REWRITES = (
    (re.compile(r"\[(\w+)\]"), r'"\1"'),
    (
        re.compile(r"(\"id\"|\bid)\s+INTEGER\s+PRIMARY\s+KEY"),
        r"\1 BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    ),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\b(REAL|FLOAT)\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    (re.compile(r"\bifnull\s*\(", re.IGNORECASE), "coalesce("),
)


_REFERENCES = re.compile(r'REFERENCES\s+"?\[?(\w+)')


def _ddl(sql: str) -> str:
    for pattern, replacement in _DDL_REWRITES:
        sql = pattern.sub(replacement, sql)
    return sql


def _sqlite_schema(names: Sequence[str]) -> dict[str, tuple[str, str, str]]:
    """name -> (type, table, SQL) of what the named migrations make, in the order made."""
    from bot.store.migrations import migrate_sqlite

    scratch = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate_sqlite(scratch, only=names)
        return {
            name: (kind, table, sql)
            for kind, name, table, sql in scratch.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master "
                "WHERE sql IS NOT NULL ORDER BY rowid"
            )
        }
    finally:
        scratch.close()


def _columns(sql: str) -> dict[str, str]:
    """Column name -> its definition, of a CREATE TABLE statement as SQLite stores it."""
    body = sql[sql.index("(") + 1 : sql.rindex(")")]
    columns: dict[str, str] = {}
    depth, part, quote = 0, "", ""
    for ch in body + ",":
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0 and not quote:
            words = part.strip()
            if words and not words.upper().startswith(
                ("PRIMARY", "FOREIGN", "UNIQUE", "CHECK", "CONSTRAINT")
            ):
                name = words.split()[0].strip('"[]`')
                columns[name] = words
            part = ""
        else:
            part += ch
    return columns


_DEFAULT = re.compile(r"\bDEFAULT\s+('(?:[^']|'')*'|[^\s,]+)", re.IGNORECASE)


def _alter_column(table: str, column: str, old: str, new: str) -> list[str]:
    """ALTER COLUMN statements for a column whose type, NOT NULL or default changed
    (SQLite re-makes the table for that: sqlite-utils' ``transform``)."""

    def parts(definition: str) -> tuple[str, bool, str | None]:
        words = _ddl(definition).split()
        kind = words[1].upper() if len(words) > 1 else "TEXT"
        default = _DEFAULT.search(definition)
        return kind, "NOT NULL" in definition.upper(), default.group(1) if default else None

    (old_type, old_null, old_default), (new_type, new_null, new_default) = parts(old), parts(new)
    where = f'ALTER TABLE "{table}" ALTER COLUMN "{column}"'
    out = []
    if old_type != new_type:
        out.append(f'{where} TYPE {new_type} USING "{column}"::{new_type}')
    if old_null != new_null:
        out.append(f"{where} {'SET' if new_null else 'DROP'} NOT NULL")
    if old_default != new_default:
        out.append(f"{where} SET DEFAULT {new_default}" if new_default else f"{where} DROP DEFAULT")
    return out


def schema_sql(applied: Sequence[str], wanted: Sequence[str]) -> list[str]:
    """The statements that take a PostgreSQL database made by the migrations
    ``applied`` to the schema of ``wanted`` (from nothing when ``applied`` is empty)."""
    before = _sqlite_schema(applied) if applied else {}
    after = _sqlite_schema(wanted)
    statements: list[str] = []
    # new tables first, each after the tables it references (a table that SQLite
    # re-made comes last in its schema, after the tables that reference it)
    new_tables = {n: v[2] for n, v in after.items() if v[0] == "table" and n not in before}
    made: set[str] = set(before)
    while new_tables:
        ready = [
            n
            for n, sql in new_tables.items()
            if set(_REFERENCES.findall(sql)) - {n} <= made | (set(after) - set(new_tables))
        ] or list(new_tables)[:1]
        for n in ready:
            statements.append(_ddl(new_tables.pop(n)))
            made.add(n)
    for name, (kind, table, sql) in after.items():
        if kind == "table" and name not in before:
            continue
        if name not in before:
            statements.append(_ddl(sql))
        elif kind == "table" and before[name][2] != sql:
            old, new = _columns(before[name][2]), _columns(sql)
            for column, definition in new.items():
                if column not in old:
                    statements.append(f'ALTER TABLE "{table}" ADD COLUMN {_ddl(definition)}')
                elif _ddl(old[column]) != _ddl(definition):
                    statements += _alter_column(table, column, old[column], definition)
        elif kind == "index" and before[name][2] != sql:
            statements += [f'DROP INDEX IF EXISTS "{name}"', _ddl(sql)]
    for name, (kind, _table, _sql) in before.items():
        if name not in after:
            statements.append(f'DROP {"TABLE" if kind == "table" else "INDEX"} IF EXISTS "{name}"')
    return statements


def migrate(conn: sqlite3.Connection, names: Sequence[str], now: str) -> list[str]:
    """Bring the PostgreSQL database to the schema of the migrations ``names``; the
    names applied. Runs in one transaction, under an advisory lock, so that processes
    starting together migrate once."""
    conn.execute("BEGIN")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(7265626)")  # 'supportbot migrate'
        for statement in FUNCTIONS:
            cast(PgConnection, conn).execute_raw(statement)
        conn.execute(
            "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
        applied = [name for name in names if name in done]
        if applied != list(names[: len(applied)]):
            raise sqlite3.DatabaseError(
                f"the database's migrations {sorted(done)} are not a beginning of {list(names)}"
            )
        missing = list(names[len(applied) :])
        if missing:
            for statement in schema_sql(applied, names):
                if statement.startswith("CREATE TABLE _migrations"):
                    continue
                conn.execute(statement)
            for name in missing:
                conn.execute(
                    "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (name, now)
                )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return missing


def copier(
    conn: sqlite3.Connection,
) -> Callable[[str, Sequence[str], Iterable[Sequence[Any]]], int]:
    """The connection's COPY of rows into a table (bot.store.copy)."""
    return cast(PgConnection, conn).copy_rows
