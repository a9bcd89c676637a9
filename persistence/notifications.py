"""PostgreSQL LISTEN/NOTIFY: a notice sent in the transaction of a change, and one
connection of its own per process that listens for them.

``notify`` runs ``pg_notify`` inside the caller's transaction: PostgreSQL delivers it when
that transaction commits, and never when it rolls back, to every session that is listening
on the channel at that moment (the sender's own process too), in the order of the commits.
A session that is not listening then (not yet connected, lost, reconnecting) never gets
it: ``Listener`` says when it is listening (``on_up``) and when it no longer is
(``on_down``), so that whoever relies on its notices knows when not to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.database import Database
from persistence.tasks import cancel_and_wait

log = logging.getLogger("neverlog.notifications")

_NOTIFY = sa.text("select pg_notify(:channel, :payload)")
# After a failed connection or a lost one: the waits before each new attempt (the last
# repeats), so that a database that is down is not hammered by every process at once.
RETRY_AFTER = (0.1, 0.5, 1.0, 2.0, 5.0)
# How often a listening connection is asked "select 1": a connection that died without
# a word (a network that drops packets, no FIN) is found within this, plus the timeout.
CHECK_EVERY = 5.0
CHECK_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0


async def notify(*, session: AsyncSession, account_id: uuid.UUID, channel: str) -> None:
    """Send the account's id on ``channel`` when the caller's transaction commits
    (PostgreSQL; nothing on SQLite, where no other process listens). One notice per
    account and channel however often a transaction sends it: PostgreSQL folds repeats."""
    if session.bind is None or session.bind.dialect.name != "postgresql":
        return
    await session.execute(_NOTIFY, {"channel": channel, "payload": str(account_id)})


class Listener:
    """One asyncpg connection of its own, outside the pool, that LISTENs on ``channel`` and
    hands every notice's payload to ``on_message``.

    ``on_up`` is called once LISTEN is in place (notices of every commit from then on
    arrive), ``on_down`` as soon as the connection is known lost (closed by the server,
    a failed check, ``stop``); it then connects again, waiting ``retry_after`` between
    attempts. Callbacks run in the event loop and must not block."""

    def __init__(
        self,
        db: Database,
        channel: str,
        *,
        on_message: Callable[[str], None],
        on_up: Callable[[], None],
        on_down: Callable[[], None],
        retry_after: Sequence[float] = RETRY_AFTER,
        check_every: float = CHECK_EVERY,
        also: Mapping[str, Callable[[str], None]] | None = None,
        url: str | None = None,
    ) -> None:
        if not db.is_postgresql:
            raise ValueError("LISTEN needs PostgreSQL")
        # The engine's own connection parameters (host, user, password, database, ssl, ...)
        # as SQLAlchemy's asyncpg dialect would pass them to asyncpg.connect; or those of
        # ``url``, a direct connection to PostgreSQL where the engine's goes through
        # PgBouncer in transaction mode (a LISTEN must stay on one server session).
        target = db.url if url is None else make_url(url).set(drivername="postgresql+asyncpg")
        _, params = db.engine.dialect.create_connect_args(target)
        self._params: dict[str, Any] = dict(params)
        self._params.pop("prepared_statement_cache_size", None)
        self.channel = channel
        # Further channels on the same connection, each with its own callback.
        self._also = dict(also or {})
        self._on_message = on_message
        self._on_up = on_up
        self._on_down = on_down
        self._retry_after = tuple(retry_after) or RETRY_AFTER
        self._check_every = check_every
        self._task: asyncio.Task[None] | None = None
        self._connection: Any = None
        self._listened = False
        self.up = False

    @property
    def server_pid(self) -> int | None:
        """The listening session's backend process id, while it listens (for tests and
        logs)."""
        return self._connection.get_server_pid() if self.up and self._connection else None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"listen-{self.channel}")

    async def stop(self) -> None:
        """Stop listening: the connection closed, and ``on_down`` called if it was up."""
        task, self._task = self._task, None
        if task is not None:
            await cancel_and_wait(task)  # again where a cancellation is lost
        self._down()

    def _down(self) -> None:
        if self.up:
            self.up = False
            self._on_down()

    def _message(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        self._on_message(payload)

    async def _run(self) -> None:
        failures = 0
        while True:
            self._listened = False
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning(
                    "%s on %s: %s",
                    "the listening connection was lost" if self._listened else "cannot listen",
                    self.channel,
                    error,
                )
            # Lost after it listened: try again after the first wait, then ever slower.
            failures = 0 if self._listened else failures + 1
            await asyncio.sleep(self._retry_after[min(failures, len(self._retry_after) - 1)])

    async def _listen(self) -> None:
        """Connect, LISTEN, and check the connection until it is lost (always raises)."""
        connection = await asyncpg.connect(**self._params, timeout=CONNECT_TIMEOUT)
        self._connection = connection
        closed = asyncio.Event()

        def lost(which: Any) -> None:
            # asyncpg calls it, in the event loop, as soon as the connection closes (the
            # server ended it, or the network did): down at once, not at the next check.
            closed.set()
            if which is self._connection:
                self._down()

        try:
            connection.add_termination_listener(lost)
            await asyncio.wait_for(
                connection.add_listener(self.channel, self._message), CHECK_TIMEOUT
            )
            for channel, callback in self._also.items():
                await asyncio.wait_for(
                    connection.add_listener(channel, _relay(callback)), CHECK_TIMEOUT
                )
            self._listened = self.up = True
            self._on_up()
            log.info("listening on %s", self.channel)
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(closed.wait(), self._check_every)
                if closed.is_set() or connection.is_closed():
                    raise ConnectionError("the server closed the listening connection")
                await connection.fetchval("select 1", timeout=CHECK_TIMEOUT)
        finally:
            self._connection = None
            self._down()
            try:
                await connection.close(timeout=1)
            except BaseException:
                connection.terminate()  # closes it at once, whatever it was waiting for
                raise


def _relay(callback: Callable[[str], None]) -> Callable[[Any, int, str, str], None]:
    def message(_connection: Any, _pid: int, _channel: str, payload: str) -> None:
        callback(payload)

    return message
