"""The engine and the transactions every request runs in.

A transaction is opened for one account: on PostgreSQL it sets ``app.account_id`` for
that transaction only (``set_config(..., true)``), which the row-level security policies
read as a second guard under the account filter that every query of this package carries.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine


class Database:
    """One async engine (SQLite through aiosqlite, or PostgreSQL through asyncpg)."""

    def __init__(
        self, url: str, *, pool_size: int = 10, pgbouncer: bool = False, echo: bool = False
    ) -> None:
        self.url = make_url(url)
        self.dialect = self.url.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo, "pool_pre_ping": False}
        if self.is_postgresql:
            # A pooled connection may have died with the server (a restart, a failover) while
            # it sat idle: test it when it is checked out (one round trip), so that the first
            # request after the database comes back is served instead of failing.
            kwargs.update(
                pool_size=pool_size, max_overflow=pool_size, pool_timeout=5, pool_pre_ping=True
            )
            kwargs["connect_args"] = {"timeout": 5, "command_timeout": 30}
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
        else:
            self._write_engine = self.engine

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def transaction(
        self, account_id: uuid.UUID | None, *, write: bool = False
    ) -> AsyncIterator[AsyncSession]:
        """One transaction for one account; committed on success, rolled back on error."""
        engine = self._write_engine if write else self.engine
        async with AsyncSession(engine, expire_on_commit=False, autoflush=False) as session:
            async with session.begin():
                if self.is_postgresql:
                    await session.execute(
                        sa.text("select set_config('app.account_id', :account_id, true)"),
                        {"account_id": str(account_id) if account_id else ""},
                    )
                yield session

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(sa.text("select 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4()}__"


def _prepare_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached (down, restarting, pool
    exhausted, locked), rather than that a statement was wrong."""
    if isinstance(error, sa_exc.TimeoutError | ConnectionError | TimeoutError | OSError):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        original = error.orig
        if isinstance(original, OSError | ConnectionError | TimeoutError):
            return True
        name = type(original).__name__ if original is not None else ""
        if name in _UNAVAILABLE_DRIVER_ERRORS:
            return True
        message = str(original).lower()
        return any(sign in message for sign in _UNAVAILABLE_SQLITE_MESSAGES)
    return False


# asyncpg's names for a server that is gone or going.
_UNAVAILABLE_DRIVER_ERRORS = {
    "ConnectionDoesNotExistError",
    "ConnectionFailureError",
    "CannotConnectNowError",
    "AdminShutdownError",
    "CrashShutdownError",
    "TooManyConnectionsError",
    "PostgresConnectionError",
    "ConnectionRejectionError",
}
_UNAVAILABLE_SQLITE_MESSAGES = ("unable to open database", "database is locked", "disk i/o error")
