"""A per-process cache of sign-ins, kept true across processes: on PostgreSQL by
LISTEN/NOTIFY, on an SQLite file by its ``PRAGMA data_version``.

A request whose token this process signed in a moment ago is signed in again without a
trip to the database. What that may cost in freshness, and no more:

- **On PostgreSQL** every change that ends or changes a sign-in (a token revoked, a user
  deactivated, a role changed) calls ``signins_changed`` in its transaction: ``pg_notify``
  of the account id, which PostgreSQL delivers to every listening process when the change
  commits and never when it rolls back. Each process's listener then drops every entry of
  that account; the process that made the change drops its own at once after its commit.
  So a committed change is seen by every process as soon as its notice arrives
  (milliseconds), and by the one that made it on its very next request.
- A process whose listening connection is down (not yet connected, lost, reconnecting)
  keeps its cache empty and does not use it: every request reads its token, so a notice
  missed meanwhile can never keep a revoked token alive.
- **On an SQLite file** no notice can reach another process; instead every look-up first
  asks the file's ``PRAGMA data_version`` (``Database.sqlite_data_version``: microseconds,
  against the tens of a token's read), which moves on with every commit of any other
  connection, this process's writers included. Where it moved, the whole cache is dropped
  before the look-up. So any committed change, by any process (and by hand, with the
  ``sqlite3`` shell), is seen on the very next request of every process. Every commit
  drops every sign-in (a lastUsedAt written, an entry added): each token is then read once
  again, as it would be without the cache.
- No entry is used once it is ``max_age`` seconds old, counted from when its read began:
  the bound for what no notice could tell (a listening connection that died without a
  word, found by its next check).
- A read that began before an invalidation (a notice, a drop, the listener going down or
  up, the file's version moving) never stores what it read: each read takes a ticket with
  the cache's generation, which every invalidation moves on.
- Only successful sign-ins are kept, by the SHA-256 of the token, at most ``max_entries``
  (the least recently used go first): unknown tokens never take memory.

Off behind PgBouncer in transaction mode (a LISTEN would not stay on one server
connection) and on an SQLite database in memory (no connection of its own to ask).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from persistence import notifications
from persistence.database import Database, after_commit
from tenancy.roles import Viewer

log = logging.getLogger("neverlog.signins")

CHANNEL = "neverlog_signins"
MAX_ENTRIES = 10_000
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Ticket:
    """Taken before a sign-in is read: what the cache was when the read began."""

    generation: int
    began: float


@dataclass(frozen=True, slots=True)
class CachedSignin:
    viewer: Viewer
    last_used_at: dt.datetime | None
    read_at: float  # the clock's time when its read began


class SigninCache:
    """Successful sign-ins of one process by the SHA-256 of their token (see the module's
    docstring for what it guarantees). ``clock`` is monotonic seconds (a test seam)."""

    def __init__(
        self,
        *,
        max_age: float,
        max_entries: int = MAX_ENTRIES,
        clock: Clock = time.monotonic,
        version: Callable[[], int | None] | None = None,
    ) -> None:
        """``version``: where no notice can tell of a change (an SQLite file), a number that
        moves on with every change to what is cached; asked before every look-up."""
        self.max_age = max_age
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, CachedSignin] = OrderedDict()
        self._by_account: dict[uuid.UUID, set[str]] = {}
        # Moved on by every invalidation: a read whose ticket is older stores nothing.
        self.generation = 0
        # True only while the cache may be used: while its listener listens (PostgreSQL),
        # from its start where a version keeps it true (SQLite); else nothing is used or
        # stored.
        self.listening = False
        self._version = version
        self._seen_version: int | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token_hash: str) -> CachedSignin | None:
        """The token's sign-in, if one is kept, usable and younger than ``max_age``.

        The look-up goes by hash, not by token: a caller would need to know the SHA-256 of a
        valid token to learn anything from its timing, and with it could not sign in."""
        if not self.listening:
            return None
        if self._version is not None:
            version = self._version()
            if version != self._seen_version:
                self._clear()  # something was committed since: nothing kept may be used
                self._seen_version = version
        found = self._entries.get(token_hash)
        if found is None:
            return None
        if self._clock() - found.read_at >= self.max_age:
            self._drop(token_hash)
            return None
        self._entries.move_to_end(token_hash)
        return found

    def ticket(self) -> Ticket:
        return Ticket(generation=self.generation, began=self._clock())

    def store(
        self,
        ticket: Ticket,
        token_hash: str,
        viewer: Viewer,
        last_used_at: dt.datetime | None,
    ) -> None:
        """Keep a sign-in read under ``ticket``, unless anything was invalidated since the
        read began (or the listener is not listening)."""
        if not self.listening or ticket.generation != self.generation:
            return
        self._drop(token_hash)
        self._entries[token_hash] = CachedSignin(viewer, last_used_at, ticket.began)
        self._by_account.setdefault(viewer.account_id, set()).add(token_hash)
        while len(self._entries) > self.max_entries:
            self._drop(next(iter(self._entries)))

    def forget_account(self, account_id: uuid.UUID) -> None:
        """Drop every sign-in of the account; reads under way store nothing."""
        self.generation += 1
        for token_hash in self._by_account.pop(account_id, set()):
            self._entries.pop(token_hash, None)

    def listening_started(self) -> None:
        self._clear()
        self.listening = True

    def listening_stopped(self) -> None:
        self.listening = False
        self._clear()

    def notice(self, payload: str) -> None:
        """A notice from the listener: the id of an account whose sign-ins changed."""
        try:
            account_id = uuid.UUID(payload)
        except ValueError:
            log.warning("an unreadable notice on %s: every sign-in dropped", CHANNEL)
            self._clear()
            return
        self.forget_account(account_id)

    def _clear(self) -> None:
        self.generation += 1
        self._entries.clear()
        self._by_account.clear()

    def _drop(self, token_hash: str) -> None:
        found = self._entries.pop(token_hash, None)
        if found is not None:
            hashes = self._by_account.get(found.viewer.account_id)
            if hashes is not None:
                hashes.discard(token_hash)
                if not hashes:
                    del self._by_account[found.viewer.account_id]


# The Database.info key of this process's cache for that database (the app's lifespan
# attaches it): a Database stands for one process's view of the database, so two of them
# are two processes here.
CACHE = "neverlog.signin_cache"


def cache_of(db: Database) -> SigninCache | None:
    found = db.info.get(CACHE)
    return found if isinstance(found, SigninCache) else None


def why_off(db: Database, max_age: float) -> str | None:
    """Why this process may not cache sign-ins for ``db``, or None if it may."""
    if max_age <= 0:
        return "NEVERLOG_SIGNIN_CACHE_SECONDS is 0"
    if not db.is_postgresql and db.sqlite_data_version() is None:
        return "an SQLite database in memory has no connection of its own to ask for changes"
    if db.pgbouncer:
        return "LISTEN does not stay on one server connection behind PgBouncer"
    if CACHE in db.info:
        return "this database already has a sign-in cache in this process"
    return None


class SigninCaching:
    """A cache for ``db`` and what keeps it true (on PostgreSQL its listener; on an SQLite
    file the cache's own check of the file's version): started and stopped by the app's
    lifespan."""

    def __init__(
        self,
        db: Database,
        cache: SigninCache,
        *,
        retry_after: Sequence[float] = notifications.RETRY_AFTER,
        check_every: float = notifications.CHECK_EVERY,
    ) -> None:
        self.db = db
        self.cache = cache
        self.listener = (
            notifications.Listener(
                db,
                CHANNEL,
                on_message=cache.notice,
                on_up=cache.listening_started,
                on_down=cache.listening_stopped,
                retry_after=retry_after,
                check_every=check_every,
            )
            if db.is_postgresql
            else None
        )

    def start(self) -> None:
        reason = why_off(self.db, self.cache.max_age)
        if reason is not None:
            raise ValueError(f"cannot cache sign-ins: {reason}")
        self.db.info[CACHE] = self.cache
        if self.listener is None:
            self.cache.listening_started()  # nothing to listen to: in use from the start
        else:
            self.listener.start()

    async def stop(self) -> None:
        if self.listener is None:
            self.cache.listening_stopped()
        else:
            await self.listener.stop()
        if self.db.info.get(CACHE) is self.cache:
            del self.db.info[CACHE]


def start_caching(db: Database, *, max_age: float) -> SigninCaching | None:
    """This process's sign-in cache for ``db``, started; None where it is off."""
    reason = why_off(db, max_age)
    if reason is not None:
        log.info("sign-ins are not cached: %s", reason)
        return None
    version = None if db.is_postgresql else db.sqlite_data_version
    caching = SigninCaching(db, SigninCache(max_age=max_age, version=version))
    caching.start()
    return caching


async def signins_changed(db: Database, session: AsyncSession, account_id: uuid.UUID) -> None:
    """To be called in the transaction of every change that ends or changes a sign-in of
    the account: every process drops its sign-ins of the account once it commits."""
    await notifications.notify(session=session, account_id=account_id, channel=CHANNEL)
    cache = cache_of(db)
    if cache is not None:
        # After the commit, not before: a read of this process that began before the
        # commit could otherwise store the old state after the drop. One that stores before
        # the drop is dropped with the rest; one after it holds an older ticket.
        after_commit(session, lambda: cache.forget_account(account_id))
