"""The rows behind live list changes (tenancy/live.py): ``list_changes``, kept a few minutes
for other processes to read, and which tokens of a set still sign in."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from persistence.entries import live
from persistence.tables import ApiToken, ListChange, NeverLogEntry, User

# How long a change is kept for other processes to read (they read it within moments).
KEEP = dt.timedelta(minutes=5)


async def insert_change(
    *, session: AsyncSession, change: ListChange, channel: str, notice: str, prune: bool
) -> int:
    """Write ``change`` with its list's count as of now in the transaction, and send
    ``notice`` on ``channel`` once the transaction commits, in one statement (one round
    trip: a change holds its list's lock meanwhile); with ``prune``, also remove the
    account's changes older than ``change.created_at - KEEP``. The list's count."""
    counted = (
        sa.select(sa.func.count())
        .where(
            col(NeverLogEntry.account_id) == change.account_id,
            col(NeverLogEntry.owner_id) == change.owner_id,
            live(),
        )
        .scalar_subquery()
    )
    values = {
        "account_id": change.account_id,
        "id": change.id,
        "scope": change.scope,
        "owner_id": change.owner_id,
        "kind": change.kind,
        "patterns": change.patterns,
        "entry_count": change.entry_count,
        "list_count": counted,
        "actor_id": change.actor_id,
        "created_at": change.created_at,
    }
    inserted = (
        sa.insert(ListChange).values(values).returning(col(ListChange.list_count)).cte("inserted")
    )
    statement = sa.select(inserted.c.list_count, sa.func.pg_notify(channel, notice))
    count = int((await session.execute(statement)).scalar_one())
    if prune:
        await session.execute(
            sa.delete(ListChange).where(
                col(ListChange.account_id) == change.account_id,
                col(ListChange.created_at) < change.created_at - KEEP,
            )
        )
    return count


async def read_changes(
    *, session: AsyncSession, account_id: uuid.UUID, change_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ListChange]:
    rows = await session.execute(
        sa.select(ListChange).where(
            col(ListChange.account_id) == account_id, col(ListChange.id).in_(list(change_ids))
        )
    )
    return {row.id: row for row in rows.scalars()}


async def signing_in(
    *, session: AsyncSession, account_id: uuid.UUID, token_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Those of ``token_ids`` that still sign in: not revoked, their user active."""
    rows = await session.execute(
        sa.select(ApiToken.id)
        .join(
            User,
            (col(User.account_id) == col(ApiToken.account_id))
            & (col(User.id) == col(ApiToken.user_id)),
        )
        .where(
            col(ApiToken.account_id) == account_id,
            col(ApiToken.id).in_(list(token_ids)),
            col(ApiToken.revoked_at).is_(None),
            col(User.active).is_(True),
        )
    )
    return set(rows.scalars())
