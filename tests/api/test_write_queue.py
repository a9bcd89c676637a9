"""One tenant's burst of writes queues in the process before it takes a connection: the
pool stays open to every other account (persistence/database.py, _account_writes)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa

from persistence.database import ACCOUNT_WRITES, POOL_TIMEOUT, Database


async def test_a_burst_of_one_accounts_writes_leaves_the_pool_to_another(db: Database) -> None:
    if not db.is_postgresql:
        pytest.skip("SQLite has one writer for the whole file: there is no pool to share")
    # given a process whose pool holds six connections (three, and three of overflow)
    small = Database(db.url.render_as_string(hide_password=False), pool_size=3)
    assert ACCOUNT_WRITES < 6
    busy, other = uuid.uuid4(), uuid.uuid4()
    # (the account's lock that every change takes, as a transaction's advisory lock here)
    lock = sa.text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=uuid.uuid4().int >> 65)
    first_inside, release = asyncio.Event(), asyncio.Event()
    try:
        # when ten writes of one account are under way, the first holding the lock that the
        # others wait for
        async def write(n: int) -> None:
            async with small.transaction(busy, write=True) as session:
                await session.execute(lock)
                if n == 0:
                    first_inside.set()
                    await release.wait()

        burst = [asyncio.create_task(write(n)) for n in range(10)]
        await first_inside.wait()

        # then another account's write is served at once, not after the pool's timeout
        async def elsewhere() -> int:
            async with small.transaction(other, write=True) as session:
                return int(await session.scalar(sa.text("SELECT 1")))

        assert await asyncio.wait_for(elsewhere(), timeout=POOL_TIMEOUT / 2) == 1
        release.set()
        await asyncio.gather(*burst)
    finally:
        release.set()
        await small.dispose()


async def test_a_write_inside_a_write_of_the_same_account_does_not_wait_for_itself(
    db: Database,
) -> None:
    # given a write of an account under way
    account = uuid.uuid4()
    async with db.transaction(account, write=False):
        pass

    async def nested() -> list[int]:
        async with db.transaction(account, write=True) as outer:
            seen = [int(await outer.scalar(sa.text("SELECT 1")))]
            if db.is_postgresql:  # SQLite's one writer would wait for the outer one
                async with db.transaction(account, write=True) as inner:
                    seen.append(int(await inner.scalar(sa.text("SELECT 2"))))
        return seen

    # when the same task begins another write of that account, then both run
    expected = [1, 2] if db.is_postgresql else [1]
    assert await asyncio.wait_for(nested(), timeout=POOL_TIMEOUT) == expected
