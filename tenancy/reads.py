"""Every read that the API serves, each deciding what the viewer may see: the floors above
never read the database themselves. Each read is one short transaction in the viewer's
account (row-level security binds it on PostgreSQL).

Who sees what (the permission table of PRODUCT.md): a user sees their own personal list,
simulations, audit events and tokens, and the account-wide list and users; a super admin
sees the whole account's simulations, audit events and tokens, but never another user's
personal list."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from persistence import accounts, entries, simulations, tokens
from persistence.database import Database
from persistence.pages import Page
from persistence.tables import ApiToken, EmailSimulation, User
from policy import Scope
from tenancy import audit as tenancy_audit
from tenancy import touches, webhooks
from tenancy.errors import ErrorCode, Refusal
from tenancy.list_ref import ListRef
from tenancy.roles import Role, Viewer


async def users_by_id(
    db: Database, viewer: Viewer, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, User]:
    """Users of the viewer's account (every user of it may be seen) by id."""
    async with db.transaction(viewer.account_id) as session:
        return await accounts.get_users(
            session=session, account_id=viewer.account_id, user_ids=user_ids
        )


async def page_users(
    db: Database,
    viewer: Viewer,
    *,
    first: int,
    after: str | None,
    role: Role | None,
    include_inactive: bool,
) -> Page[User]:
    async with db.transaction(viewer.account_id) as session:
        return await accounts.page_users(
            session=session,
            account_id=viewer.account_id,
            first=first,
            after=after,
            role=role.value if role is not None else None,
            include_inactive=include_inactive,
        )


async def count_entries(db: Database, ref: ListRef) -> int:
    """How many entries a list holds. ``ref`` comes from ``lists.list_for``, which gives a
    viewer only the account-wide list and their own personal list."""
    async with db.transaction(ref.account_id) as session:
        return await entries.count_entries(
            session=session, account_id=ref.account_id, owner_id=ref.owner_id
        )


async def page_entries(
    db: Database, ref: ListRef, *, first: int, after: str | None, search: str | None
) -> Page[Any]:
    async with db.transaction(ref.account_id) as session:
        return await entries.page_entries(
            session=session,
            account_id=ref.account_id,
            owner_id=ref.owner_id,
            first=first,
            after=after,
            search=search,
        )


async def api_tokens(db: Database, viewer: Viewer) -> list[ApiToken]:
    """The viewer's tokens; a super admin's, every token of the account."""
    await touches.flush(db)  # lastUsedAt as of the request that reads them
    async with db.transaction(viewer.account_id) as session:
        return await tokens.list_tokens(
            session=session,
            account_id=viewer.account_id,
            user_id=None if viewer.sees_all_of_account() else viewer.user_id,
        )


async def page_simulations(
    db: Database, viewer: Viewer, *, first: int, after: str | None
) -> Page[EmailSimulation]:
    """Saved simulations: the viewer's own; a super admin's, the whole account's."""
    async with db.transaction(viewer.account_id) as session:
        return await simulations.page_simulations(
            session=session,
            account_id=viewer.account_id,
            created_by_id=None if viewer.sees_all_of_account() else viewer.user_id,
            first=first,
            after=after,
        )


async def refuse_large_simulations(
    db: Database, viewer: Viewer, simulation_ids: list[uuid.UUID], *, argument: str
) -> None:
    """``nodes`` reads whole simulations: like a page of them, at most
    ``simulations.PAGE_ADDRESSES`` stored addresses at once, counted before any is read
    (only those the viewer may see count, so the refusal tells nothing of others')."""
    if len(simulation_ids) < 2:
        return
    async with db.transaction(viewer.account_id) as session:
        held = await simulations.stored_addresses(
            session=session,
            account_id=viewer.account_id,
            simulation_ids=simulation_ids,
            created_by_id=None if viewer.sees_all_of_account() else viewer.user_id,
        )
    if held > simulations.PAGE_ADDRESSES:
        raise Refusal.one(
            ErrorCode.LIMIT_EXCEEDED,
            f"These {len(simulation_ids)} simulations hold {held} addresses; one request reads "
            f"at most {simulations.PAGE_ADDRESSES}: ask for fewer at a time, or page through "
            "emailLoggingSimulations.",
            [argument],
        )


# -- node: one object by type and id, or None where the viewer may not see it ------------

Finder = Callable[[AsyncSession, Viewer, uuid.UUID], Awaitable[Any | None]]


async def _account(session: AsyncSession, viewer: Viewer, row_id: uuid.UUID) -> Any | None:
    if row_id != viewer.account_id:
        return None
    return await accounts.get_account(session=session, account_id=viewer.account_id)


async def _user(session: AsyncSession, viewer: Viewer, row_id: uuid.UUID) -> Any | None:
    return await accounts.get_user(session=session, account_id=viewer.account_id, user_id=row_id)


async def _entry(session: AsyncSession, viewer: Viewer, row_id: uuid.UUID) -> Any | None:
    found = await entries.get_entries(
        session=session, account_id=viewer.account_id, entry_ids=[row_id]
    )
    # Personal lists are private, even from super admins.
    visible = [e for e in found if e.scope == Scope.ACCOUNT.value or e.owner_id == viewer.user_id]
    return visible[0] if visible else None


async def _token(session: AsyncSession, viewer: Viewer, row_id: uuid.UUID) -> Any | None:
    row = await tokens.get_token(session=session, account_id=viewer.account_id, token_id=row_id)
    return row if row and viewer.may_see(row.user_id) else None


async def _simulation(session: AsyncSession, viewer: Viewer, row_id: uuid.UUID) -> Any | None:
    row = await simulations.get_simulation(
        session=session, account_id=viewer.account_id, simulation_id=row_id
    )
    return row if row and viewer.may_see(row.created_by_id) else None


FINDERS: dict[str, Finder] = {
    "Account": _account,
    "User": _user,
    "NeverLogEntry": _entry,
    "ApiToken": _token,
    "AuditEvent": tenancy_audit.find_event,
    "EmailLoggingSimulation": _simulation,
    "WebhookEndpoint": webhooks.find_endpoint,
    "WebhookDelivery": webhooks.find_delivery,
}


async def find(db: Database, viewer: Viewer, type_name: str, row_id: uuid.UUID) -> Any | None:
    """The row of that type and id where the viewer may see it; None otherwise, the same
    for another account's row as for one that never existed."""
    finder = FINDERS.get(type_name)
    if finder is None:
        return None
    if type_name == "ApiToken":
        await touches.flush(db)  # lastUsedAt as of the request that reads it
    async with db.transaction(viewer.account_id) as session:
        return await finder(session, viewer, row_id)
