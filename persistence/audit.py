"""The audit log: written in the transaction of the change it records."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.pages import Page, fetch_page, newest_first_cursor, older_than
from persistence.tables import AuditEvent, utcnow


async def record(
    *,
    session: AsyncSession,
    account_id: uuid.UUID,
    action: str,
    actor_id: uuid.UUID | None,
    summary: str,
    scope: str | None = None,
    patterns: Sequence[str] = (),
    subject_user_id: uuid.UUID | None = None,
) -> None:
    session.add(
        AuditEvent(
            account_id=account_id,
            action=action,
            actor_id=actor_id,
            summary=summary,
            scope=scope,
            patterns=list(patterns),
            subject_user_id=subject_user_id,
            created_at=utcnow(),
        )
    )
    await session.flush()


async def get_event(
    *, session: AsyncSession, account_id: uuid.UUID, event_id: uuid.UUID
) -> AuditEvent | None:
    stmt = sa.select(AuditEvent).where(
        AuditEvent.account_id == account_id, AuditEvent.id == event_id
    )
    return (await session.scalars(stmt)).one_or_none()


async def page_events(
    *,
    session: AsyncSession,
    account_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    first: int,
    after: str | None,
) -> Page[AuditEvent]:
    """Events newest first: the whole account's, or one actor's."""
    conditions = [AuditEvent.account_id == account_id]
    if actor_id is not None:
        conditions.append(AuditEvent.actor_id == actor_id)
    return await fetch_page(
        session,
        AuditEvent,
        conditions=conditions,
        after=older_than(AuditEvent.created_at, AuditEvent.id, after) if after else None,
        order_by=(AuditEvent.created_at.desc(), AuditEvent.id.desc()),  # type: ignore[attr-defined]
        first=first,
        cursor_of=lambda e: newest_first_cursor(e.created_at, e.id),
        has_previous=after is not None,
    )
