"""Accounts and users."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.pages import Page, decode_cursor, encode_cursor, fetch_page
from persistence.tables import Account, User


async def insert_account(*, session: AsyncSession, account_id: uuid.UUID, name: str) -> Account:
    account = Account(id=account_id, name=name)
    session.add(account)
    await session.flush()
    return account


async def get_account(*, session: AsyncSession, account_id: uuid.UUID) -> Account | None:
    return await session.get(Account, account_id)


async def lock_account(*, session: AsyncSession, account_id: uuid.UUID) -> Account | None:
    """The account row, locked until the transaction ends (PostgreSQL; SQLite's writers
    already hold the database lock): serializes changes to the account-wide list and to
    the set of super admins."""
    stmt = sa.select(Account).where(Account.id == account_id).with_for_update()
    return (await session.scalars(stmt)).one_or_none()


async def share_account(*, session: AsyncSession, account_id: uuid.UUID) -> None:
    """The account row held FOR KEY SHARE until the transaction ends (PostgreSQL): many may
    hold it at once, but not beside ``lock_account``. A change that locks a user's row takes
    this first, so that it and a user change (account, then users) lock in one order; the
    foreign keys of what it writes would take the same lock later, after the user's row,
    and deadlock with a deactivation of that user."""
    stmt = (
        sa.select(Account.id)
        .where(Account.id == account_id)
        .with_for_update(read=True, key_share=True)
    )
    await session.execute(stmt)


async def insert_user(
    *, session: AsyncSession, account_id: uuid.UUID, email: str, name: str, role: str
) -> User:
    user = User(account_id=account_id, email=email, email_key=email.lower(), name=name, role=role)
    session.add(user)
    await session.flush()
    return user


async def get_user(
    *, session: AsyncSession, account_id: uuid.UUID, user_id: uuid.UUID, lock: bool = False
) -> User | None:
    stmt = sa.select(User).where(User.account_id == account_id, User.id == user_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).one_or_none()


async def get_users(
    *, session: AsyncSession, account_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, User]:
    if not user_ids:
        return {}
    stmt = sa.select(User).where(User.account_id == account_id, User.id.in_(set(user_ids)))  # type: ignore[attr-defined]
    return {user.id: user for user in await session.scalars(stmt)}


async def user_by_email(*, session: AsyncSession, account_id: uuid.UUID, email: str) -> User | None:
    """The account's user at ``email``, compared without regard to case."""
    stmt = sa.select(User).where(User.account_id == account_id, User.email_key == email.lower())
    return (await session.scalars(stmt)).one_or_none()


async def email_taken(*, session: AsyncSession, account_id: uuid.UUID, email: str) -> bool:
    stmt = sa.select(User.id).where(User.account_id == account_id, User.email_key == email.lower())
    return (await session.scalars(stmt)).first() is not None


async def count_active_super_admins(*, session: AsyncSession, account_id: uuid.UUID) -> int:
    stmt = sa.select(sa.func.count()).where(
        User.account_id == account_id,
        User.role == "SUPER_ADMIN",
        User.active.is_(True),  # type: ignore[attr-defined]
    )
    return int((await session.scalars(stmt)).one())


async def page_users(
    *,
    session: AsyncSession,
    account_id: uuid.UUID,
    first: int,
    after: str | None,
    role: str | None,
    include_inactive: bool,
) -> Page[User]:
    """Users in order of their email address."""
    conditions = [User.account_id == account_id]
    if role is not None:
        conditions.append(User.role == role)
    if not include_inactive:
        conditions.append(User.active.is_(True))  # type: ignore[attr-defined]
    return await fetch_page(
        session,
        User,
        conditions=conditions,
        after=User.email_key > decode_cursor(after, 1)[0] if after else None,
        order_by=(User.email_key,),
        first=first,
        cursor_of=lambda u: encode_cursor([u.email_key]),
        has_previous=after is not None,
    )
