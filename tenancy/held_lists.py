"""An account's lists held in memory by each process, so that a decision reads no database
for them, kept true by the account's list version and, on PostgreSQL, by notices.

What a decision reads of an account (``persistence.entries.keyed_entries``: the
entries of the account-wide list and of the senders' personal lists whose match key is
one of the email's keys, the internal domains that answer a key, the settings of the
account and of the senders) is, for an account asked often, the same rows again and
again. This module keeps them per account, in one of two forms, both answering with
exactly the rows that the look-up would return (``HeldAccount.keyed_entries``):

- **The look-ups' answers.** From an account's first decision on, the answer of each
  look-up is held (``persistence.held.keyed_rows``, the look-up with the list version
  in the same statement): for each key, the entries of the owners it was looked up for,
  or that there are none, and the internal domains that answer it; the settings read. A
  decision whose owners and keys were all looked up at the held version is answered from
  memory; one that asks for anything else takes the look-up, whose answer joins the
  rest. A few hundred bytes an account, so that many thousands of busy accounts fit.
- **The lists whole**, read by one statement (``persistence.held.held_rows``) once the
  account has taken the look-up ``build_after`` times (16: reading every row costs about
  as much as 15 look-ups, so only an account whose decisions keep asking for new keys
  pays it back) and there is room: then every key is answered.

How a held account stays true:

- **The list version.** ``list_versions`` holds a number per account that database
  triggers move on in the transaction of every change to an entry, an internal domain, the
  account's settings or a user's (migration 0011): no way of writing can miss it. A held
  account remembers the version that it was read at, in the same statement as its rows;
  answers read at another version are never mixed (a version only moves on: the newer
  replaces the older).
- **On SQLite** every decision first asks the file's ``PRAGMA data_version``
  (``Database.sqlite_data_version``: it moves on with every commit of any other connection,
  another process's or this one's writers), and where anything was committed since the
  account's version was read, reads the version again (a point read of microseconds): a
  held account is used only while its version is the current one. So every process on the
  file sees a change on its first decision after the commit.
- **On PostgreSQL** (a version read is a round trip, as long as the look-up it saves) a
  held account is used for ``check_every`` seconds (0.5) after its read began, and after
  that only while a poll begun within the last ``check_every`` vouches for it: one
  statement per process (``persistence.held.changed_since``, migration 0012), made by the
  first decision that needs it and shared by all that wait, returns the accounts whose
  version a transaction moved since the last poll, and those held at an older version are
  dropped. Each poll asks from the oldest transaction still running at the last poll's
  snapshot, so a change that commits after a later one is still found; its cost does not
  grow with the number of accounts held. What was read before the first poll of the
  process, no poll vouches for: it is used for ``check_every`` after its read only. Besides,
  the same triggers send the account's id on ``neverlog_lists`` (pg_notify, delivered at
  commit): each process's listener drops the account as soon as the notice arrives
  (milliseconds). Behind PgBouncer in transaction mode, where a LISTEN does not stay on one
  server connection, the poll alone bounds it (or the listener on
  ``NEVERLOG_LISTEN_DATABASE_URL`` where one is given).
- **The process that made a change** drops the account right after the change's
  transaction commits (``Database.after_write``), before the mutation answers.
- A read that a drop overtakes (it began before the drop, or before a poll that found its
  account changed) is not kept: each read takes a ticket first, which every drop of its
  account, every poll that names it, and every clearing moves on.

What that guarantees: a change is seen by the next decision of the process that made it,
and by every decision that begins in any other process 0.5 s after the commit
(``check_every``), on SQLite by the next one. Entries with an expiry stop applying at
their expiresAt exactly, as in the look-up (the held rows keep it and are filtered at
each decision).

What it holds and for whom: everything is keyed by account id, every row read with the
account's own filter (and row-level security on PostgreSQL); the rows of one account never
answer another. Memory is bounded by an estimate in bytes (``max_bytes``, by default
NEVERLOG_HELD_LISTS_MB = 64 MiB; 0 turns holding off): the least recently used accounts
go first, but only those unused for ``IDLE`` seconds, so that more busy accounts than fit
do not evict each other on every request (an account that does not fit is answered by
the look-up, as without this module). An account whose lists take over a quarter of the
bound is never held.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import sys
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass

from persistence import entries as entry_rows
from persistence import held as held_rows
from persistence import notifications
from persistence.database import Database
from persistence.entries import ACCOUNT_SETTINGS_SCOPE, USER_SETTINGS_SCOPE, KeyedEntry
from persistence.held import HeldRow
from persistence.internal_domains import INTERNAL_SCOPE
from persistence.tables import utcnow
from persistence.tasks import cancel_and_wait

log = logging.getLogger("neverlog.held_lists")

CHANNEL = "neverlog_lists"  # migration 0011's triggers send on it
CHECK_EVERY = 0.5  # PostgreSQL: a held account is used this long after the last check
IDLE = 5.0  # an account is evicted for another only once unused this long
RETRY = 60.0  # an account too large to hold is read whole again at most this often
# Look-ups of an account before its lists are read whole: a build reads every row (for
# the benchmark's 1,500 entries about 15 look-ups' worth), so only an account whose
# decisions keep asking for keys not held yet pays it back.
BUILD_AFTER = 16
MAX_BYTES = 64 * 1024 * 1024
# A rough cost of a row held, beside its text: its tuples, its place in the index.
ROW_BYTES = 360
# A key held for an account of which only the looked-up keys are held, beside its text and
# rows: its place in two dictionaries, the tuple of its rows, the owners looked up for it,
# its place in the sets of keys known answered (HeldAccount.answered, at most ANSWERED).
KEY_BYTES = 320
ANSWERED = 4
# An account held by its look-ups' answers, beside its keys: its objects, its place in
# the held accounts.
ACCOUNT_BYTES = 1800
Clock = Callable[[], float]
_Held = tuple[tuple[KeyedEntry, dt.datetime | None], ...]


@dataclass(slots=True)
class HeldAccount:
    """What a decision reads of one account, as of ``version``: all of it (``looked``
    None, read whole), or the answers of the look-ups made so far (``looked``: each key
    looked up, with the owners whose lists it was looked up on; ``settled``: the owners
    whose settings were read)."""

    version: int
    # Entries by match key, each with its expiry; internal domains under the keys that
    # they answer (``@domain`` and ``*.domain``), without expiry.
    by_key: dict[str, _Held]
    account: KeyedEntry | None
    users: dict[uuid.UUID, KeyedEntry]
    size: int
    checked: float  # the clock's time when the read of its version began
    used: float = 0.0
    # SQLite: the file's data_version when its version was last read (None: unknown)
    data_version: int | None = None
    looked: dict[str, frozenset[uuid.UUID]] | None = None
    settled: frozenset[uuid.UUID] = frozenset()
    # PostgreSQL: read after the first poll's snapshot, so that the polls vouch for it
    # (else it is used for check_every after its read only)
    pollable: bool = False
    # The keys known answered, by set of owners: what ``answers`` found, so that a
    # decision asked again (the same sender, the same recipients) is one set comparison.
    answered: dict[frozenset[uuid.UUID], set[str]] | None = None

    @classmethod
    def of(cls, version: int, rows: list[HeldRow], began: float) -> HeldAccount:
        """The account read whole (``persistence.held.held_rows``)."""
        by_key: dict[str, list[tuple[KeyedEntry, dt.datetime | None]]] = {}
        account: KeyedEntry | None = None
        users: dict[uuid.UUID, KeyedEntry] = {}
        owners: dict[uuid.UUID, uuid.UUID] = {}  # one object per owner
        size = 0
        for row in rows:
            owner = owners.setdefault(row.owner_id, row.owner_id)
            scope = sys.intern(row.scope)
            size += ROW_BYTES + len(row.pattern) + len(row.match_key)
            if scope == ACCOUNT_SETTINGS_SCOPE:
                account = KeyedEntry(owner, scope, row.kind, row.pattern, row.match_key, "")
            elif scope == USER_SETTINGS_SCOPE:
                users[owner] = KeyedEntry(owner, scope, row.kind, "", "", "")
            elif scope == INTERNAL_SCOPE:
                for prefix in ("@", "*."):
                    key = prefix + row.match_key
                    keyed = KeyedEntry(owner, scope, sys.intern(row.kind), row.pattern, key, "")
                    by_key.setdefault(key, []).append((keyed, None))
            else:
                by_key.setdefault(row.match_key, []).append(_entry(owner, scope, row))
        return cls(
            version=version,
            by_key={key: tuple(found) for key, found in by_key.items()},
            account=account,
            users=users,
            size=size,
            checked=began,
        )

    @classmethod
    def partial(cls, version: int, began: float) -> HeldAccount:
        """An account of which nothing is held yet but its version: ``learn`` adds the
        answers of its look-ups."""
        return cls(
            version=version,
            by_key={},
            account=None,
            users={},
            size=ACCOUNT_BYTES,
            checked=began,
            looked={},
        )

    @property
    def whole(self) -> bool:
        return self.looked is None

    def answers(self, owners: frozenset[uuid.UUID], keys: Collection[str]) -> bool:
        """Whether it holds the look-up's answer for these owners and keys."""
        looked = self.looked
        if looked is None:
            return True
        answered = self.answered
        if answered is None:
            answered = self.answered = {}
        known = answered.get(owners)
        if known is not None and known.issuperset(keys):
            return True
        if not owners <= self.settled:
            return False
        for key in keys:
            seen = looked.get(key)
            if seen is None or not owners <= seen:
                return False
        if known is None:
            if len(answered) >= ANSWERED:
                answered.clear()  # a few senders at a time; more keep to the check by key
            known = answered[owners] = set()
        known.update(keys)
        return True

    def learn(
        self, owners: frozenset[uuid.UUID], keys: Collection[str], rows: list[HeldRow]
    ) -> int:
        """Add the answer of a look-up made at this version for these owners and keys
        (``persistence.held.keyed_rows``): for each key, its entries on these owners'
        lists and the internal domains that answer it, or that there are none; the
        settings of the account and of these owners. The bytes that it added."""
        looked = self.looked
        assert looked is not None, "an account held whole answers every key"
        found: dict[str, list[tuple[KeyedEntry, dt.datetime | None]]] = {}
        for row in rows:
            scope = row.scope
            if scope == ACCOUNT_SETTINGS_SCOPE:
                self.account = KeyedEntry(
                    row.owner_id, ACCOUNT_SETTINGS_SCOPE, row.kind, row.pattern, row.match_key, ""
                )
            elif scope == USER_SETTINGS_SCOPE:
                self.users[row.owner_id] = KeyedEntry(
                    row.owner_id, USER_SETTINGS_SCOPE, row.kind, "", "", ""
                )
            elif scope == INTERNAL_SCOPE:
                keyed = KeyedEntry(
                    row.owner_id,
                    INTERNAL_SCOPE,
                    sys.intern(row.kind),
                    row.pattern,
                    row.match_key,
                    "",
                )
                found.setdefault(row.match_key, []).append((keyed, None))
            else:
                found.setdefault(row.match_key, []).append(
                    _entry(row.owner_id, sys.intern(scope), row)
                )
        added = 0
        for key in keys:
            new = found.get(key, ())
            seen = looked.get(key)
            if seen is None:
                self.by_key[key] = tuple(new)
                looked[key] = owners
                added += KEY_BYTES + len(key)
                added += sum(ROW_BYTES + len(e.pattern) + len(e.match_key) for e, _ in new)
            elif not owners <= seen:
                more = tuple(
                    (e, at) for e, at in new if e.scope != INTERNAL_SCOPE and e.owner_id not in seen
                )
                if more:
                    self.by_key[key] = self.by_key.get(key, ()) + more
                    added += sum(ROW_BYTES + len(e.pattern) + len(e.match_key) for e, _ in more)
                looked[key] = seen | owners
        if not owners <= self.settled:
            added += ROW_BYTES * len(owners - self.settled)
            self.settled |= owners
        self.size += added
        return added

    def keyed_entries(
        self, owner_ids: Collection[uuid.UUID], keys: Collection[str]
    ) -> list[KeyedEntry]:
        """The rows that ``persistence.entries.keyed_entries`` returns for these owners and
        keys: the entries of the owners' lists whose match key is a key and that have not
        expired, the internal domains that answer a key, the account's settings, and the
        settings of the owners that are users of the account. Of an account not held
        whole, only where ``answers`` says so."""
        owners = owner_ids if isinstance(owner_ids, set | frozenset) else set(owner_ids)
        now: dt.datetime | None = None
        found: list[KeyedEntry] = []
        by_key = self.by_key
        for key in keys if isinstance(keys, set | frozenset) else set(keys):
            for keyed, expires_at in by_key.get(key, ()):
                if keyed.scope == INTERNAL_SCOPE:
                    found.append(keyed)
                elif keyed.owner_id in owners:
                    if expires_at is not None:
                        now = now or utcnow()
                        if expires_at <= now:
                            continue
                    found.append(keyed)
        if self.account is not None:
            found.append(self.account)
        for owner in owners:
            user = self.users.get(owner)
            if user is not None:
                found.append(user)
        return found


def _entry(owner: uuid.UUID, scope: str, row: HeldRow) -> tuple[KeyedEntry, dt.datetime | None]:
    keyed = KeyedEntry(
        owner, scope, sys.intern(row.kind), row.pattern, row.match_key, sys.intern(row.action)
    )
    return keyed, row.expires_at


class HeldLists:
    """The held accounts of one process for one database (see the module's docstring).
    ``check_every`` is how long, on PostgreSQL, a held account is used after the last
    check (0.5 s); ``clock`` is monotonic seconds (a test seam)."""

    def __init__(
        self,
        db: Database,
        *,
        max_bytes: int = MAX_BYTES,
        check_every: float | None = None,
        idle: float = IDLE,
        build_after: int = BUILD_AFTER,
        clock: Clock = time.monotonic,
    ) -> None:
        self.db = db
        self.build_after = build_after
        self.max_bytes = max_bytes
        self.check_every = (
            (CHECK_EVERY if db.is_postgresql else 0.0) if check_every is None else check_every
        )
        self.idle = idle
        self._clock = clock
        self._held: OrderedDict[uuid.UUID, HeldAccount] = OrderedDict()
        self.size = 0
        # Tickets: moved on by every drop of an account (_drops) and every clearing (_epoch).
        self._epoch = 0
        self._drops: dict[uuid.UUID, int] = {}
        # Accounts being read whole: others meanwhile use the look-up.
        self._busy: set[uuid.UUID] = set()
        # Accounts that did not fit whole: when, and their size. The look-up answers them
        # until there is room for that size (or, for one too large, RETRY seconds later),
        # so that a build is not paid again and again for nothing.
        self._refused: dict[uuid.UUID, tuple[float, int]] = {}
        # Look-ups of accounts not held whole, each counted until it reaches build_after.
        self._asked: dict[uuid.UUID, int] = {}
        # PostgreSQL: the poll of the accounts whose version moved (persistence.held.
        # changed_since): its mark (None before the first), when the last one that
        # answered began, and the one under way and when it began.
        self._since: str | None = None
        self._polled = -float("inf")
        self._polling: asyncio.Task[None] | None = None
        self._poll_began = -float("inf")
        self.polls = 0  # answered polls, for tests and the curious

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, account_id: object) -> bool:
        return account_id in self._held

    def held_whole(self, account_id: uuid.UUID) -> bool:
        found = self._held.get(account_id)
        return found is not None and found.whole

    async def keyed_entries(
        self, account_id: uuid.UUID, owner_ids: Collection[uuid.UUID], keys: Collection[str]
    ) -> list[KeyedEntry]:
        """The look-up's rows (``persistence.entries.keyed_entries``), from the held
        account where it is current and holds them, else read (and held where it fits)."""
        if not owner_ids:
            return []
        owners = frozenset(owner_ids)
        held = await self._current(account_id)
        if held is not None and held.answers(owners, keys):
            held.used = self._clock()
            if account_id in self._held:
                self._held.move_to_end(account_id)
            return held.keyed_entries(owners, keys)
        return await self._look_up(account_id, owners, owner_ids, keys)

    async def _current(self, account_id: uuid.UUID) -> HeldAccount | None:
        """The account's held lists where they are current, checked as their freshness
        asks (dropped where they are not); None where none are held or usable."""
        held = self._held.get(account_id)
        if held is None or account_id in self._busy:
            return None
        now = self._clock()
        if self.db.is_postgresql:
            # Read within check_every, or checked by a poll begun within check_every.
            if now - held.checked < self.check_every:
                return held
            if not held.pollable:
                self._drop(account_id)  # read before the first poll: no poll vouches for it
                return None
            if now - self._polled < self.check_every:
                return held
            if not await self._poll_after(now - self.check_every):
                return None  # no poll answered: the look-up answers
            return held if self._held.get(account_id) is held else None
        data_version = self.db.sqlite_data_version()
        if data_version is not None and data_version == held.data_version:
            # SQLite: nothing at all committed to the file since its version was read.
            return held
        if now - held.checked < self.check_every:
            return held
        ticket = self._ticket(account_id)
        version = await held_rows.list_version(self.db, account_id)
        if self._held.get(account_id) is not held or ticket != self._ticket(account_id):
            return None  # dropped meanwhile
        if version != held.version:
            self._drop(account_id)
            return None
        held.checked = now
        held.data_version = data_version
        return held

    async def _look_up(
        self,
        account_id: uuid.UUID,
        owners: frozenset[uuid.UUID],
        owner_ids: Collection[uuid.UUID],
        keys: Collection[str],
    ) -> list[KeyedEntry]:
        """A look-up of an account that is not held or does not hold these keys: read
        whole where it has been looked up build_after times and fits, else the look-up,
        whose answer is held beside what the account holds already."""
        now = self._clock()
        if self.max_bytes <= 0:
            return await entry_rows.keyed_entries(
                db=self.db, account_id=account_id, owner_ids=owner_ids, keys=keys
            )
        if self._since is None and self.db.is_postgresql:
            # The first poll sets the mark that the next ones ask from: started at the
            # first look-up, so that little is read before it (which no poll vouches for).
            task = self._polling
            if task is None or task.done() or not _running_in(task):
                self._start_poll()
        asked = self._asked.get(account_id, 0) + 1
        refused = self._refused.get(account_id)
        if (
            asked >= self.build_after
            and account_id not in self._busy
            and (refused is None or self._worth_building(refused, now))
            and self._room(now)
        ):
            self._asked.pop(account_id, None)
            built = await self._build(account_id, now)
            return built.keyed_entries(owners, keys)
        if len(self._asked) >= 10_000:
            self._asked.clear()
        self._asked[account_id] = min(asked, self.build_after)
        ticket = self._ticket(account_id)
        pollable = self._since is not None
        data_version = self.db.sqlite_data_version()
        version, rows = await held_rows.keyed_rows(self.db, account_id, owner_ids, keys)
        found = [KeyedEntry(*row[:6]) for row in rows]
        if ticket == self._ticket(account_id):
            self._learn(account_id, version, owners, keys, rows, now, data_version, pollable)
        return found

    def _learn(
        self,
        account_id: uuid.UUID,
        version: int,
        owners: frozenset[uuid.UUID],
        keys: Collection[str],
        rows: list[HeldRow],
        began: float,
        data_version: int | None,
        pollable: bool,
    ) -> None:
        """Hold the answer of a look-up made at ``version`` (began at ``began``, the file's
        data_version before it; after the first poll or not) where there is room."""
        held = self._held.get(account_id)
        if held is not None and (held.whole or held.version > version):
            return  # a newer read is held (a version only moves on)
        if held is not None and held.version < version:
            self._drop(account_id, moved=False)
            held = None
        if held is None:
            held = HeldAccount.partial(version, began)
            held.data_version = data_version
            held.used = began
            held.pollable = pollable
            self._held[account_id] = held
            self.size += held.size
        else:
            self._held.move_to_end(account_id)
            if began > held.checked:
                # the same version read again, later: what it holds is current as of then
                held.checked = began
                held.data_version = data_version
                held.pollable = held.pollable or pollable
        self.size += held.learn(owners, keys, rows)
        held.used = max(held.used, began)
        if held.size > self.max_bytes // 4 or not self._fits(began, keep=account_id):
            self._drop(account_id, moved=False)

    def _fits(self, now: float, *, keep: uuid.UUID) -> bool:
        """Evict idle accounts (not ``keep``) until what is held fits; whether it does."""
        while self.size > self.max_bytes:
            oldest_id, oldest = next(iter(self._held.items()))
            if oldest_id == keep or now - oldest.used < self.idle:
                return False
            self._drop(oldest_id, moved=False)
        return True

    async def _build(self, account_id: uuid.UUID, began: float) -> HeldAccount:
        ticket = self._ticket(account_id)
        pollable = self._since is not None
        data_version = self.db.sqlite_data_version()
        self._busy.add(account_id)
        try:
            version, rows = await held_rows.held_rows(self.db, account_id)
        finally:
            self._busy.discard(account_id)
        built = HeldAccount.of(version, rows, began)
        built.data_version = data_version
        built.used = began
        built.pollable = pollable
        if ticket != self._ticket(account_id):
            # A change committed while it was read: it is not held, but it answers this
            # decision, as a look-up read at the same moment would (a second read would
            # answer no truer, and cost a round trip).
            return built
        if not self._admit(account_id, built, began):
            # Too large to hold, or no room: it answers this decision (read just now), and
            # the look-up the account's next ones for a while.
            if len(self._refused) >= 10_000:
                self._refused.clear()
            self._refused[account_id] = (began, built.size)
        return built

    def _worth_building(self, refused: tuple[float, int], now: float) -> bool:
        """Whether an account that did not fit (when, its size) might fit now."""
        when, size = refused
        if size > self.max_bytes // 4:
            return now - when >= RETRY
        return self._room(now, size)

    def _room(self, now: float, size: int = 0) -> bool:
        """Whether ``size`` more bytes could be held: free, or held by an idle account."""
        if self.size + size < self.max_bytes:
            return True
        oldest = next(iter(self._held.values()), None)
        return oldest is not None and now - oldest.used >= self.idle

    def _admit(self, account_id: uuid.UUID, built: HeldAccount, now: float) -> bool:
        if built.size > self.max_bytes // 4:
            return False
        replaced = self._held.pop(account_id, None)
        if replaced is not None:
            self.size -= replaced.size
        while self.size + built.size > self.max_bytes and self._held:
            oldest_id, oldest = next(iter(self._held.items()))
            if now - oldest.used < self.idle:
                return False  # every held account is in use: no thrashing
            self._drop(oldest_id, moved=False)
        if self.size + built.size > self.max_bytes:
            return False
        self._held[account_id] = built
        self.size += built.size
        self._refused.pop(account_id, None)
        return True

    async def _poll_after(self, after: float) -> bool:
        """PostgreSQL: wait for a poll of the changed accounts that began after ``after``,
        starting one where none is under way (one at a time, whatever the number of
        decisions waiting); whether one answered."""
        started = False
        while self._polled <= after:
            task = self._polling
            if task is not None and not task.done() and _running_in(task):
                began = self._poll_began
                await asyncio.shield(task)  # a decision cancelled does not cancel the poll
                if began > after:
                    break
                continue
            if started:
                break
            started = True
            self._start_poll()
        return self._polled > after

    def _start_poll(self) -> None:
        self._poll_began = self._clock()
        self._polling = asyncio.get_running_loop().create_task(
            self._poll(self._poll_began), name="held lists' poll"
        )

    async def _poll(self, began: float) -> None:
        """Read which accounts' versions moved since the last poll (one round trip), and
        drop those held at an older version. The first poll only sets the mark: what was
        read before it (``pollable`` false) no poll vouches for, and is used only for
        check_every after its read."""
        try:
            horizon, changed = await held_rows.changed_since(self.db, self._since)
        except Exception:
            log.warning("the poll of changed lists failed: decisions read", exc_info=True)
            return
        self._since = horizon
        for account_id, version in changed:
            held = self._held.get(account_id)
            if held is None or held.version < version:
                self._drop(account_id)
            else:
                # current, but a read under way may be older: it keeps nothing
                self._drops[account_id] = self._drops.get(account_id, 0) + 1
        self._polled = began
        self.polls += 1

    def start(self) -> None:
        """PostgreSQL, with an event loop running: make the first poll now, so that what
        the first decisions read is vouched for by the polls (see _poll)."""
        with contextlib.suppress(RuntimeError):  # no loop running: the first look-up polls
            if self.db.is_postgresql and self._since is None and self._polling is None:
                self._start_poll()

    async def first_poll(self) -> None:
        """Wait for the first poll under way, if any (a test that counts statements)."""
        task = self._polling
        if task is not None and not task.done() and _running_in(task):
            await asyncio.shield(task)

    async def stop(self) -> None:
        """End the poll under way, if any (the app is stopping)."""
        task, self._polling = self._polling, None
        if task is not None and not task.done() and _running_in(task):
            await cancel_and_wait(task)

    def _ticket(self, account_id: uuid.UUID) -> tuple[int, int]:
        return (self._epoch, self._drops.get(account_id, 0))

    def _drop(self, account_id: uuid.UUID, *, moved: bool = True) -> None:
        found = self._held.pop(account_id, None)
        if found is not None:
            self.size -= found.size
        if moved:
            if len(self._drops) >= 100_000:
                self.clear()
            self._drops[account_id] = self._drops.get(account_id, 0) + 1

    def forget(self, account_id: uuid.UUID) -> None:
        """Drop the account's held lists; reads of them under way keep nothing."""
        self._drop(account_id)

    def written(self, account_id: uuid.UUID | None) -> None:
        """A write transaction of this process committed (``Database.after_write``): its
        account's held lists go. One of no account (a token's lastUsedAt, the webhook
        outbox) changes no list: on PostgreSQL row-level security shows it no account's
        rows, and on SQLite every decision checks the version anyway."""
        if account_id is not None:
            self._drop(account_id)

    def clear(self) -> None:
        self._epoch += 1
        self._held.clear()
        self._drops.clear()
        self.size = 0

    def notice(self, payload: str) -> None:
        """A notice on CHANNEL: the id of an account whose lists changed."""
        try:
            account_id = uuid.UUID(payload)
        except ValueError:
            log.warning("an unreadable notice on %s: every held list dropped", CHANNEL)
            self.clear()
            return
        self._drop(account_id)


def _running_in(task: asyncio.Task[None]) -> bool:
    """Whether the task belongs to the running event loop (a test's loop may have closed
    with one pending)."""
    return task.get_loop() is asyncio.get_running_loop()


# The Database.info key of this process's held lists for that database (the app's
# lifespan attaches them).
HOLDER = "neverlog.held_lists"


def holder_of(db: Database) -> HeldLists | None:
    found = db.info.get(HOLDER)
    return found if isinstance(found, HeldLists) else None


async def keyed_entries(
    *,
    db: Database,
    account_id: uuid.UUID,
    owner_ids: Collection[uuid.UUID],
    keys: Collection[str],
) -> list[KeyedEntry]:
    """A decision's look-up: from the lists this process holds for ``db`` where it holds
    them, else ``persistence.entries.keyed_entries``."""
    holder = holder_of(db)
    if holder is None:
        return await entry_rows.keyed_entries(
            db=db, account_id=account_id, owner_ids=owner_ids, keys=keys
        )
    return await holder.keyed_entries(account_id, owner_ids, keys)


class Holding:
    """Held lists for ``db`` and what keeps them true: the after-commit drop of this
    process's own writes and, on PostgreSQL, the listener of CHANNEL. Started and stopped
    by the app's lifespan."""

    def __init__(self, db: Database, held: HeldLists, *, listen_url: str | None = None) -> None:
        self.db = db
        self.held = held
        self.listener: notifications.Listener | None = None
        if db.is_postgresql and (listen_url or not db.pgbouncer):
            self.listener = notifications.Listener(
                db,
                CHANNEL,
                on_message=held.notice,
                on_up=held.clear,
                on_down=held.clear,
                url=listen_url,
            )

    def start(self) -> None:
        if HOLDER in self.db.info:
            raise ValueError("this database already has held lists in this process")
        self.db.info[HOLDER] = self.held
        self.db.after_write.append(self.held.written)
        self.held.start()
        if self.listener is not None:
            self.listener.start()

    async def stop(self) -> None:
        if self.listener is not None:
            await self.listener.stop()
        await self.held.stop()
        if self.held.written in self.db.after_write:
            self.db.after_write.remove(self.held.written)
        if self.db.info.get(HOLDER) is self.held:
            del self.db.info[HOLDER]


def start_holding(
    db: Database,
    *,
    max_bytes: int,
    listen_url: str | None = None,
    build_after: int = BUILD_AFTER,
) -> Holding | None:
    """This process's held lists for ``db``, started; None where holding is off."""
    if max_bytes <= 0:
        log.info("lists are not held in memory: NEVERLOG_HELD_LISTS_MB is 0")
        return None
    if HOLDER in db.info:
        return None
    held = HeldLists(db, max_bytes=max_bytes, build_after=build_after)
    holding = Holding(db, held, listen_url=listen_url)
    holding.start()
    return holding


def forget(db: Database, account_id: uuid.UUID) -> None:
    """Drop the account's lists held for ``db``: for a write that reaches the database past
    the application and must be seen at once (a test that moves its clock by rewriting
    expiries), rather than on its notice or version."""
    held = holder_of(db)
    if held is not None:
        held.forget(account_id)
