"""The queries of the contract, but for the decision ones (schema/decisions.py)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from policy.errors import BadUserInput
from schema.connections import Connection, page_size
from schema.enums import Role, Scope
from schema.ids import from_global_id
from schema.nodes import resolve_node
from schema.permissions import SIGNED_IN
from schema.types import Account, ApiToken, AuditEvent, NeverLogList, Node, User, Viewer
from tenancy import audit, reads
from tenancy.lists import list_for
from tenancy.tokens import signed_in_rows

MAX_NODES = 100


@strawberry.type
class CoreQuery:
    @strawberry.field(permission_classes=SIGNED_IN)
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info, id)

    @strawberry.field(permission_classes=SIGNED_IN)
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_NODES:
            raise BadUserInput(
                f"nodes takes at most {MAX_NODES} IDs; got {len(ids)}.",
                argument="ids",
                limit=MAX_NODES,
            )
        simulations = [
            decoded[1]
            for decoded in map(from_global_id, ids)
            if decoded is not None and decoded[0] == "EmailLoggingSimulation"
        ]
        await reads.refuse_large_simulations(
            info.context.db, info.context.signed_in, simulations, argument="ids"
        )
        return [await resolve_node(info, global_id) for global_id in ids]

    @strawberry.field(permission_classes=SIGNED_IN)
    async def viewer(self, info: Info) -> Viewer:
        account, user = await signed_in_rows(info.context.db, info.context.signed_in)
        return Viewer(user=User.from_row(user), account=Account.from_row(account, info))

    @strawberry.field(permission_classes=SIGNED_IN, description="Users of the viewer's account.")
    async def users(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        role: Role | None = None,
        include_inactive: bool | None = False,
    ) -> Connection[User]:
        page = await reads.page_users(
            info.context.db,
            info.context.signed_in,
            first=page_size(first),
            after=after,
            role=role,
            include_inactive=bool(include_inactive),
        )
        return Connection.from_page(page, User.from_row)

    @strawberry.field(
        permission_classes=SIGNED_IN,
        description="The account-wide list, or the viewer's own personal list.",
    )
    async def never_log_list(self, info: Info, scope: Scope) -> NeverLogList:
        ref = list_for(info.context.signed_in, scope, info.context.limits)
        return await NeverLogList.load(info, ref)

    @strawberry.field(
        permission_classes=SIGNED_IN,
        description="Changes to lists, users and tokens, newest first: the viewer's own; "
        "a super admin sees the whole account's.",
    )
    async def audit_events(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[AuditEvent]:
        page = await audit.page_events(
            info.context.db, info.context.signed_in, first=page_size(first), after=after
        )
        return Connection.from_page(page, AuditEvent.from_row)

    @strawberry.field(
        permission_classes=SIGNED_IN,
        description="The viewer's API tokens; a super admin sees every token of the account.",
    )
    async def api_tokens(self, info: Info) -> list[ApiToken]:
        rows = await reads.api_tokens(info.context.db, info.context.signed_in)
        return [ApiToken.from_row(row) for row in rows]
