"""Invitations: one-time codes by their hash, and when a user first signed in."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.tables import Invitation, User


async def replace_invitation(
    *,
    session: AsyncSession,
    account_id: uuid.UUID,
    user_id: uuid.UUID,
    code_hash: str,
    created_by_id: uuid.UUID | None,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> Invitation:
    """The user's one invitation: every earlier one of theirs is deleted (its code stops
    working), and this one written."""
    await session.execute(
        sa.delete(Invitation).where(
            Invitation.account_id == account_id,
            Invitation.user_id == user_id,  # type: ignore[arg-type]
        )
    )
    invitation = Invitation(
        account_id=account_id,
        user_id=user_id,
        code_hash=code_hash,
        created_at=now,
        created_by_id=created_by_id,
        expires_at=expires_at,
    )
    session.add(invitation)
    await session.flush()
    return invitation


async def find_invitation(
    *, session: AsyncSession, account_id: uuid.UUID, code_hash: str, lock: bool = False
) -> Invitation | None:
    stmt = sa.select(Invitation).where(
        Invitation.account_id == account_id, Invitation.code_hash == code_hash
    )
    if lock:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).one_or_none()


async def mark_used(*, session: AsyncSession, invitation: Invitation, now: dt.datetime) -> None:
    invitation.used_at = now
    session.add(invitation)
    await session.flush()


async def mark_signed_in(
    *, session: AsyncSession, account_id: uuid.UUID, user_id: uuid.UUID, now: dt.datetime
) -> None:
    """The user holds a token of their own from now on (a no-op where they did already)."""
    await session.execute(
        sa.update(User)
        .where(
            User.account_id == account_id,
            User.id == user_id,  # type: ignore[arg-type]
            User.signed_in_at.is_(None),  # type: ignore[union-attr]
        )
        .values(signed_in_at=now)
    )
