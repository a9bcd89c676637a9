"""``node`` and ``nodes``: an ID resolves only to an object of the viewer's account that the
viewer may see; anything else is null, never a hint that it exists."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from persistence import accounts, entries, tokens
from policy import Scope
from schema.ids import from_global_id
from schema.types import Account, ApiToken, AuditEvent, NeverLogEntry, Node, User
from schema.webhooks import WebhookDelivery, WebhookEndpoint
from tenancy import audit, webhooks
from tenancy.roles import Viewer

Finder = Callable[[AsyncSession, Viewer, uuid.UUID, Info], Awaitable[Node | None]]


async def _account(
    session: AsyncSession, viewer: Viewer, row_id: uuid.UUID, info: Info
) -> Node | None:
    if row_id != viewer.account_id:
        return None
    row = await accounts.get_account(session=session, account_id=viewer.account_id)
    return Account.from_row(row, info) if row else None


async def _user(
    session: AsyncSession, viewer: Viewer, row_id: uuid.UUID, info: Info
) -> Node | None:
    row = await accounts.get_user(session=session, account_id=viewer.account_id, user_id=row_id)
    return User.from_row(row) if row else None


async def _entry(
    session: AsyncSession, viewer: Viewer, row_id: uuid.UUID, info: Info
) -> Node | None:
    found = await entries.get_entries(
        session=session, account_id=viewer.account_id, entry_ids=[row_id]
    )
    # Personal lists are private, even from super admins.
    visible = [e for e in found if e.scope == Scope.ACCOUNT.value or e.owner_id == viewer.user_id]
    return NeverLogEntry.from_row(visible[0]) if visible else None


async def _token(
    session: AsyncSession, viewer: Viewer, row_id: uuid.UUID, info: Info
) -> Node | None:
    row = await tokens.get_token(session=session, account_id=viewer.account_id, token_id=row_id)
    return ApiToken.from_row(row) if row and viewer.may_see(row.user_id) else None


async def _event(
    session: AsyncSession, viewer: Viewer, row_id: uuid.UUID, info: Info
) -> Node | None:
    event = await audit.find_event(session, viewer, row_id)
    return AuditEvent.from_row(event) if event is not None else None


async def _webhook_endpoint(
    session: AsyncSession, viewer: Viewer, row_id: uuid.UUID, info: Info
) -> Node | None:
    row = await webhooks.find_endpoint(session, viewer, row_id)
    return WebhookEndpoint.from_row(row) if row is not None else None


async def _webhook_delivery(
    session: AsyncSession, viewer: Viewer, row_id: uuid.UUID, info: Info
) -> Node | None:
    view = await webhooks.find_delivery(session, viewer, row_id)
    return WebhookDelivery.from_view(view) if view is not None else None


FINDERS: dict[str, Finder] = {
    "Account": _account,
    "User": _user,
    "NeverLogEntry": _entry,
    "ApiToken": _token,
    "AuditEvent": _event,
    "WebhookEndpoint": _webhook_endpoint,
    "WebhookDelivery": _webhook_delivery,
}


async def resolve_node(info: Info, global_id: str) -> Node | None:
    viewer: Viewer = info.context.signed_in
    decoded = from_global_id(global_id)
    if decoded is None or decoded[0] not in FINDERS:
        return None
    type_name, row_id = decoded
    async with info.context.db.transaction(viewer.account_id) as session:
        return await FINDERS[type_name](session, viewer, row_id, info)
