"""The engine and the transactions every request runs in.

A transaction is opened for one account: on PostgreSQL it sets ``app.account_id`` for
that transaction only (``set_config(..., true)``), which the row-level security policies
read as a second guard under the account filter that every query of this package carries.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import sqlite3
import urllib.parse
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

# How long a request waits for a pooled connection before it is answered 503.
POOL_TIMEOUT = 5
# The most writes of one account that hold connections of a process at once (the pool
# holds twice NEVERLOG_DATABASE_POOL_SIZE, 20 by default).
ACCOUNT_WRITES = 4
# How long closing the engine waits for the transactions under way (see dispose).
DISPOSE_WAIT = 10
log = logging.getLogger("neverlog")
# The accounts whose write this task is inside (Database._account_writes).
_HELD: contextvars.ContextVar[frozenset[uuid.UUID]] = contextvars.ContextVar(
    "neverlog_held_accounts", default=frozenset()
)
_SET_ACCOUNT = sa.text("select set_config('app.account_id', :account_id, true)")


def account_gate() -> Any:
    """A condition for a read that ``Database.read_once`` runs on its own: it sets
    ``app.account_id`` for the statement's own transaction, bound as ``gate_account_id``.
    PostgreSQL plans a condition without columns as a one-time filter, evaluated before
    any table is scanned, so row-level security sees the account set (always true)."""
    setting = sa.func.set_config("app.account_id", sa.bindparam("gate_account_id"), True)
    return sa.select(setting).scalar_subquery().is_not(None)


# The session.info key under which each session of ``Database.transaction`` names its
# Database (for what the process keeps beside it: ``Database.info``).
DATABASE = "neverlog.database"


def database_of(session: AsyncSession) -> Database | None:
    """The Database whose ``transaction`` opened ``session``, if one did."""
    found = session.info.get(DATABASE)
    return found if isinstance(found, Database) else None


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Call ``callback`` once the session's transaction has committed, never if it rolls
    back (for what this process keeps of the state that the transaction changes)."""

    def committed(_session: Any) -> None:
        callback()

    event.listen(session.sync_session, "after_commit", committed, once=True)


def after_transaction(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Call ``callback`` once the session's transaction has ended, committed or rolled back
    (after ``after_commit``'s callbacks)."""

    def ended(_session: Any, transaction: Any) -> None:
        if transaction.parent is None:  # the session's own transaction, not a savepoint
            callback()

    event.listen(session.sync_session, "after_transaction_end", ended)


def lazy_commit() -> Any:
    """A condition for a write that ``Database.write_once`` runs on its own and that may be
    lost in a crash of the database server (a token's lastUsedAt, kept to the minute): its
    transaction commits without waiting for the write-ahead log to reach the disk
    (``synchronous_commit`` off for that transaction only, as SET LOCAL would). A one-time
    filter, as ``account_gate``; never lost in any other way, never out of order."""
    setting = sa.func.set_config("synchronous_commit", "off", True)
    return sa.select(setting).scalar_subquery().is_not(None)


class Database:
    """One async engine (SQLite through aiosqlite, or PostgreSQL through asyncpg)."""

    def __init__(
        self, url: str, *, pool_size: int = 10, pgbouncer: bool = False, echo: bool = False
    ) -> None:
        self.url = make_url(url)
        self.pgbouncer = pgbouncer
        self.dialect = self.url.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo, "pool_pre_ping": False}
        if self.dialect == "sqlite":
            # Every transaction of this class ends itself (a commit, or a rollback), and a
            # Connection closed mid-transaction rolls back before it returns to the pool: the
            # pool's own rollback on return would be one more trip to aiosqlite's thread.
            kwargs["pool_reset_on_return"] = None
        if self.is_postgresql:
            # No pre-ping: a connection that died while it sat idle is replaced when the
            # first statement of a transaction finds it dead (_begin).
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_timeout=POOL_TIMEOUT)
            kwargs["connect_args"] = {"timeout": POOL_TIMEOUT, "command_timeout": 30}
            if pgbouncer:
                # Behind PgBouncer in transaction mode a session's prepared statements may
                # land on another server connection: turn asyncpg's statement cache off and
                # give every statement a unique name (SQLAlchemy's documented recipe).
                kwargs["connect_args"]["statement_cache_size"] = 0
                kwargs["connect_args"]["prepared_statement_name_func"] = _unique_statement_name
                self.url = self.url.update_query_dict({"prepared_statement_cache_size": "0"})
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _prepare_sqlite(self.engine)
            # Writers start with BEGIN IMMEDIATE, so two writers queue up on the database lock
            # instead of both reading a list's size and then failing to upgrade their lock.
            self._write_engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")
            # Readers issue no BEGIN: each statement reads a consistent state of its own, as
            # under READ COMMITTED on PostgreSQL, and a read is spared BEGIN and COMMIT, each
            # a trip to aiosqlite's thread.
            self._read_engine = self.engine.execution_options(sqlite_begin=None)
        else:
            self._write_engine = self._read_engine = self.engine
        # read_once's statements, compiled for asyncpg (a few, each built once).
        self._compiled_statements: dict[Any, tuple[str, list[str], dict[str, Any]]] = {}
        # read_once's statements on SQLite, compiled with their parameters' and columns'
        # processors (see _sqlite_read), and its connection, opened at the first read.
        self._sqlite_statements: dict[Any, _SqliteRead] = {}
        self._sqlite_file = _sqlite_file(self.url) if self.dialect == "sqlite" else None
        self._sqlite_reads: sqlite3.Connection | None = None
        # read_once's connections on PostgreSQL: asyncpg's own pool, opened at the first
        # read (see _reads).
        self._pool_size = pool_size
        self._reads: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        # Called with the account (None: any) after each write transaction of
        # ``transaction`` commits: what this process holds of the account's state drops it
        # at once (tenancy/held_lists.py).
        self.after_write: list[Callable[[uuid.UUID | None], None]] = []
        # What the process keeps beside this handle, by its owner's key (tenancy's sign-in
        # cache, its gathered lastUsedAt writes, its live hubs): as SQLAlchemy's ``info``,
        # it lives and goes with the handle, and no module keeps a registry of handles.
        self.info: dict[str, Any] = {}
        # Awaited first by dispose: what the process still has to write through this handle
        # (tenancy/touches.py's gathered lastUsedAt), written before the connections close.
        # Written after, it would open read_once's pool again, which nothing would close.
        self.before_dispose: list[Callable[[], Awaitable[None]]] = []
        # The transactions (and pings) under way on the engine, each holding a connection
        # or about to: dispose waits for them.
        self._in_use = 0
        self._all_done: asyncio.Event | None = None
        # One semaphore per account with writes in this process (see _account_writes); an
        # account's goes when no write holds or awaits it.
        self._write_gates: weakref.WeakValueDictionary[uuid.UUID, asyncio.Semaphore] = (
            weakref.WeakValueDictionary()
        )

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def transaction(
        self, account_id: uuid.UUID | None, *, write: bool = False
    ) -> AsyncIterator[AsyncSession]:
        """One transaction for one account; committed on success, rolled back on error.

        On SQLite a reader (not ``write``) runs without BEGIN: see __init__."""
        with self._using():
            if not write and not self.is_postgresql:
                # Closing the session ends it with one rollback, a no-op outside a
                # transaction.
                async with AsyncSession(
                    self._read_engine, expire_on_commit=False, autoflush=False
                ) as session:
                    session.info[DATABASE] = self
                    yield session
                return
            async with self._account_writes(account_id if write else None):
                session = await self._begin(
                    self._write_engine if write else self.engine, account_id
                )
                try:
                    yield session
                except BaseException:
                    await session.rollback()
                    raise
                else:
                    await session.commit()
                    if write:
                        for written in self.after_write:
                            written(account_id)
                finally:
                    await session.close()

    @asynccontextmanager
    async def _account_writes(self, account_id: uuid.UUID | None) -> AsyncIterator[None]:
        """At most ACCOUNT_WRITES of one account's writes in this process hold a connection
        at once; the account's other writes queue here before they take one.

        A change waits for its list's lock in the database (on SQLite, for the one writer).
        Queued there, a burst of one tenant's writes would hold a pooled connection each
        while it waits, and the pool's other callers (any tenant's decisions) would find it
        empty and be answered 503 after POOL_TIMEOUT. A few at once still let changes to
        different lists of one account (each user's personal list) go side by side. A write
        of a task already inside one for the same account (nested) does not wait."""
        if account_id is None or account_id in _HELD.get():
            yield
            return
        gate = self._write_gates.get(account_id)
        if gate is None:
            gate = self._write_gates[account_id] = asyncio.Semaphore(ACCOUNT_WRITES)
        async with gate:
            token = _HELD.set(_HELD.get() | {account_id})
            try:
                yield
            finally:
                _HELD.reset(token)

    @contextlib.contextmanager
    def _using(self) -> Iterator[None]:
        """Counts what is under way on the engine, for dispose to wait for."""
        self._in_use += 1
        try:
            yield
        finally:
            self._in_use -= 1
            if not self._in_use and self._all_done is not None:
                self._all_done.set()

    async def _begin(self, engine: AsyncEngine, account_id: uuid.UUID | None) -> AsyncSession:
        """A session in a new transaction, for the account on PostgreSQL.

        A pooled connection may have died with the server (a restart, a failover) while it
        sat idle; the transaction's first statement, set_config, finds it dead. Nothing of
        the caller's has run then, so the transaction begins again, once, on a new
        connection (SQLAlchemy has discarded the pool's older ones): the first request after
        the database comes back is served. That costs nothing while connections live, where
        SQLAlchemy's pool_pre_ping tests every checkout with three round trips on asyncpg
        (BEGIN, the ping, ROLLBACK): six of a decision's fourteen."""
        for attempt in (1, 2):
            session = AsyncSession(engine, expire_on_commit=False, autoflush=False)
            session.info[DATABASE] = self
            try:
                await session.begin()
                if self.is_postgresql:
                    await session.execute(
                        _SET_ACCOUNT, {"account_id": str(account_id) if account_id else ""}
                    )
            except sa_exc.DBAPIError as error:
                await session.close()
                if attempt == 2 or not error.connection_invalidated:
                    raise
                continue
            except BaseException:
                await session.close()
                raise
            return session
        raise AssertionError("unreachable")  # pragma: no cover

    async def write_once(
        self, account_id: uuid.UUID, statement: sa.Executable, params: dict[str, Any]
    ) -> None:
        """One write statement for one account, in a transaction of its own, for a write
        that nothing else goes with (a token's lastUsedAt). On PostgreSQL, as read_once
        runs a read: one round trip, the statement carrying ``account_gate()`` (and, where
        it may, ``lazy_commit()``). Elsewhere a transaction of ``transaction``."""
        await self._once(account_id, statement, params, write=True)

    async def read_once(
        self, account_id: uuid.UUID, statement: sa.Executable, params: dict[str, Any]
    ) -> list[Any]:
        """The rows of one read statement for one account, in a transaction of its own.

        On PostgreSQL that is one round trip, straight through asyncpg and its own pool
        (_open_reads): no BEGIN, set_config or COMMIT of their own (autocommit), no
        SQLAlchemy execution or checkout (its compiling of parameters, building of rows and
        checking a connection out and in cost more than the read itself); the
        statement, compiled once, carries ``account_gate()``, which sets the account for
        it. A statement sees one consistent state, as each statement of a READ COMMITTED
        transaction does. Rows are asyncpg's records, whose values are the driver's own
        (no result processing: fit for plain columns). A connection found dead has the
        pool's connections replaced and the read runs once more on a new one, as in _begin.
        On SQLite (a database file), the statement runs at once, synchronously, on a
        connection of the standard ``sqlite3`` module kept for these reads (_sqlite_read):
        no thread hop, no SQLAlchemy execution; the rows are SQLAlchemy's values (its
        processors applied), as a reader of ``transaction`` would return them. Behind
        PgBouncer in transaction mode a statement outside a
        transaction could be prepared on one server connection and run on another: there it
        runs in a transaction of ``transaction`` (its gate sets the same account again)."""
        return await self._once(account_id, statement, params, write=False)

    async def _once(
        self,
        account_id: uuid.UUID,
        statement: sa.Executable,
        params: dict[str, Any],
        *,
        write: bool,
    ) -> list[Any]:
        if not write and self._sqlite_file is not None:
            return self._sqlite_read(statement, params)
        if not self.is_postgresql or self.pgbouncer:
            bound = {**params, "gate_account_id": str(account_id)} if self.pgbouncer else params
            async with self.transaction(account_id, write=write) as session:
                result = await session.execute(statement, bound)
                return list(result) if result.returns_rows else []
        sql, names, defaults = self._compiled(statement)
        bound = {**defaults, **params, "gate_account_id": str(account_id)}
        arguments = [bound[name] for name in names]
        pool = self._reads or await self._open_reads()
        self._announce(sql, arguments)
        for attempt in (1, 2):
            # An idle connection is taken at once, with no timer to arm and cancel (asyncio's
            # timeouts for the acquiring and the release were a twentieth of a decision's
            # CPU); only a read that must wait for one waits at most POOL_TIMEOUT.
            wait = None if pool.get_idle_size() else POOL_TIMEOUT
            async with pool.acquire(timeout=wait) as connection:
                try:
                    return list(await connection.fetch(sql, *arguments))
                except Exception as error:
                    if not (
                        isinstance(error, OSError | asyncpg.ConnectionDoesNotExistError)
                        or connection.is_closed()
                    ):
                        raise  # the statement failed, not the connection
                    # The connection died (a database restart, a failover): so did the
                    # pool's others. Have them all replaced, and read again, once, on a
                    # new connection.
                    await pool.expire_connections()
                    if attempt == 2:
                        raise ConnectionError(
                            f"the database connection was lost: {error}"
                        ) from error
        raise AssertionError("unreachable")  # pragma: no cover

    async def _open_reads(self) -> asyncpg.Pool:
        """read_once's pool, opened once: asyncpg's own, beside SQLAlchemy's (a pooled
        connection of SQLAlchemy's costs more to check out and in than the read itself),
        with the engine's connection settings and at most as many connections as the
        engine keeps open. Connections open as reads need them."""
        async with self._opening:
            if self._reads is None:
                _, params = self.engine.dialect.create_connect_args(self.url)
                self._reads = await asyncpg.create_pool(
                    **params,
                    min_size=0,
                    max_size=self._pool_size,
                    timeout=POOL_TIMEOUT,
                    command_timeout=30,
                    reset=_nothing_to_reset,
                )
            return self._reads

    def _sqlite_read(self, statement: sa.Executable, params: dict[str, Any]) -> list[Any]:
        """read_once on SQLite: the statement on this process's read connection, run
        synchronously in the event loop's thread.

        Why not through aiosqlite: each of its statements is handed to a thread of its own
        and its answer handed back to the event loop, and that round trip (two thread
        switches, a future, the GIL taken back) costs more than a point read, which SQLite
        answers in microseconds from its page cache. In WAL mode a reader never waits for
        a writer: the statement reads the last committed state (a change committed by this
        process a moment ago included) and blocks the loop only for as long as SQLite
        reads. The connection only reads (``PRAGMA query_only``), in autocommit: each
        statement is a transaction of its own, as under READ COMMITTED. Writes keep to
        aiosqlite and ``transaction``."""
        read = self._sqlite_statements.get(statement)
        if read is None:
            read = self._sqlite_statements[statement] = _SqliteRead.of(
                statement, self.engine.dialect
            )
        bound = {**read.defaults, **params}
        arguments = [
            value if convert is None or value is None else convert(value)
            for value, convert in zip(
                [bound[name] for name in read.names], read.binders, strict=True
            )
        ]
        self._announce(read.sql, arguments)
        connection = self._sqlite_reads or self._open_sqlite_reads()
        rows = connection.execute(read.sql, arguments).fetchall()
        if not read.processors or not rows:
            return rows
        processors = read.processors
        processed = []
        for row in rows:
            values = list(row)
            for at, process in processors:
                values[at] = process(values[at])
            processed.append(tuple(values))
        return processed

    def sqlite_data_version(self) -> int | None:
        """SQLite's ``PRAGMA data_version`` on the read connection of read_once: a number
        that moves on whenever any other connection (another process, or this process's
        writers) commits to the database file, and only then; None where there is no such
        connection (PostgreSQL, a database in memory). Costs microseconds: what a process
        holds of the database is known unchanged, without reading it, while it stays."""
        if self._sqlite_file is None:
            return None
        connection = self._sqlite_reads or self._open_sqlite_reads()
        version: int = connection.execute("PRAGMA data_version").fetchone()[0]
        return version

    def _open_sqlite_reads(self) -> sqlite3.Connection:
        assert self._sqlite_file is not None
        connection = sqlite3.connect(
            self._sqlite_file, isolation_level=None, check_same_thread=False, uri=True
        )
        connection.execute("PRAGMA busy_timeout=10000")
        connection.execute("PRAGMA query_only=ON")
        self._sqlite_reads = connection
        return connection

    def _compiled(self, statement: sa.Executable) -> tuple[str, list[str], dict[str, Any]]:
        """The statement's SQL for asyncpg, the names of its parameters in order, and the
        values of those that it binds itself; by statement, once per process."""
        found = self._compiled_statements.get(statement)
        if found is None:
            compiled = statement.compile(dialect=self.engine.dialect)
            found = (compiled.string, list(compiled.positiontup or ()), dict(compiled.params))
            self._compiled_statements[statement] = found
        return found

    def _announce(self, sql: str, arguments: list[Any]) -> None:
        """Tell the engine's listeners of statements (before_cursor_execute) about one that
        bypasses SQLAlchemy, so that whatever counts or traces statements still sees it."""
        listeners = self.engine.sync_engine.dispatch.before_cursor_execute
        if listeners:
            stand_in = _Bypassing(self.engine.sync_engine)
            for listener in listeners:
                listener(stand_in, None, sql, arguments, None, False)

    async def ping(self) -> None:
        with self._using():
            async with self.engine.connect() as connection:
                await connection.execute(sa.text("select 1"))

    async def dispose(self) -> None:
        """Close every connection. A transaction still under way (in a task of its own: a
        lastUsedAt write, a webhook attempt) is waited for, at most DISPOSE_WAIT: the
        engine's dispose closes only the connections in its pool, and one checked out then
        (or being opened) goes back, once done, to the pool discarded, unclosed, for the
        garbage collector to drop (aiosqlite's and asyncpg's ResourceWarning). asyncpg's
        pool of read_once waits for its own, as long, then cuts them. What
        ``before_dispose`` holds is awaited first."""
        for writing in list(self.before_dispose):
            await writing()
        if self._sqlite_reads is not None:
            sqlite_reads, self._sqlite_reads = self._sqlite_reads, None
            sqlite_reads.close()
        if self._reads is not None:
            reads, self._reads = self._reads, None
            # asyncpg's close waits for every connection to be given back, without end: a
            # read whose task never gives its connection back (cancelled in a loop that no
            # longer runs, stuck on a dead peer) would hold the shutdown for ever.
            try:
                await asyncio.wait_for(reads.close(), DISPOSE_WAIT)
            except TimeoutError:
                log.warning("reads still under way when the database closed: connections cut")
                reads.terminate()
        if self._in_use:
            self._all_done = asyncio.Event()
            try:
                await asyncio.wait_for(self._all_done.wait(), DISPOSE_WAIT)
            except TimeoutError:
                log.warning("%d transactions still under way when the engine closed", self._in_use)
            finally:
                self._all_done = None
        await self.engine.dispose()


async def _nothing_to_reset(connection: Any) -> None:
    """How read_once's pool resets a connection it takes back: not at all. asyncpg's
    default runs a statement of its own (RESET ALL, UNLISTEN, unlocking, closing cursors)
    at every release, a round trip as long as the read; a read leaves none of that behind
    (its account is set for its own statement's transaction). asyncpg still rolls back a
    transaction left open, which none is."""


class _SqliteRead:
    """A read statement of read_once compiled for SQLite: its SQL (qmark parameters), the
    names of its parameters in order, each one's bind processor (None where the value
    goes as it is), the values of those it binds itself, and the result processors of its
    columns (position, processor) where a column has one."""

    __slots__ = ("binders", "defaults", "names", "processors", "sql")

    def __init__(
        self,
        sql: str,
        names: list[str],
        binders: list[Callable[[Any], Any] | None],
        defaults: dict[str, Any],
        processors: list[tuple[int, Callable[[Any], Any]]],
    ) -> None:
        self.sql = sql
        self.names = names
        self.binders = binders
        self.defaults = defaults
        self.processors = processors

    @classmethod
    def of(cls, statement: sa.Executable, dialect: sa.Dialect) -> _SqliteRead:
        compiled = statement.compile(dialect=dialect)
        names = list(compiled.positiontup or ())
        for name in names:
            if compiled.binds[name].expanding:
                raise ValueError(
                    f"read_once on SQLite takes no expanding parameter ({name}): bind a list "
                    "as one JSON value (json_each), so that the statement's text stays one"
                )
        binders = [
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in names
        ]
        processors = []
        for at, column in enumerate(statement.selected_columns):  # type: ignore[attr-defined]
            process = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if process is not None:
                processors.append((at, process))
        return cls(compiled.string, names, binders, dict(compiled.params), processors)


def _sqlite_file(url: sa.URL) -> str | None:
    """The file of an SQLite URL, as a URI for sqlite3.connect; None for a database in
    memory, which another connection could not see."""
    name = url.database
    if not name or name == ":memory:" or "mode=memory" in name:
        return None
    if name.startswith("file:"):
        return name
    return "file:" + urllib.parse.quote(str(Path(name).absolute()))


class _Bypassing:
    """What a statement listener is given for the connection of a read that bypasses
    SQLAlchemy: its engine (the listener's way to the URL and the dialect)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4()}__"


def _prepare_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # The wait first: switching a new file to WAL waits for another process's lock (two
        # replicas that start and migrate at once), as long as any statement may wait.
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode is not None:  # None: a reader, in autocommit (see Database.__init__)
            connection.exec_driver_sql(f"BEGIN {mode}")


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot serve the request (down, restarting,
    dropped, the role or database refused, the pool exhausted, locked), rather than that
    a statement was wrong."""
    if isinstance(error, sa_exc.TimeoutError | ConnectionError | TimeoutError | OSError):
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    # The driver's error and what caused it: SQLAlchemy wraps asyncpg's (and its own
    # adaptation of it) in DBAPIError.
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo and len(seen) < 8:
        current = todo.pop()
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        todo += [getattr(current, "orig", None), current.__cause__]
    for found in seen[1:] if isinstance(error, sa_exc.DBAPIError) else seen:
        if isinstance(found, OSError | ConnectionError | TimeoutError):
            return True
        if type(found).__name__ in _UNAVAILABLE_DRIVER_ERRORS:
            return True
        state = str(getattr(found, "sqlstate", None) or "")
        if state.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        message = str(found).lower()
        if any(sign in message for sign in _UNAVAILABLE_MESSAGES):
            return True
    return False


# asyncpg's names for a server that is gone or going, or that refuses this role or database.
_UNAVAILABLE_DRIVER_ERRORS = {
    "ConnectionDoesNotExistError",
    "ConnectionFailureError",
    "CannotConnectNowError",
    "AdminShutdownError",
    "CrashShutdownError",
    "TooManyConnectionsError",
    "PostgresConnectionError",
    "ConnectionRejectionError",
    "InvalidCatalogNameError",
    "InvalidAuthorizationSpecificationError",
    "InvalidPasswordError",
}
# SQLSTATE classes: 08 connection exception, 28 invalid authorization (a role refused),
# 3D000 invalid catalog name (a database that does not exist, or was dropped), 53
# insufficient resources (too many connections), 57P operator intervention (shutdown).
_UNAVAILABLE_SQLSTATES = ("08", "28", "3D000", "53", "57P")
_UNAVAILABLE_MESSAGES = (
    "unable to open database",
    "database is locked",
    "disk i/o error",
    "permission denied for database",
)
