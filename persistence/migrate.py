"""Bringing a database's schema up to date with Alembic, from code or the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from persistence.database import Database
from persistence.tables import metadata

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# Held by the transaction of a migration on PostgreSQL: two processes that migrate at once
# (two deploy jobs, each replica's start) take turns, and the second finds nothing to do.
# On SQLite the file's write lock, taken at BEGIN (IMMEDIATE), does the same.
MIGRATION_LOCK = sa.text("SELECT pg_advisory_xact_lock(7462301597)")
# How often an upgrade that SQLite refuses at once as locked is tried (upgrade, below).
SQLITE_ATTEMPTS = 5


async def upgrade(database: Database, revision: str = "head") -> None:
    """Apply every migration up to ``revision`` in one transaction, one process at a time."""

    def _upgrade(connection: Connection) -> None:
        config = alembic_config(database.url.render_as_string(hide_password=False))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    engine = database.engine.execution_options(sqlite_begin="IMMEDIATE")
    for attempt in range(SQLITE_ATTEMPTS):
        try:
            async with engine.begin() as connection:
                if database.is_postgresql:
                    await connection.execute(MIGRATION_LOCK)
                await connection.run_sync(_upgrade)
            return
        except sa.exc.OperationalError as error:
            # Two processes opening a new SQLite file at once: one's switch to WAL and the
            # other's BEGIN IMMEDIATE can each hold what the other waits for, and SQLite
            # answers one of them "locked" at once rather than wait for ever. Nothing was
            # written: it tries again, and then finds the other's migration done.
            locked = not database.is_postgresql and "database is locked" in str(error)
            if not locked or attempt == SQLITE_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.1 * (attempt + 1))


async def grant_app_role(database: Database, role: str) -> None:
    """Let ``role`` (the role the API serves as) read and write the tables, and nothing
    more: it owns nothing, so row-level security binds it (PostgreSQL only)."""
    if not database.is_postgresql:
        return
    if not role.replace("_", "").isalnum():
        raise ValueError(f"{role!r} is not a plain role name")
    async with database.engine.begin() as connection:
        await connection.execute(sa.text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
        for table in metadata.sorted_tables:
            await connection.execute(
                sa.text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {table.name} TO "{role}"')
            )
        # which accounts' lists changed (migration 0013: no other role may ask)
        await connection.execute(
            sa.text(f'GRANT EXECUTE ON FUNCTION neverlog_lists_changed_since(xid8) TO "{role}"')
        )
