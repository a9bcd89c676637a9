"""The rows behind live list changes (tenancy/live.py): ``list_changes``, kept a few minutes
for other processes to read, and which tokens of a set still sign in."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from persistence.tables import ApiToken, ListChange, User


async def insert_change(
    *, session: AsyncSession, change: ListChange, keep_after: dt.datetime
) -> None:
    """Write ``change`` and remove the account's changes made before ``keep_after``."""
    session.add(change)
    await session.flush()
    await session.execute(
        sa.delete(ListChange).where(
            col(ListChange.account_id) == change.account_id,
            col(ListChange.created_at) < keep_after,
        )
    )


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
