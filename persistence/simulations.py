"""Saved email logging simulations.

A page of simulations holds at most PAGE_ADDRESSES stored addresses (of every list of the
emails: what decisions, their explanations and the answer grow with), however many
``first`` asks for: where emails are large, a page has fewer of them and says that more
follow. What a page costs the process stays bounded by that, not by what an account chose
to store (at least one row is always returned)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.pages import Page, newest_first_cursor, older_than
from persistence.tables import EmailSimulation

PAGE_ADDRESSES = 10_000
_LISTS = ("to", "cc", "bcc", "excludedRecipients", "existingContacts")
_ORIGINAL_LISTS = ("to", "cc", "bcc")


def _addresses(dialect: str) -> Any:
    """The number of addresses a row's email holds (its headers counted as addresses), in
    SQL."""
    email = EmailSimulation.email
    if dialect == "postgresql":
        parts = [sa.func.jsonb_array_length(email[name]) for name in _LISTS]  # type: ignore[index]
        parts += [
            sa.func.coalesce(sa.func.jsonb_array_length(email["inReplyTo"][name]), 0)  # type: ignore[index]
            for name in _ORIGINAL_LISTS
        ]
        # An inbound email's headers (none in an email saved before them) count as its
        # addresses do: what a page reads stays bounded by PAGE_ADDRESSES.
        parts.append(sa.func.coalesce(sa.func.jsonb_array_length(email["headers"]), 0))  # type: ignore[index]
    else:
        parts = [sa.func.json_array_length(email, f"$.{name}") for name in _LISTS]
        parts += [
            sa.func.coalesce(sa.func.json_array_length(email, f"$.inReplyTo.{name}"), 0)
            for name in _ORIGINAL_LISTS
        ]
        parts.append(sa.func.coalesce(sa.func.json_array_length(email, "$.headers"), 0))
    total: Any = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


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


async def count_simulations(*, session: AsyncSession, account_id: uuid.UUID) -> int:
    stmt = sa.select(sa.func.count()).where(EmailSimulation.account_id == account_id)
    return int((await session.scalars(stmt)).one())


async def stored_addresses(
    *,
    session: AsyncSession,
    account_id: uuid.UUID,
    simulation_ids: list[uuid.UUID],
    created_by_id: uuid.UUID | None,
) -> int:
    """How many addresses these simulations hold together (those of ``created_by_id`` only,
    where given), counted without reading them."""
    if not simulation_ids:
        return 0
    conditions = [
        EmailSimulation.account_id == account_id,
        EmailSimulation.id.in_(simulation_ids),  # type: ignore[attr-defined]
    ]
    if created_by_id is not None:
        conditions.append(EmailSimulation.created_by_id == created_by_id)
    size = sa.func.coalesce(sa.func.sum(_addresses(session.get_bind().dialect.name)), 0)
    return int((await session.scalars(sa.select(size).where(*conditions))).one())


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
    max_addresses: int = PAGE_ADDRESSES,
) -> Page[EmailSimulation]:
    """Simulations newest first: the whole account's, or one user's; as many of the
    ``first`` as hold at most ``max_addresses`` together (at least one)."""
    table = EmailSimulation
    conditions = [table.account_id == account_id]
    if created_by_id is not None:
        conditions.append(table.created_by_id == created_by_id)
    total = int((await session.scalars(sa.select(sa.func.count()).where(*conditions))).one())
    size = _addresses(session.get_bind().dialect.name)
    # First the keys and sizes of the page's rows, then only the rows that fit.
    light = sa.select(table.id, size).where(*conditions)
    if after:
        light = light.where(older_than(table.created_at, table.id, after))
    order = (table.created_at.desc(), table.id.desc())  # type: ignore[attr-defined]
    sized = list((await session.execute(light.order_by(*order).limit(first + 1))).all())
    chosen: list[uuid.UUID] = []
    used = 0
    for row_id, row_size in sized[:first]:
        used += int(row_size or 0)
        if chosen and used > max_addresses:
            break
        chosen.append(row_id)
    rows = list(
        await session.scalars(
            sa.select(table).where(table.account_id == account_id, table.id.in_(chosen))  # type: ignore[attr-defined]
        )
    )
    by_id = {row.id: row for row in rows}
    ordered = [by_id[i] for i in chosen if i in by_id]
    return Page(
        rows=ordered,
        cursors=[newest_first_cursor(r.created_at, r.id) for r in ordered],
        has_next=len(sized) > len(chosen),
        has_previous=after is not None,
        total=total,
    )
