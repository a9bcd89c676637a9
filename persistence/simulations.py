"""Saved email logging simulations."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.pages import Page, fetch_page, newest_first_cursor, older_than
from persistence.tables import EmailSimulation


async def insert_simulation(
    *,
    session: AsyncSession,
    account_id: uuid.UUID,
    name: str | None,
    created_by_id: uuid.UUID,
    sender_id: uuid.UUID,
    email: dict[str, Any],
    recorded: dict[str, Any],
) -> EmailSimulation:
    simulation = EmailSimulation(
        account_id=account_id,
        name=name,
        created_by_id=created_by_id,
        sender_id=sender_id,
        email=email,
        recorded=recorded,
    )
    session.add(simulation)
    await session.flush()
    return simulation


async def get_simulation(
    *, session: AsyncSession, account_id: uuid.UUID, simulation_id: uuid.UUID
) -> EmailSimulation | None:
    stmt = sa.select(EmailSimulation).where(
        EmailSimulation.account_id == account_id, EmailSimulation.id == simulation_id
    )
    return (await session.scalars(stmt)).one_or_none()


async def delete_simulation(
    *, session: AsyncSession, account_id: uuid.UUID, simulation_id: uuid.UUID
) -> None:
    await session.execute(
        sa.delete(EmailSimulation).where(
            EmailSimulation.account_id == account_id, EmailSimulation.id == simulation_id
        )
    )


async def page_simulations(
    *,
    session: AsyncSession,
    account_id: uuid.UUID,
    created_by_id: uuid.UUID | None,
    first: int,
    after: str | None,
) -> Page[EmailSimulation]:
    """Simulations newest first: the whole account's, or one user's."""
    conditions = [EmailSimulation.account_id == account_id]
    if created_by_id is not None:
        conditions.append(EmailSimulation.created_by_id == created_by_id)
    return await fetch_page(
        session,
        EmailSimulation,
        conditions=conditions,
        after=older_than(EmailSimulation.created_at, EmailSimulation.id, after) if after else None,
        order_by=(EmailSimulation.created_at.desc(), EmailSimulation.id.desc()),  # type: ignore[attr-defined]
        first=first,
        cursor_of=lambda s: newest_first_cursor(s.created_at, s.id),
        has_previous=after is not None,
    )
