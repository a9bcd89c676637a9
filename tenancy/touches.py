"""Tokens' lastUsedAt, written off the request path and together.

A token's lastUsedAt is kept to the minute (tenancy/tokens.py writes it at most once a
minute per token). Written in the request that found it due, it cost that request a
transaction of its own: on SQLite more than the sign-in itself, and where many tokens
come due together (a thousand accounts' integrations, each token once a minute) a large
share of all requests. Instead a sign-in that finds it due hands it here and goes on: the
touches of a process are gathered for GATHER_SECONDS and written together (on SQLite in
one transaction; on PostgreSQL each in one round trip of its own that does not wait for
the disk, as before, row-level security binding it), in the background.

What a client sees does not change: a read of the API that shows lastUsedAt
(``apiTokens``, a token by its id) first writes what this process has gathered, so that
a token reads as used by the request that used it; another process sees it within
GATHER_SECONDS. The app's lifespan writes what is left when it stops. A touch that cannot
be written (the database is down) is logged and dropped: the next use of the token, a
minute on, writes it again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Coroutine
from typing import Any

from persistence import tokens
from persistence.database import Database

log = logging.getLogger("neverlog.tokens")
GATHER_SECONDS = 0.05


class Touches:
    """The lastUsedAt writes of one process for one database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # By token: the account and the time of its last use. A later use replaces it.
        self._due: dict[uuid.UUID, tuple[uuid.UUID, dt.datetime]] = {}
        self._gathering: asyncio.Task[None] | None = None
        self._writes: set[asyncio.Task[None]] = set()
        # written before the database closes, whoever closes it
        db.before_dispose.append(self.flush)

    def add(self, account_id: uuid.UUID, token_id: uuid.UUID, now: dt.datetime) -> None:
        """The token was used at ``now``: written within GATHER_SECONDS."""
        self._due[token_id] = (account_id, now)
        gathering = self._gathering
        if gathering is None or gathering.done() or not _running_in(gathering):
            self._gathering = self._start(self._write_soon())

    async def flush(self) -> None:
        """Write what is gathered now, and wait for every write under way."""
        gathering, self._gathering = self._gathering, None
        if gathering is not None and _running_in(gathering):
            gathering.cancel()  # written here and now instead
        if self._due:
            self._start(self._write_due())
        while waiting := {w for w in self._writes if _running_in(w)}:
            await asyncio.wait(waiting)

    def _start(self, writing: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(writing, name="lastUsedAt")
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)
        return task

    async def _write_soon(self) -> None:
        await asyncio.sleep(GATHER_SECONDS)
        self._gathering = None  # what comes due while these are written waits for the next
        await self._write_due()

    async def _write_due(self) -> None:
        due, self._due = self._due, {}
        if not due:
            return
        try:
            await tokens.touch_tokens(
                db=self.db,
                touches=[(account, token, used) for token, (account, used) in due.items()],
            )
        except Exception:
            log.warning("%d tokens' lastUsedAt not written", len(due), exc_info=True)


def _running_in(task: asyncio.Task[None]) -> bool:
    """Whether the task belongs to the running event loop (a test's loop may have closed
    with one pending)."""
    return task.get_loop() is asyncio.get_running_loop()


# The Database.info key of this process's touches for that database.
TOUCHES = "neverlog.touches"


def touches_of(db: Database) -> Touches:
    """This process's touches for ``db``, made the first time they are needed."""
    found = db.info.get(TOUCHES)
    if not isinstance(found, Touches):
        found = db.info[TOUCHES] = Touches(db)
    return found


async def flush(db: Database) -> None:
    """Write this process's gathered touches for ``db`` (before a read that shows them, and
    when the app stops)."""
    found = db.info.get(TOUCHES)
    if isinstance(found, Touches):
        await found.flush()
