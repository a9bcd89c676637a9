"""The Subscription type: live changes to the never-log lists.

api/live.py serves it over graphql-transport-ws: it checks who may subscribe to which list
(``subscribable_list``), takes the changes from this process's hub (tenancy/live.py) and
executes the operation once per change with the change as its root value (the field's
resolver hands the root value on, as Strawberry makes it for subscription fields)."""

from __future__ import annotations

import builtins
import datetime as dt
import uuid
from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from schema.enums import Scope
from schema.types import NeverLogList, User, load_user
from tenancy.account_limits import AccountLimits
from tenancy.list_ref import ListRef
from tenancy.live import ChangeKind, ListChange

strawberry.enum(ChangeKind, name="NeverLogListChangeKind")


@strawberry.type(description="A change to a never-log list, as it happened.")
class NeverLogListChange:
    kind: ChangeKind
    scope: Scope
    list: NeverLogList = strawberry.field(description="The list as it is once the change is made.")
    patterns: builtins.list[str] = strawberry.field(
        description="The canonical patterns that the change concerns (the first 500)."
    )
    entry_count: int = strawberry.field(description="How many entries the change concerns.")
    at: dt.datetime
    actor_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="Who made the change; null for expiry.")
    async def actor(self, info: Info) -> User | None:
        return await load_user(info, self.actor_id)

    @classmethod
    def of(cls, change: ListChange, limits: AccountLimits) -> NeverLogListChange:
        ref = ListRef(
            change.account_id, change.scope, change.owner_id, limits.for_scope(change.scope)
        )
        return cls(
            kind=change.kind,
            scope=change.scope,
            list=NeverLogList.of(ref, change.list_count),
            patterns=list(change.patterns),
            entry_count=change.entry_count,
            at=change.at,
            actor_id=change.actor_id,
        )


@strawberry.type(
    description="Live updates over the graphql-transport-ws protocol at /graphql: the token "
    'goes in the connection_init payload as {"Authorization": "Bearer ..."} (or the upgrade '
    "request's Authorization header)."
)
class Subscription:
    @strawberry.subscription(
        description="Changes to the account-wide list, or to the viewer's own personal list, "
        "made by any user through any server process, in the order they were made."
    )
    async def never_log_list_changed(
        self, info: Info, scope: Scope
    ) -> AsyncGenerator[NeverLogListChange, None]:
        # api/live.py makes the stream (the hub's changes of the list) and executes the
        # operation for each change itself; graphql-core's own subscribe is never called.
        raise RuntimeError("neverLogListChanged is served over graphql-transport-ws (api/live.py)")
        yield  # pragma: no cover
