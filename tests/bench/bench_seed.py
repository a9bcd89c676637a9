"""Seeding the benchmark's databases fast: COPY on PostgreSQL (asyncpg's
copy_records_to_table), executemany on SQLite; never one mutation per entry.

Rows are loaded a chunk of accounts at a time (both databases get the same chunk), so
that the rows of a thousand accounts never sit in memory at once.

The PostgreSQL database is a throwaway one that the benchmark creates on the server of
NEVERLOG_BENCH_POSTGRES_URL and drops at the end, with the role it serves as."""

from __future__ import annotations

import itertools
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from persistence.database import Database
from persistence.migrate import grant_app_role, upgrade
from persistence.tables import metadata
from tests.bench.bench_data import COLUMNS, TABLES, SeedAccount

DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
CHUNK = 50  # accounts per COPY / executemany


def server_url() -> str:
    url = os.environ.get("NEVERLOG_BENCH_POSTGRES_URL", DEFAULT_SERVER)
    return (
        url.replace("postgresql://", "postgresql+asyncpg://", 1)
        if url.startswith("postgresql://")
        else url
    )


class ThrowawayPostgres:
    """A database (and a role that owns nothing, to serve as) made for this run only."""

    def __init__(self, server: str, label: str) -> None:
        self.server = make_url(server)
        # NEVERLOG_BENCH_DATABASE_PREFIX names them where a server is shared with others.
        prefix = os.environ.get("NEVERLOG_BENCH_DATABASE_PREFIX", "neverlog_bench")
        self.name = f"{prefix}_{os.getpid()}_{label}"
        self.role = f"{self.name}_app"
        self.owner_url: URL = self.server.set(database=self.name)
        self.app_url: URL | None = None

    async def _admin(self, statements: Iterable[str]) -> None:
        engine = create_async_engine(self.server, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                for statement in statements:
                    await connection.execute(sa.text(statement))
        finally:
            await engine.dispose()

    async def create(self) -> None:
        await self._admin(
            [f'DROP DATABASE IF EXISTS "{self.name}"', f'CREATE DATABASE "{self.name}"']
        )
        owner = Database(self.owner_url.render_as_string(hide_password=False))
        try:
            await upgrade(owner)
        finally:
            await owner.dispose()

    async def serve_as_app_role(self) -> bool:
        """Serve as a role that owns nothing, so that row-level security binds it as in
        production; False where the server does not let it sign in (then the benchmark
        serves as the owner, whom row-level security does not bind, and says so)."""
        try:
            await self._admin(
                [f'DROP ROLE IF EXISTS "{self.role}"', f'CREATE ROLE "{self.role}" LOGIN']
            )
            owner = Database(self.owner_url.render_as_string(hide_password=False))
            try:
                await grant_app_role(owner, self.role)
            finally:
                await owner.dispose()
            app_url = self.owner_url.set(username=self.role, password=None)
            probe = Database(app_url.render_as_string(hide_password=False))
            try:
                await probe.ping()
            finally:
                await probe.dispose()
        except Exception as error:
            print(
                f"bench: cannot serve as a role of its own ({type(error).__name__}); serving as the owner"
            )
            return False
        self.app_url = app_url
        return True

    @property
    def url(self) -> str:
        """What the service connects with."""
        return (self.app_url or self.owner_url).render_as_string(hide_password=False)

    async def drop(self) -> None:
        await self._admin(
            [
                f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)',
                f'DROP ROLE IF EXISTS "{self.role}"',
            ]
        )


def chunks(seeds: Iterable[SeedAccount], size: int = CHUNK) -> Iterator[list[SeedAccount]]:
    iterator = iter(seeds)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _rows(chunk: list[SeedAccount], table: str) -> list[tuple[Any, ...]]:
    return [row for seed in chunk for row in getattr(seed, table)]


class PostgresLoader:
    """COPY rows in, a chunk of accounts per transaction.

    ``bulk`` (for the big load): the entries' keys and constraints are dropped first and
    made again, with their own definitions, once every row is in; building an index once
    is far faster than growing it row by row."""

    def __init__(self, url: str, *, bulk: bool = False) -> None:
        self.url = url
        self.bulk = bulk
        self.seconds = 0.0
        self._constraints: list[tuple[str, str]] = []

    async def __aenter__(self) -> PostgresLoader:
        started = time.perf_counter()
        self._raw = await asyncpg.connect(
            self.url.replace("postgresql+asyncpg://", "postgresql://", 1)
        )
        if self.bulk:
            self._constraints = await _drop_constraints(self._raw, "never_log_entries")
        self.seconds += time.perf_counter() - started
        return self

    async def add(self, chunk: list[SeedAccount]) -> None:
        started = time.perf_counter()
        async with self._raw.transaction():
            for table in TABLES:
                await self._raw.copy_records_to_table(
                    table, records=_rows(chunk, table), columns=list(COLUMNS[table])
                )
        self.seconds += time.perf_counter() - started

    async def __aexit__(self, *exc: object) -> None:
        started = time.perf_counter()
        try:
            if self._constraints and exc[0] is None:
                await self._raw.execute("SET maintenance_work_mem = '256MB'")
                await self._raw.execute(
                    "ALTER TABLE never_log_entries "
                    + ", ".join(f'ADD CONSTRAINT "{name}" {how}' for name, how in self._constraints)
                )
            # VACUUM as well as ANALYZE: rows just copied in carry no hint bits and no
            # visibility map, so the first statements to read them write every page they
            # touch, and autovacuum comes for the inserts minutes later; either would fall
            # into the first slices measured on this database, not into the seeding.
            await self._raw.execute("VACUUM (ANALYZE)")
        finally:
            await self._raw.close()
        self.seconds += time.perf_counter() - started


async def _drop_constraints(raw: Any, table: str) -> list[tuple[str, str]]:
    """Drop the table's constraints; their names and definitions, primary key first."""
    found = await raw.fetch(
        "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
        "WHERE conrelid = $1::regclass ORDER BY contype <> 'p', conname",
        table,
    )
    constraints = [(row["conname"], row["definition"]) for row in found]
    if constraints:
        await raw.execute(
            f"ALTER TABLE {table} "
            + ", ".join(f'DROP CONSTRAINT "{name}"' for name, _ in constraints)
        )
    return constraints


class SqliteLoader:
    """executemany rows in, in one transaction. Values go through the tables' own
    SQLAlchemy types (bind processors), so that UUIDs and times are stored exactly as the
    service stores them."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.seconds = 0.0
        self._dialect = sa.create_engine("sqlite://").dialect

    def __enter__(self) -> SqliteLoader:
        self._connection = sqlite3.connect(self.path)
        self._connection.execute("PRAGMA synchronous=OFF")
        self._connection.execute("PRAGMA cache_size=-262144")  # 256 MiB: indexes stay in memory
        self._connection.execute("PRAGMA foreign_keys=ON")
        self._connection.execute("BEGIN")
        return self

    def add(self, chunk: list[SeedAccount]) -> None:
        started = time.perf_counter()
        for table in TABLES:
            sql, convert = _sqlite_insert(table, self._dialect)
            self._connection.executemany(sql, map(convert, _rows(chunk, table)))
        self.seconds += time.perf_counter() - started

    def __exit__(self, *exc: object) -> None:
        started = time.perf_counter()
        try:
            if exc[0] is None:
                self._connection.execute("COMMIT")
                self._connection.execute("ANALYZE")
        finally:
            self._connection.close()
        self.seconds += time.perf_counter() - started


async def migrate_sqlite(path: str) -> None:
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(database)
    finally:
        await database.dispose()


def _sqlite_insert(table: str, dialect: Any) -> tuple[str, Any]:
    """The INSERT of ``table`` and a function that turns a row into its parameters."""
    columns = COLUMNS[table]
    types = [metadata.tables[table].c[name].type for name in columns]
    processors = [t.dialect_impl(dialect).bind_processor(dialect) for t in types]
    # Values repeat across an account's rows (its id, an owner, the time), so each
    # conversion is made once; a row's own id is converted every time.
    pairs = [
        (n, p, {} if columns[n] != "id" else None)
        for n, p in enumerate(processors)
        if p is not None
    ]

    def convert(row: tuple[Any, ...]) -> list[Any]:
        values = list(row)
        for n, process, seen in pairs:
            value = values[n]
            if value is None:
                continue
            if seen is None:
                values[n] = process(value)
            elif (done := seen.get(value)) is not None:
                values[n] = done
            else:
                values[n] = seen[value] = process(value)
        return values

    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    return sql, convert
