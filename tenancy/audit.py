"""The actions the audit log records, and reading the log as a viewer may see it."""

from __future__ import annotations

import datetime as dt
import enum
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from persistence import accounts, audit
from persistence.database import Database
from persistence.pages import Page
from persistence.tables import AuditEvent
from policy import Scope
from tenancy.roles import Action, Viewer


class AuditAction(enum.Enum):
    NEVER_LOG_ENTRIES_ADDED = "NEVER_LOG_ENTRIES_ADDED"
    NEVER_LOG_ENTRIES_REMOVED = "NEVER_LOG_ENTRIES_REMOVED"
    NEVER_LOG_LIST_IMPORTED = "NEVER_LOG_LIST_IMPORTED"
    USER_ADDED = "USER_ADDED"
    USER_ROLE_CHANGED = "USER_ROLE_CHANGED"
    USER_DEACTIVATED = "USER_DEACTIVATED"
    API_TOKEN_CREATED = "API_TOKEN_CREATED"
    API_TOKEN_REVOKED = "API_TOKEN_REVOKED"
    NEVER_LOG_ENTRIES_EXPIRED = "NEVER_LOG_ENTRIES_EXPIRED"
    INTERNAL_DOMAINS_CHANGED = "INTERNAL_DOMAINS_CHANGED"
    WEBHOOK_ENDPOINT_CREATED = "WEBHOOK_ENDPOINT_CREATED"
    WEBHOOK_ENDPOINT_UPDATED = "WEBHOOK_ENDPOINT_UPDATED"
    WEBHOOK_ENDPOINT_DELETED = "WEBHOOK_ENDPOINT_DELETED"
    USER_INVITED = "USER_INVITED"
    INVITATION_ACCEPTED = "INVITATION_ACCEPTED"
    NEVER_LOG_ENTRIES_UPDATED = "NEVER_LOG_ENTRIES_UPDATED"
    ACCOUNT_SETTINGS_CHANGED = "ACCOUNT_SETTINGS_CHANGED"
    USER_SETTINGS_CHANGED = "USER_SETTINGS_CHANGED"


# -- what a viewer may see of an event ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class VisibleEvent:
    """An audit event as its viewer may see it (made by ``visible_event`` only)."""

    id: uuid.UUID
    action: AuditAction
    created_at: dt.datetime
    scope: Scope | None
    patterns: tuple[str, ...]
    summary: str
    actor_id: uuid.UUID | None
    subject_user_id: uuid.UUID | None


def list_owner(event: AuditEvent) -> uuid.UUID | None:
    """Whose personal list a PERSONAL event changed: the user it is about where it names
    one (an expiry has no actor), else its actor (only the owner changes their list)."""
    return event.subject_user_id or event.actor_id


def is_private_to_others(viewer: Viewer, event: AuditEvent) -> bool:
    return event.scope == Scope.PERSONAL.value and list_owner(event) != viewer.user_id


def visible_event(viewer: Viewer, event: AuditEvent, owner_name: str | None) -> VisibleEvent:
    """``event`` as ``viewer`` may see it: a change to another user's personal list without
    its patterns, and with a summary built anew from its action and count only (never the
    stored one, so that no wording of a summary can carry a pattern out)."""
    patterns: tuple[str, ...] = tuple(event.patterns)
    summary = event.summary
    if is_private_to_others(viewer, event):
        summary = _count_only(event, owner_name or "A user")
        patterns = ()
    return VisibleEvent(
        id=event.id,
        action=AuditAction(event.action),
        created_at=event.created_at,
        scope=Scope(event.scope) if event.scope else None,
        patterns=patterns,
        summary=summary,
        actor_id=event.actor_id,
        subject_user_id=event.subject_user_id,
    )


_COUNTED = re.compile(r"\b(added|removed) (\d+) entr(?:y|ies)\b")


def _count_only(event: AuditEvent, owner: str) -> str:
    n = len(event.patterns)
    action = event.action
    if action == AuditAction.NEVER_LOG_ENTRIES_ADDED.value:
        return f"{owner} added {_entries(n)} to their personal never-log list."
    if action == AuditAction.NEVER_LOG_ENTRIES_REMOVED.value:
        return f"{owner} removed {_entries(n)} from their personal never-log list."
    if action == AuditAction.NEVER_LOG_LIST_IMPORTED.value:
        # The stored patterns are the added and the removed ones together; the split is
        # read from the stored summary's numbers, and used only where it adds up.
        counts = {verb: int(count) for verb, count in _COUNTED.findall(event.summary)}
        if counts and sum(counts.values()) == n:
            parts = [f"{verb} {_entries(count)}" for verb, count in counts.items() if count]
            return (
                f"{owner} imported a file into their personal never-log list: "
                f"{' and '.join(parts)}."
            )
        return f"{owner} imported a file into their personal never-log list: {_entries(n)} changed."
    if action == AuditAction.NEVER_LOG_ENTRIES_UPDATED.value:
        return f"{owner} updated {_entries(n)} of their personal never-log list."
    happened = "expired" if action.endswith("_EXPIRED") else "changed"
    return f"{_entries(n).capitalize()} of {owner}'s personal never-log list {happened}."


def _entries(n: int) -> str:
    return f"{n} entr{'y' if n == 1 else 'ies'}"


# -- reading the log: every event leaves through visible_event ----------------------------


async def page_events(
    db: Database, viewer: Viewer, *, first: int, after: str | None
) -> Page[VisibleEvent]:
    """Events newest first, as the viewer may see them: their own; a super admin's, the
    whole account's (another user's personal list changes without their patterns)."""
    async with db.transaction(viewer.account_id) as session:
        page = await audit.page_events(
            session=session,
            account_id=viewer.account_id,
            actor_id=None if viewer.may(Action.SEE_ACCOUNT_AUDIT_EVENTS) else viewer.user_id,
            first=first,
            after=after,
        )
        rows = await _visible(session, viewer, page.rows)
    return Page(
        rows=rows,
        cursors=page.cursors,
        has_next=page.has_next,
        has_previous=page.has_previous,
        total=page.total,
    )


async def find_event(
    session: AsyncSession, viewer: Viewer, event_id: uuid.UUID
) -> VisibleEvent | None:
    """One event by id, where the viewer may see it (``node``)."""
    row = await audit.get_event(session=session, account_id=viewer.account_id, event_id=event_id)
    if row is None or not viewer.may_see(Action.SEE_ACCOUNT_AUDIT_EVENTS, row.actor_id):
        return None
    (event,) = await _visible(session, viewer, [row])
    return event


async def _visible(
    session: AsyncSession, viewer: Viewer, rows: Sequence[AuditEvent]
) -> list[VisibleEvent]:
    private = {list_owner(r) for r in rows if is_private_to_others(viewer, r)}
    owners = await accounts.get_users(
        session=session, account_id=viewer.account_id, user_ids=[o for o in private if o]
    )
    return [
        visible_event(viewer, row, owners[o].name if (o := list_owner(row)) in owners else None)
        for row in rows
    ]
