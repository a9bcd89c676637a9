"""Connections are closed, never left to the garbage collector: a connection that is
garbage collected unclosed is a ResourceWarning of aiosqlite's or asyncpg's, raised at
whatever runs then (and a server connection held until the collector comes by). On both
databases."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import uuid
import warnings
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import QueuePool

from api.app import create_app
from api.settings import Settings
from persistence import notifications
from persistence.database import Database
from persistence.tasks import cancel_and_wait
from tenancy.delivery import DeliveryWorker


@pytest.fixture
async def own_db(db: Database) -> AsyncIterator[Database]:
    """A Database of its own on the test database, for a test that disposes it."""
    database = Database(db.url.render_as_string(hide_password=False))
    yield database
    await database.dispose()


def pooled(database: Database) -> int:
    """The connections open in the engine's pool, idle."""
    pool = database.engine.pool
    assert isinstance(pool, QueuePool)
    return pool.checkedin()


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


async def test_the_app_closes_its_connections_when_it_stops_even_where_a_step_fails(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a running app with its own engine, which has served a request (a connection
    # of its pool open), and a delivery worker whose stop fails once it has stopped
    stop = DeliveryWorker.stop

    async def failing_stop(self: DeliveryWorker) -> None:
        await stop(self)
        raise RuntimeError("the worker could not stop")

    monkeypatch.setattr(DeliveryWorker, "stop", failing_stop)
    app = create_app(Settings(database_url=db.url.render_as_string(hide_password=False)))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://nl")
    own: Database = app.state.db
    with pytest.raises(RuntimeError, match="could not stop"):
        async with app.router.lifespan_context(app):
            assert (await client.get("/readyz")).status_code == 200
            assert pooled(own) >= 1
        # when it stops (the worker's failure is told)
    await client.aclose()
    # then the engine was closed all the same: no connection left open
    assert pooled(own) == 0


async def test_disposing_does_not_wait_for_ever_for_a_read_that_keeps_its_connection(
    own_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not own_db.is_postgresql:
        pytest.skip("read_once keeps a pool of its own on PostgreSQL only")
    # given a read under way that will not give its connection back for a long while
    monkeypatch.setattr("persistence.database.DISPOSE_WAIT", 0.5)
    started = asyncio.Event()
    account = uuid.uuid4()

    async def long_read() -> None:
        started.set()
        await own_db.read_once(account, sa.text("select pg_sleep(60)"), {})

    reading = asyncio.create_task(long_read())
    await started.wait()
    await asyncio.sleep(0.2)  # let it take its connection and send the statement
    # when the database is disposed, then it closes within its wait (not after the read)
    try:
        await asyncio.wait_for(own_db.dispose(), 10)
    finally:
        reading.cancel()
        with contextlib.suppress(BaseException):
            await reading


async def test_a_task_that_loses_its_cancellation_is_stopped_all_the_same() -> None:
    # given a background task that drops the first cancellation that reaches it (as
    # asyncio.wait_for can on Python 3.11, when its result comes in the same turn)
    cancellations = 0

    async def forever() -> None:
        nonlocal cancellations
        while True:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                cancellations += 1
                if cancellations == 1:
                    continue
                raise

    task = asyncio.create_task(forever())
    await asyncio.sleep(0)
    # when it is stopped, then it has ended, cancelled again after the first was lost
    await asyncio.wait_for(cancel_and_wait(task, again_after=0.05), 10)
    assert task.cancelled() and cancellations == 2


class _LosesOneCancellation:
    """asyncio as the listener sees it, whose wait_for drops the first cancellation."""

    def __init__(self) -> None:
        self.lost = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def wait_for(self, awaitable: Any, timeout: float | None) -> Any:
        try:
            return await asyncio.wait_for(awaitable, timeout)
        except asyncio.CancelledError:
            if self.lost:
                raise
            self.lost += 1
            return None


@pytest.mark.postgresql
async def test_a_listener_stops_even_where_its_cancellation_is_lost(
    own_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a listening connection whose wait drops the first cancellation
    lossy = _LosesOneCancellation()
    monkeypatch.setattr(notifications, "asyncio", lossy)
    up = asyncio.Event()
    listener = notifications.Listener(
        own_db, "neverlog_test", on_message=lambda _: None, on_up=up.set, on_down=lambda: None
    )
    listener.start()
    await asyncio.wait_for(up.wait(), 10)
    listening = listener._task
    assert listening is not None
    # when it is stopped (waited for at most 10 s, never cancelled)
    stopping = asyncio.ensure_future(listener.stop())
    await asyncio.wait({stopping}, timeout=10)
    try:
        # then it has ended, its connection closed
        assert stopping.done() and listening.done()
        assert not listener.up and listener.server_pid is None
    finally:
        listening.cancel()
        await asyncio.gather(stopping, listening, return_exceptions=True)
