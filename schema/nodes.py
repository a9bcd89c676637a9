"""``node`` and ``nodes``: an ID resolves only to an object of the viewer's account that the
viewer may see (tenancy decides, in ``reads.find``); anything else is null, never a hint
that it exists."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from strawberry.types import Info

from schema.decisions import EmailLoggingSimulation
from schema.ids import from_global_id
from schema.types import Account, ApiToken, AuditEvent, NeverLogEntry, Node, User
from schema.webhooks import WebhookDelivery, WebhookEndpoint
from tenancy import reads
from tenancy.roles import Viewer

# How each type's row becomes its GraphQL object.
NODE_TYPES: dict[str, Callable[[Any, Info], Node]] = {
    "Account": Account.from_row,
    "User": lambda row, info: User.from_row(row),
    "NeverLogEntry": lambda row, info: NeverLogEntry.from_row(row),
    "ApiToken": lambda row, info: ApiToken.from_row(row),
    "AuditEvent": lambda row, info: AuditEvent.from_row(row),
    "EmailLoggingSimulation": lambda row, info: EmailLoggingSimulation.from_row(row),
    "WebhookEndpoint": lambda row, info: WebhookEndpoint.from_row(row),
    "WebhookDelivery": lambda view, info: WebhookDelivery.from_view(view),
}


async def resolve_node(info: Info, global_id: str) -> Node | None:
    viewer: Viewer = info.context.signed_in
    decoded = from_global_id(global_id)
    if decoded is None or decoded[0] not in NODE_TYPES:
        return None
    type_name, row_id = decoded
    row = await reads.find(info.context.db, viewer, type_name, row_id)
    return NODE_TYPES[type_name](row, info) if row is not None else None
