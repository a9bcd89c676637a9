"""Live list changes: every change to a never-log list, told after its commit, in commit
order, to the subscriptions of every server process (PRODUCT.md "Live list changes").

- A change is recorded where every list event already passes
  (``tenancy.webhooks.record_entries_event``, in the change's transaction), whether or not
  the account has webhook endpoints: ``record`` below.
- On PostgreSQL the change is written to ``list_changes`` (kept five minutes: each change
  removes its account's older rows) and its id sent with ``pg_notify`` on ``neverlog_live``
  (a notice holds at most 8,000 bytes; a change names up to 500 patterns, so the notice
  carries the row's account, id and list, and the row the rest): one statement writes
  the row, counts the list and sends the notice, so that the change holds its list's lock
  one round trip longer, no more; one change in 16 also removes its account's rows older
  than five minutes. PostgreSQL delivers
  notices when their transactions commit, never on a rollback, to every listening
  session in the order of the commits; each process's ``Hub`` listens on one connection
  of its own, reads the rows of the lists that someone in the process subscribes to (in
  batches, in the notices' order), and hands each change to those subscriptions in that
  order. The process that made the change learns of it the same way, so that order holds
  across processes.
- On SQLite (one process) a change is handed to the subscriptions of this process once
  its transaction has committed, in commit order: writers are serialized by ``BEGIN
  IMMEDIATE``, and a change takes its place in that order while its transaction holds the
  write lock; the callbacks after the commits can come back in another order (a
  committing thread may be descheduled once the lock is released, while the next writer
  commits), so each change waits for those before it (``_Sequencer``).
- Revocations and deactivations: every such change already sends the account's id on
  ``neverlog_signins`` (tenancy/signin.py); the hub listens to it on the same connection
  and checks the tokens of that account's open connections again at once. Every
  ``recheck_seconds`` (2 by default) it checks every open connection's token (one
  statement per account): the bound where no notice can tell (SQLite, a listening
  connection that is down).
- While the listening connection is down, notices are missed: the hub ends every
  subscription (``on_lost``), so that a client reconnects and reads the list afresh, and
  refuses new ones until it listens again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import enum
import json
import logging
import random
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from persistence import entries as entry_rows
from persistence import live as rows
from persistence import notifications
from persistence.database import Database, after_commit, after_transaction, database_of
from persistence.tables import ListChange as ListChangeRow
from persistence.tables import utcnow
from persistence.tasks import cancel_and_wait
from policy import Scope

log = logging.getLogger("neverlog.live")

CHANNEL = "neverlog_live"
# The Database.info key of the hubs of this process on that database (record finds them
# through its session's Database): one per app, and an app per process but in tests.
HUBS = "neverlog.hubs"
# The Database.info key of the places in commit order of its changes on SQLite (record).
SEQUENCER = "neverlog.live_sequencer"


def hubs_of(db: Database) -> set[Hub]:
    found = db.info.get(HUBS)
    return found if isinstance(found, set) else set()


SIGNINS_CHANNEL = "neverlog_signins"  # tenancy/signin.py's
# The share of changes that also remove their account's changes older than five minutes.
PRUNE_EVERY = 1 / 16
MAX_PATTERNS = 500
# The session.info key under which tenancy.roles.actor_now leaves the actor's user id.
ACTOR = "neverlog.actor_id"
# Notices read together, at most (one statement per account among them).
BATCH = 200


class ChangeKind(enum.Enum):
    ENTRIES_ADDED = "ENTRIES_ADDED"
    ENTRIES_REMOVED = "ENTRIES_REMOVED"
    ENTRIES_UPDATED = "ENTRIES_UPDATED"
    ENTRIES_EXPIRED = "ENTRIES_EXPIRED"


# The webhook event types of list events (by value: tenancy.webhooks.WebhookEventType).
KINDS = {
    "NEVER_LOG_ENTRIES_ADDED": ChangeKind.ENTRIES_ADDED,
    "NEVER_LOG_ENTRIES_REMOVED": ChangeKind.ENTRIES_REMOVED,
    "NEVER_LOG_ENTRIES_UPDATED": ChangeKind.ENTRIES_UPDATED,
    "NEVER_LOG_ENTRIES_EXPIRED": ChangeKind.ENTRIES_EXPIRED,
}

ListKey = tuple[uuid.UUID, uuid.UUID]  # (account, owner): the owner is the account's id
# for the account-wide list


@dataclass(frozen=True, slots=True, eq=False)
class ListChange:
    """One change, as every subscription of the list is told of it. ``renders`` keeps what
    the API layer made of it for each operation (shared by every subscriber of this
    process who sent the same operation)."""

    account_id: uuid.UUID
    scope: Scope
    owner_id: uuid.UUID
    kind: ChangeKind
    patterns: tuple[str, ...]
    entry_count: int
    list_count: int
    actor_id: uuid.UUID | None
    at: dt.datetime
    renders: dict[Any, Any] = field(default_factory=dict, repr=False)

    @property
    def key(self) -> ListKey:
        return (self.account_id, self.owner_id)

    @classmethod
    def from_row(cls, row: ListChangeRow) -> ListChange:
        return cls(
            account_id=row.account_id,
            scope=Scope(row.scope),
            owner_id=row.owner_id,
            kind=ChangeKind(row.kind),
            patterns=tuple(json.loads(row.patterns)),
            entry_count=row.entry_count,
            list_count=row.list_count,
            actor_id=row.actor_id,
            at=row.created_at,
        )


async def record(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    event_type: str,
    scope: Scope,
    owner_id: uuid.UUID | None,
    patterns: Sequence[str],
) -> None:
    """A list event in the caller's transaction (which holds the list owner's lock): told
    to the list's subscriptions once it commits. ``event_type`` is the webhook event
    type's value; events of other kinds are not list changes."""
    kind = KINDS.get(event_type)
    if kind is None or not patterns:
        return
    owner = account_id if scope is Scope.ACCOUNT or owner_id is None else owner_id
    actor = session.info.get(ACTOR) if kind is not ChangeKind.ENTRIES_EXPIRED else None
    at = utcnow()
    bind = session.sync_session.get_bind()
    if bind.dialect.name != "postgresql":
        db = database_of(session)
        hubs = hubs_of(db) if db is not None else None
        if db is not None and hubs:
            count = await entry_rows.count_entries(
                session=session, account_id=account_id, owner_id=owner
            )
            change = ListChange(
                account_id=account_id,
                scope=scope,
                owner_id=owner,
                kind=kind,
                patterns=tuple(patterns[:MAX_PATTERNS]),
                entry_count=len(patterns),
                # the list once the whole change is made (an import's removals and adds)
                list_count=count,
                actor_id=actor,
                at=at,
            )
            # The change's place in commit order, taken now, while the transaction holds the
            # database's one write lock (BEGIN IMMEDIATE): the next writer takes its place
            # only once this one has committed or rolled back. The callbacks that hand
            # changes on after their commits need not run in that order (the next writer's
            # commit can come back before this one's): the sequencer hands them on in it.
            sequencer = db.info.setdefault(SEQUENCER, _Sequencer())
            place = sequencer.take()
            committed = False

            def on_commit() -> None:
                nonlocal committed
                committed = True
                sequencer.done(place, lambda: _publish(hubs, change))

            def on_end() -> None:
                if not committed:  # rolled back: its place is skipped
                    sequencer.done(place, None)

            after_commit(session, on_commit)
            after_transaction(session, on_end)
        return
    row = ListChangeRow(
        account_id=account_id,
        scope=scope.value,
        owner_id=owner,
        kind=kind.value,
        patterns=json.dumps(list(patterns[:MAX_PATTERNS]), ensure_ascii=False),
        entry_count=len(patterns),
        list_count=0,  # counted in the statement that writes the row
        actor_id=actor,
        created_at=at,
    )
    await rows.insert_change(
        session=session,
        change=row,
        channel=CHANNEL,
        notice=f"{account_id} {row.id} {owner}",
        # the account's old changes removed now and then, not by every change
        prune=random.random() < PRUNE_EVERY,
    )


def _publish(hubs: Iterable[Hub], change: ListChange) -> None:
    for hub in list(hubs):
        hub.publish(change)


class _Sequencer:
    """On SQLite, hands committed changes on in the order of their places (``take``, under
    the database's write lock): one whose place comes after a place still open waits for
    it to be done, committed (its change handed on) or rolled back (skipped)."""

    def __init__(self) -> None:
        self._next_place = 0  # the next place to take
        self._next_done = 0  # the next place to hand on
        self._waiting: dict[int, Callable[[], None] | None] = {}

    def take(self) -> int:
        place = self._next_place
        self._next_place += 1
        return place

    def done(self, place: int, hand_on: Callable[[], None] | None) -> None:
        if place < self._next_done or place in self._waiting:
            return  # already done (a commit is followed by its transaction's end)
        self._waiting[place] = hand_on
        while self._next_done in self._waiting:
            ready = self._waiting.pop(self._next_done)
            self._next_done += 1
            if ready is not None:
                ready()


class Sink(Protocol):
    """A subscription as the hub sees it: ``offer`` is called in the event loop, in commit
    order, and must not block."""

    def offer(self, change: ListChange) -> None: ...


class Watched(Protocol):
    """A connection as the hub watches it: its token, and how it is ended."""

    @property
    def account_id(self) -> uuid.UUID: ...

    @property
    def token_id(self) -> uuid.UUID: ...

    def revoked(self) -> None: ...

    def lost(self) -> None: ...


class Hub:
    """This process's live subscriptions, and what tells them of changes (see the module's
    docstring). Started and stopped by the app's lifespan."""

    def __init__(
        self,
        db: Database,
        *,
        listen_url: str | None = None,
        recheck_seconds: float = 2.0,
        retry_after: Sequence[float] = notifications.RETRY_AFTER,
        check_every: float = notifications.CHECK_EVERY,
    ) -> None:
        self.db = db
        self.recheck_seconds = recheck_seconds
        self._lists: dict[ListKey, set[Sink]] = {}
        self._watched: dict[uuid.UUID, set[Watched]] = {}
        self._notices: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._listening = asyncio.Event()
        self.listener: notifications.Listener | None = None
        if db.is_postgresql:
            if db.pgbouncer and listen_url is None:
                log.warning(
                    "behind PgBouncer without NEVERLOG_LISTEN_DATABASE_URL: live changes "
                    "listen through PgBouncer, where a LISTEN does not stay on one server "
                    "connection"
                )
            self.listener = notifications.Listener(
                db,
                CHANNEL,
                on_message=self._notices.put_nowait,
                on_up=self._up,
                on_down=self._down,
                retry_after=retry_after,
                check_every=check_every,
                also={SIGNINS_CHANNEL: self._signins_changed},
                url=listen_url,
            )
        else:
            self._listening.set()
        self.published = 0  # changes handed to this process's subscriptions (tests, bench)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self.db.info.setdefault(HUBS, set()).add(self)
        if self.listener is not None:
            self.listener.start()
            self._tasks.append(asyncio.create_task(self._read_notices(), name="live-notices"))
        self._tasks.append(asyncio.create_task(self._recheck_every(), name="live-recheck"))

    async def stop(self) -> None:
        if self.listener is not None:
            await self.listener.stop()
        for task in self._tasks:
            await cancel_and_wait(task)
        self._tasks.clear()
        self.db.info.get(HUBS, set()).discard(self)

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    async def wait_listening(self, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), timeout)
        return self._listening.is_set()

    def _up(self) -> None:
        self._listening.set()

    def _down(self) -> None:
        self._listening.clear()
        # Changes committed from now until it listens again would be missed: end every
        # subscription rather than let one silently skip a change.
        for watched in [w for ws in self._watched.values() for w in ws]:
            watched.lost()

    # -- subscriptions ---------------------------------------------------------------------

    def subscribe(self, key: ListKey, sink: Sink) -> Callable[[], None]:
        self._lists.setdefault(key, set()).add(sink)

        def unsubscribe() -> None:
            sinks = self._lists.get(key)
            if sinks is not None:
                sinks.discard(sink)
                if not sinks:
                    del self._lists[key]

        return unsubscribe

    def watch(self, watched: Watched) -> Callable[[], None]:
        self._watched.setdefault(watched.account_id, set()).add(watched)

        def unwatch() -> None:
            found = self._watched.get(watched.account_id)
            if found is not None:
                found.discard(watched)
                if not found:
                    del self._watched[watched.account_id]

        return unwatch

    @property
    def subscriptions(self) -> int:
        return sum(len(sinks) for sinks in self._lists.values())

    def publish(self, change: ListChange) -> None:
        self.published += 1
        for sink in list(self._lists.get(change.key, ())):
            sink.offer(change)

    # -- notices (PostgreSQL) --------------------------------------------------------------

    async def _read_notices(self) -> None:
        """Read the changes that notices name, in their order, a batch at a time."""
        while True:
            batch = [await self._notices.get()]
            while len(batch) < BATCH and not self._notices.empty():
                batch.append(self._notices.get_nowait())
            try:
                await self._read_batch(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The changes of this batch cannot be told: end the subscriptions that
                # would have been told of them rather than skip a change.
                log.exception("cannot read live changes: their subscriptions end")
                for key in {k for k in (_parse(n) for n in batch) if k is not None}:
                    for watched in list(self._watched.get(key[0], ())):
                        watched.lost()

    async def _read_batch(self, notices: Iterable[str]) -> None:
        wanted: list[tuple[uuid.UUID, uuid.UUID]] = []
        for notice in notices:
            parsed = _parse(notice)
            if parsed is None:
                log.warning("an unreadable notice on %s: %r", CHANNEL, notice[:100])
                continue
            account_id, change_id, owner_id = parsed
            if (account_id, owner_id) in self._lists:
                wanted.append((account_id, change_id))
        by_account: dict[uuid.UUID, list[uuid.UUID]] = {}
        for account_id, change_id in wanted:
            by_account.setdefault(account_id, []).append(change_id)
        found: dict[uuid.UUID, ListChangeRow] = {}
        for account_id, change_ids in by_account.items():
            async with self.db.transaction(account_id) as session:
                found |= await rows.read_changes(
                    session=session, account_id=account_id, change_ids=change_ids
                )
        for _, change_id in wanted:
            row = found.get(change_id)
            if row is not None:
                self.publish(ListChange.from_row(row))

    # -- revocations -----------------------------------------------------------------------

    def _signins_changed(self, payload: str) -> None:
        try:
            account_id = uuid.UUID(payload)
        except ValueError:
            return
        if account_id in self._watched:
            task = asyncio.create_task(self._recheck([account_id]), name="live-revoked")
            self._tasks.append(task)
            task.add_done_callback(self._forget_task)

    def _forget_task(self, task: asyncio.Task[None]) -> None:
        with contextlib.suppress(ValueError):
            self._tasks.remove(task)

    async def _recheck_every(self) -> None:
        while True:
            await asyncio.sleep(self.recheck_seconds)
            try:
                await self._recheck(list(self._watched))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("cannot check the tokens of live connections", exc_info=True)

    async def _recheck(self, account_ids: Iterable[uuid.UUID]) -> None:
        """End the connections whose token no longer signs in (revoked, its user
        deactivated): one statement per account."""
        for account_id in account_ids:
            watched = list(self._watched.get(account_id, ()))
            if not watched:
                continue
            async with self.db.transaction(account_id) as session:
                valid = await rows.signing_in(
                    session=session,
                    account_id=account_id,
                    token_ids=sorted({w.token_id for w in watched}),
                )
            for w in watched:
                if w.token_id not in valid:
                    w.revoked()


def _parse(notice: str) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID] | None:
    try:
        account, change, owner = notice.split(" ")
        return uuid.UUID(account), uuid.UUID(change), uuid.UUID(owner)
    except ValueError:
        return None
