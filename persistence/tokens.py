"""API tokens, found by their hash."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.tables import ApiToken, User


async def insert_token(
    *,
    session: AsyncSession,
    account_id: uuid.UUID,
    user_id: uuid.UUID,
    name: str,
    prefix: str,
    token_hash: str,
) -> ApiToken:
    token = ApiToken(
        account_id=account_id, user_id=user_id, name=name, prefix=prefix, token_hash=token_hash
    )
    session.add(token)
    await session.flush()
    return token


async def token_and_user(
    *, session: AsyncSession, account_id: uuid.UUID, token_hash: str
) -> tuple[ApiToken, User] | None:
    stmt = (
        sa.select(ApiToken, User)
        .join(User, sa.and_(User.account_id == ApiToken.account_id, User.id == ApiToken.user_id))
        .where(ApiToken.account_id == account_id, ApiToken.token_hash == token_hash)
    )
    row = (await session.execute(stmt)).one_or_none()
    return (row[0], row[1]) if row else None


async def touch_token(
    *, session: AsyncSession, account_id: uuid.UUID, token_id: uuid.UUID, now: dt.datetime
) -> None:
    await session.execute(
        sa.update(ApiToken)
        .where(ApiToken.account_id == account_id, ApiToken.id == token_id)
        .values(last_used_at=now)
    )


async def get_token(
    *, session: AsyncSession, account_id: uuid.UUID, token_id: uuid.UUID
) -> ApiToken | None:
    stmt = sa.select(ApiToken).where(ApiToken.account_id == account_id, ApiToken.id == token_id)
    return (await session.scalars(stmt)).one_or_none()


async def list_tokens(
    *, session: AsyncSession, account_id: uuid.UUID, user_id: uuid.UUID | None
) -> list[ApiToken]:
    """Every token of the account, or of one user, newest first."""
    stmt = sa.select(ApiToken).where(ApiToken.account_id == account_id)
    if user_id is not None:
        stmt = stmt.where(ApiToken.user_id == user_id)
    return list(
        await session.scalars(stmt.order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
    )  # type: ignore[attr-defined]
