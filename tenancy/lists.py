"""Changes to the never-log lists: adding, removing, updating and importing entries.

Every change is all or nothing, holds the list's limit under concurrent calls from any
number of processes (the list's owner row is locked first: the account for the
account-wide list, the user for a personal list), and is written to the audit log in the
same transaction."""

from __future__ import annotations

import csv
import datetime as dt
import enum
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from persistence import accounts, audit, entries
from persistence.database import Database
from persistence.tables import NeverLogEntry, new_id, utcnow
from policy import EntryAction, Pattern, PatternError, Scope, parse_pattern, split_patterns
from tenancy import entry_details, expiry
from tenancy.account_limits import AccountLimits
from tenancy.audit import AuditAction
from tenancy.csvfiles import details_of, read_rows
from tenancy.entry_details import EntryDetails
from tenancy.errors import ErrorCode, Problem, Refusal
from tenancy.list_ref import ListRef
from tenancy.roles import Viewer, actor_now, require_super_admin
from tenancy.webhooks import WebhookEventType, record_entries_event


class ImportMode(enum.Enum):
    MERGE = "MERGE"  # add the file's patterns to the list
    REPLACE = "REPLACE"  # make the list hold exactly the file's patterns


def list_for(viewer: Viewer, scope: Scope, limits: AccountLimits) -> ListRef:
    owner = viewer.account_id if scope is Scope.ACCOUNT else viewer.user_id
    return ListRef(viewer.account_id, scope, owner, limits.for_scope(scope))


def writable_list(viewer: Viewer, scope: Scope, limits: AccountLimits) -> ListRef:
    if scope is Scope.ACCOUNT:
        require_super_admin(viewer, "change the account-wide list")
    return list_for(viewer, scope, limits)


@dataclass(slots=True)
class Change:
    """What a change did to its list, and how many entries the list holds after it."""

    ref: ListRef
    count: int = 0
    # What the list held before: all that a dry run's list still holds.
    count_before: int = 0
    added: list[NeverLogEntry] = field(default_factory=list)
    already_listed: list[str] = field(default_factory=list)
    removed: list[NeverLogEntry] = field(default_factory=list)


def _parse_all(
    items: Sequence[tuple[int, str]], field_name: str, *, lines: bool = False
) -> list[tuple[int, Pattern]]:
    """Every pattern with its index (``lines``: the line of a file it stands on, which the
    message names too), or one refusal that names each invalid one."""
    problems: list[Problem] = []
    parsed: list[tuple[int, Pattern]] = []
    for index, raw in items:
        try:
            parsed.append((index, parse_pattern(raw)))
        except PatternError as exc:
            message = f"Line {index}: {exc}" if lines else str(exc)
            problems.append(
                Problem(ErrorCode.INVALID_PATTERN, message, ("input", field_name, str(index)))
            )
    if problems:
        raise Refusal(problems)
    return parsed


def _distinct(parsed: Sequence[tuple[int, Pattern]]) -> list[Pattern]:
    """Each pattern once, where it first stands."""
    seen: dict[str, Pattern] = {}
    for _, pattern in parsed:
        seen.setdefault(pattern.key, pattern)
    return list(seen.values())


def _refuse_none_given(count: int) -> None:
    """An add or remove that names nothing (``[]``, ``[""]``, ``[",;"]``) is a mistake
    of the caller's, never a silent success."""
    if count == 0:
        raise Refusal.one(
            ErrorCode.INVALID_INPUT,
            "No patterns given: name at least one pattern (empty items and separators alone "
            "name none).",
            ["input", "patterns"],
        )


def _refuse_too_many(count: int, ref: ListRef, field_name: str, what: str = "patterns") -> None:
    if count > ref.limit:
        raise Refusal.one(
            ErrorCode.TOO_MANY_VALUES,
            f"One call may carry at most {ref.limit} {what} for the {ref.name}; "
            f"this one carries {count}.",
            ["input", field_name],
        )


async def _lock_owner(session: AsyncSession, ref: ListRef, viewer: Viewer | None = None) -> None:
    if ref.scope is Scope.ACCOUNT:
        await accounts.lock_account(session=session, account_id=ref.account_id)
    else:
        # The account first, shared, as user changes lock it first (see share_account).
        await accounts.share_account(session=session, account_id=ref.account_id)
        if viewer is None or viewer.user_id != ref.owner_id:
            await accounts.get_user(
                session=session, account_id=ref.account_id, user_id=ref.owner_id, lock=True
            )
        # else the owner is the actor, whose row actor_now locks and reads just below
    if viewer is not None:
        # The actor's role as it is now, under the lock: a change by a user demoted or
        # deactivated meanwhile is refused, never applied.
        account_wide = ref.scope is Scope.ACCOUNT
        await actor_now(
            session, viewer, super_admin_to="change the account-wide list" if account_wide else None
        )
    # Entries past their expiresAt that the sweep has not removed yet go now, with their
    # events: a pattern added again is a new entry.
    await expiry.expire_list(
        session, account_id=ref.account_id, scope=ref.scope, owner_id=ref.owner_id
    )


async def _apply(
    session: AsyncSession,
    ref: ListRef,
    viewer: Viewer,
    patterns: Sequence[Pattern],
    *,
    replace: bool,
    field_name: str,
    details: Mapping[str, EntryDetails] | None = None,
    default: EntryDetails = entry_details.NONE,
) -> Change:
    """Add ``patterns`` (and with ``replace`` remove every other entry) in the caller's
    transaction, after locking the list's owner. A new entry gets the note and expiry of
    ``details`` by its key, else ``default``; an entry already listed keeps its own."""
    await _lock_owner(session, ref, viewer)
    change = Change(ref)
    if replace:
        current = await entries.all_entries(
            session=session, account_id=ref.account_id, owner_id=ref.owner_id
        )
        wanted = {p.key for p in patterns}
        change.removed = [e for e in current if e.match_key not in wanted]
        existing = {e.match_key for e in current}
        change.count_before = len(current)
        count = len(current) - len(change.removed)
    else:
        found = await entries.get_entries_by_key(
            session=session,
            account_id=ref.account_id,
            owner_ids=[ref.owner_id],
            keys=[p.key for p in patterns],
        )
        existing = {e.match_key for e in found}
        count = change.count_before = await entries.count_entries(
            session=session, account_id=ref.account_id, owner_id=ref.owner_id
        )
    new = [p for p in patterns if p.key not in existing]
    change.already_listed = [p.text for p in patterns if p.key in existing]
    if count + len(new) > ref.limit:
        raise Refusal.one(
            ErrorCode.LIMIT_EXCEEDED,
            f"The {ref.name} holds {count} of its {ref.limit} entries: adding {len(new)} "
            f"more would exceed its limit by {count + len(new) - ref.limit}.",
            ["input", field_name],
        )
    change.count = count + len(new)
    now = utcnow()
    change.added = [
        NeverLogEntry(
            account_id=ref.account_id,
            id=new_id(),
            owner_id=ref.owner_id,
            scope=ref.scope.value,
            kind=p.kind.value,
            pattern=p.text,
            match_key=p.key,
            created_at=now,
            created_by_id=viewer.user_id,
            note=(details or {}).get(p.key, default).note,
            expires_at=(details or {}).get(p.key, default).expires_at,
            action=(details or {}).get(p.key, default).action.value,
        )
        for p in new
    ]
    await entries.delete_entries(
        session=session, account_id=ref.account_id, entry_ids=[e.id for e in change.removed]
    )
    await entries.insert_entries(session=session, rows=[e.model_dump() for e in change.added])
    return change


async def add_entries(
    db: Database,
    viewer: Viewer,
    limits: AccountLimits,
    *,
    scope: Scope,
    patterns: Sequence[str],
    note: str | None = None,
    expires_at: dt.datetime | None = None,
    action: EntryAction = EntryAction.NEVER_LOG,
) -> Change:
    """Add entries, each with ``note``, ``expires_at`` and ``action``; a pattern already
    listed stays as it is, whatever those say (a change of them is an update)."""
    ref = writable_list(viewer, scope, limits)
    items = split_patterns(patterns)
    _refuse_none_given(len(items))
    _refuse_too_many(len(items), ref, "patterns")
    parsed = _distinct(_parse_all(items, "patterns"))
    default = entry_details.checked(note, expires_at, ["input"], action)
    async with db.transaction(ref.account_id, write=True) as session:
        change = await _apply(
            session, ref, viewer, parsed, replace=False, field_name="patterns", default=default
        )
        if change.added:
            await _record(session, ref, viewer, AuditAction.NEVER_LOG_ENTRIES_ADDED, change)
            await _announce(session, ref, change)
        return change


async def remove_entries(
    db: Database,
    viewer: Viewer,
    limits: AccountLimits,
    *,
    scope: Scope,
    entry_ids: Sequence[uuid.UUID | None],
    patterns: Sequence[str],
) -> Change:
    """Remove entries named by ID or by pattern; an ID or pattern that is not on the list
    refuses the whole call."""
    ref = writable_list(viewer, scope, limits)
    items = split_patterns(patterns)
    _refuse_none_given(len(items) + len(entry_ids))
    _refuse_too_many(len(items) + len(entry_ids), ref, "patterns" if items else "ids")
    parsed = _parse_all(items, "patterns")
    async with db.transaction(ref.account_id, write=True) as session:
        await _lock_owner(session, ref, viewer)
        by_id = {
            e.id: e
            for e in await entries.get_entries(
                session=session,
                account_id=ref.account_id,
                entry_ids=[i for i in entry_ids if i is not None],
            )
            if e.owner_id == ref.owner_id
        }
        by_key = {
            e.match_key: e
            for e in await entries.get_entries_by_key(
                session=session,
                account_id=ref.account_id,
                owner_ids=[ref.owner_id],
                keys=[p.key for _, p in parsed],
            )
        }
        problems = [
            Problem(
                ErrorCode.NOT_FOUND,
                f"No entry of the {ref.name} has this ID.",
                ("input", "ids", str(n)),
            )
            for n, entry_id in enumerate(entry_ids)
            if entry_id not in by_id
        ] + [
            Problem(
                ErrorCode.NOT_FOUND,
                f"{p.text} is not on the {ref.name}.",
                ("input", "patterns", str(index)),
            )
            for index, p in parsed
            if p.key not in by_key
        ]
        if problems:
            raise Refusal(problems)
        removed = {e.id: e for e in [*by_id.values(), *by_key.values()]}
        change = Change(ref, removed=sorted(removed.values(), key=lambda e: e.pattern))
        await entries.delete_entries(
            session=session, account_id=ref.account_id, entry_ids=list(removed)
        )
        change.count = await entries.count_entries(
            session=session, account_id=ref.account_id, owner_id=ref.owner_id
        )
        if change.removed:
            await _record(session, ref, viewer, AuditAction.NEVER_LOG_ENTRIES_REMOVED, change)
            await _announce(session, ref, change)
        return change


class _Keep(enum.Enum):
    KEEP = "KEEP"


KEEP: Final = _Keep.KEEP  # an update's field that was left out


@dataclass(slots=True)
class Updated:
    """The entries of an update after it, one for each ID given, in their order."""

    ref: ListRef
    entries: list[NeverLogEntry]


async def update_entries(
    db: Database,
    viewer: Viewer,
    limits: AccountLimits,
    *,
    scope: Scope,
    entry_ids: Sequence[uuid.UUID],
    action: EntryAction | None = None,
    note: str | _Keep | None = KEEP,
    expires_at: dt.datetime | _Keep | None = KEEP,
) -> Updated:
    """Change the action, note or expiry of entries of one list: ``KEEP`` (and an action
    of None) leaves a field as it is, a note or expiry of None clears it. All or nothing:
    an ID that is not a live entry of this list (another list's, another account's, one
    expired) refuses the whole call with NOT_FOUND. Only entries that the call changes
    are audited and sent to webhooks; a call that changes none records nothing."""
    ref = writable_list(viewer, scope, limits)
    if not entry_ids:
        raise Refusal.one(
            ErrorCode.INVALID_INPUT, "No entries given: name at least one ID.", ["input", "ids"]
        )
    _refuse_too_many(len(entry_ids), ref, "ids", what="entries")
    new_note = (
        entry_details.checked_note(note, ["input", "note"]) if not isinstance(note, _Keep) else KEEP
    )
    new_expiry = (
        entry_details.checked_expiry(expires_at, ["input", "expiresAt"])
        if not isinstance(expires_at, _Keep)
        else KEEP
    )
    async with db.transaction(ref.account_id, write=True) as session:
        await _lock_owner(session, ref, viewer)
        found = {
            e.id: e
            for e in await entries.get_entries(
                session=session, account_id=ref.account_id, entry_ids=entry_ids
            )
            if e.owner_id == ref.owner_id
        }
        problems = [
            Problem(
                ErrorCode.NOT_FOUND,
                f"No entry of the {ref.name} has this ID.",
                ("input", "ids", str(n)),
            )
            for n, entry_id in enumerate(entry_ids)
            if entry_id not in found
        ]
        if problems:
            raise Refusal(problems)
        changed: dict[uuid.UUID, NeverLogEntry] = {}
        for entry_id in entry_ids:
            entry = found[entry_id]
            before = (entry.action, entry.note, entry.expires_at)
            if action is not None:
                entry.action = action.value
            if not isinstance(new_note, _Keep):
                entry.note = new_note
            if not isinstance(new_expiry, _Keep):
                entry.expires_at = new_expiry
            if (entry.action, entry.note, entry.expires_at) != before:
                changed[entry.id] = entry
        if changed:
            await entries.save_entries(session=session, rows=list(changed.values()))
            await _record_update(
                session, ref, viewer, list(changed.values()), action, new_note, new_expiry
            )
            await record_entries_event(
                session,
                account_id=ref.account_id,
                event_type=WebhookEventType.NEVER_LOG_ENTRIES_UPDATED,
                scope=ref.scope,
                owner_id=ref.owner_id,
                entries=list(changed.values()),
            )
        return Updated(ref, [found[i] for i in entry_ids])


async def _record_update(
    session: AsyncSession,
    ref: ListRef,
    viewer: Viewer,
    changed: Sequence[NeverLogEntry],
    action: EntryAction | None,
    note: str | _Keep | None,
    expires_at: dt.datetime | _Keep | None,
) -> None:
    """The audit event of an update. Its summary names what was set, never a note's text:
    a personal list's notes are as private as its patterns."""
    what = []
    if action is not None:
        what.append(f"action {action.value}")
    if not isinstance(note, _Keep):
        what.append("note changed" if note is not None else "note cleared")
    if not isinstance(expires_at, _Keep):
        what.append(
            f"expiry {expires_at.isoformat(timespec='seconds')}"
            if expires_at is not None
            else "expiry cleared"
        )
    whose = "the account-wide list" if ref.scope is Scope.ACCOUNT else "their personal list"
    await audit.record(
        session=session,
        account_id=ref.account_id,
        action=AuditAction.NEVER_LOG_ENTRIES_UPDATED.value,
        actor_id=viewer.user_id,
        scope=ref.scope.value,
        patterns=[e.pattern for e in changed],
        summary=f"Changed {whose}: updated {_entries(len(changed))} ({', '.join(what)}).",
    )


class _DryRun(Exception):
    """Ends a dry run's transaction with a rollback, carrying what it would have done."""

    def __init__(self, change: Change) -> None:
        self.change = change


async def import_list(
    db: Database,
    viewer: Viewer,
    limits: AccountLimits,
    *,
    scope: Scope,
    csv_text: str,
    mode: ImportMode,
    dry_run: bool = False,
) -> Change:
    """Import a file; ``dry_run`` answers what the import would do, checks and all, and
    saves nothing (its transaction is rolled back)."""
    ref = writable_list(viewer, scope, limits)
    try:
        rows = read_rows(csv_text)
        items = [(row.line, row.pattern) for row in rows]
    except csv.Error as exc:
        raise Refusal.one(
            ErrorCode.INVALID_INPUT, f"The file cannot be read as CSV: {exc}.", ["input", "csv"]
        ) from exc
    if not items:
        raise Refusal.one(
            ErrorCode.INVALID_INPUT,
            "The file holds no patterns. To empty a list, remove its entries instead.",
            ["input", "csv"],
        )
    # Counted before any is parsed: more items than the list may hold is refused without
    # parsing one of them.
    _refuse_too_many(len(items), ref, "csv")
    parsed = _distinct(_parse_all(items, "csv", lines=True))
    now = utcnow()
    details: dict[str, EntryDetails] = {}
    for row in rows:
        found = details_of(row, now=now)
        if found != entry_details.NONE:
            details.setdefault(parse_pattern(row.pattern).key, found)
    try:
        async with db.transaction(ref.account_id, write=True) as session:
            change = await _apply(
                session,
                ref,
                viewer,
                parsed,
                replace=mode is ImportMode.REPLACE,
                field_name="csv",
                details=details,
            )
            if dry_run:
                raise _DryRun(change)
            if change.added or change.removed:
                await _record(session, ref, viewer, AuditAction.NEVER_LOG_LIST_IMPORTED, change)
                await _announce(session, ref, change)
            return change
    except _DryRun as dry:
        dry.change.count = dry.change.count_before
        return dry.change


async def _record(
    session: AsyncSession, ref: ListRef, viewer: Viewer, action: AuditAction, change: Change
) -> None:
    parts = []
    if change.added:
        parts.append(f"added {_entries(len(change.added))}")
    if change.removed:
        parts.append(f"removed {_entries(len(change.removed))}")
    verb = "Imported a file into" if action is AuditAction.NEVER_LOG_LIST_IMPORTED else "Changed"
    whose = "the account-wide list" if ref.scope is Scope.ACCOUNT else "their personal list"
    await audit.record(
        session=session,
        account_id=ref.account_id,
        action=action.value,
        actor_id=viewer.user_id,
        scope=ref.scope.value,
        patterns=[e.pattern for e in change.added] + [e.pattern for e in change.removed],
        summary=f"{verb} {whose}: {' and '.join(parts)}.",
    )


async def _announce(session: AsyncSession, ref: ListRef, change: Change) -> None:
    """The webhook events of a change, in its transaction (the outbox): what was removed,
    then what was added."""
    for event_type, changed in (
        (WebhookEventType.NEVER_LOG_ENTRIES_REMOVED, change.removed),
        (WebhookEventType.NEVER_LOG_ENTRIES_ADDED, change.added),
    ):
        await record_entries_event(
            session,
            account_id=ref.account_id,
            event_type=event_type,
            scope=ref.scope,
            owner_id=ref.owner_id,
            entries=changed,
        )


def _entries(n: int) -> str:
    return f"{n} entr{'y' if n == 1 else 'ies'}"
