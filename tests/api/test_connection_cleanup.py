"""Connections are closed, never left to the garbage collector: a connection that is
garbage collected unclosed is a ResourceWarning of aiosqlite's or asyncpg's, raised at
whatever runs then (and a server connection held until the collector comes by). On both
databases."""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from persistence.database import Database


@pytest.fixture
async def own_db(db: Database) -> AsyncIterator[Database]:
    """A Database of its own on the test database, for a test that disposes it."""
    database = Database(db.url.render_as_string(hide_password=False))
    yield database
    await database.dispose()


def unclosed_connections(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


async def test_disposing_waits_for_a_transaction_under_way_and_closes_its_connection(
    own_db: Database,
) -> None:
    # given a transaction under way in a task of its own (as a lastUsedAt write, or a
    # webhook attempt, runs), holding a connection
    begun = asyncio.Event()

    async def write() -> int:
        async with own_db.transaction(None, write=True) as session:
            begun.set()
            return int(await session.scalar(sa.text("select 1")))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        task = asyncio.create_task(write())
        await begun.wait()
        # when the database is disposed (the app stops) while it runs
        await own_db.dispose()
        # then the transaction was done first (its connection back in the pool), whole
        assert await task == 1
        del task
        # and its connection was closed, not left for the garbage collector
        gc.collect()
    assert unclosed_connections(caught) == []
