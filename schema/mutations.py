"""The mutations of the contract, but for the simulation ones (schema/decisions.py).
Each declares its permission and returns its refusals as ``userErrors``."""

from __future__ import annotations

import builtins
import datetime
from collections.abc import Awaitable
from typing import TypeVar

import strawberry
from strawberry.types import Info

from policy import Scope
from schema.errors import UserError, user_errors
from schema.ids import decode_id, to_global_id
from schema.permissions import SIGNED_IN
from schema.types import ApiToken, NeverLogEntry, NeverLogList, RoleEnum, ScopeEnum, User
from tenancy import lists, tokens, users
from tenancy.errors import Refusal
from tenancy.roles import Role

T = TypeVar("T")


async def attempt(call: Awaitable[T]) -> T | list[UserError]:
    """The call's result, or its refusal as user errors."""
    try:
        return await call
    except Refusal as refusal:
        return user_errors(refusal)


def _errors() -> list[UserError]:
    errors: list[UserError] = strawberry.field(default_factory=list)
    return errors


@strawberry.input
class AddNeverLogEntriesInput:
    scope: ScopeEnum  # type: ignore[valid-type]
    patterns: list[str] = strawberry.field(
        description="Patterns to add. One string may hold several, separated by commas, "
        "semicolons or line breaks."
    )
    note: str | None = strawberry.field(
        default=None,
        description="A note kept with every entry that this call adds (at most 500 characters).",
    )
    expires_at: datetime.datetime | None = strawberry.field(
        default=None,
        description="When the entries that this call adds stop applying; must lie in the future.",
    )


@strawberry.type
class AddNeverLogEntriesPayload:
    added: list[NeverLogEntry] = strawberry.field(default_factory=list)
    already_listed: list[str] = strawberry.field(default_factory=list)
    list: NeverLogList | None = None
    user_errors: builtins.list[UserError] = _errors()


@strawberry.input
class RemoveNeverLogEntriesInput:
    scope: ScopeEnum  # type: ignore[valid-type]
    ids: list[strawberry.ID] | None = strawberry.field(default_factory=list)
    patterns: list[str] | None = strawberry.field(default_factory=list)


@strawberry.type
class RemoveNeverLogEntriesPayload:
    removed_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    list: NeverLogList | None = None
    user_errors: builtins.list[UserError] = _errors()


ImportModeEnum = strawberry.enum(lists.ImportMode, name="ImportMode")


@strawberry.input
class ImportNeverLogListInput:
    scope: ScopeEnum  # type: ignore[valid-type]
    csv: str = strawberry.field(
        description="CSV whose first column holds patterns; a header line 'pattern,...' is allowed."
    )
    mode: ImportModeEnum = lists.ImportMode.MERGE  # type: ignore[valid-type]
    dry_run: bool = strawberry.field(
        default=False,
        description="True: report what the import would do (counts, alreadyListed, "
        "userErrors) and save nothing.",
    )


@strawberry.type
class ImportNeverLogListPayload:
    added_count: int = 0
    removed_count: int = 0
    already_listed: list[str] = strawberry.field(default_factory=list)
    list: NeverLogList | None = None
    user_errors: builtins.list[UserError] = _errors()


@strawberry.input
class AddUserInput:
    email: str
    name: str
    role: RoleEnum = Role.USER  # type: ignore[valid-type]


@strawberry.type
class AddUserPayload:
    user: User | None = None
    user_errors: builtins.list[UserError] = _errors()


@strawberry.input
class UpdateUserRoleInput:
    user_id: strawberry.ID
    role: RoleEnum  # type: ignore[valid-type]


@strawberry.type
class UpdateUserRolePayload:
    user: User | None = None
    user_errors: builtins.list[UserError] = _errors()


@strawberry.input
class DeactivateUserInput:
    user_id: strawberry.ID


@strawberry.type
class DeactivateUserPayload:
    user: User | None = None
    user_errors: builtins.list[UserError] = _errors()


@strawberry.input
class CreateApiTokenInput:
    name: str
    user_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Whose token; the viewer when omitted. Only super admins may name another user.",
    )


@strawberry.type
class CreateApiTokenPayload:
    token: str | None = strawberry.field(
        default=None, description="The secret, shown this once and never stored in clear."
    )
    api_token: ApiToken | None = None
    user_errors: builtins.list[UserError] = _errors()


@strawberry.input
class RevokeApiTokenInput:
    id: strawberry.ID


@strawberry.type
class RevokeApiTokenPayload:
    api_token: ApiToken | None = None
    user_errors: builtins.list[UserError] = _errors()


@strawberry.type
class CoreMutation:
    @strawberry.mutation(permission_classes=SIGNED_IN)
    async def add_never_log_entries(
        self, info: Info, input: AddNeverLogEntriesInput
    ) -> AddNeverLogEntriesPayload:
        ctx = info.context
        scope = Scope(input.scope)
        change = await attempt(
            lists.add_entries(
                ctx.db,
                ctx.signed_in,
                ctx.limits,
                scope=scope,
                patterns=input.patterns,
                note=input.note,
                expires_at=input.expires_at,
            )
        )
        if isinstance(change, list):
            return AddNeverLogEntriesPayload(user_errors=change)
        return AddNeverLogEntriesPayload(
            added=[NeverLogEntry.from_row(e) for e in change.added],
            already_listed=change.already_listed,
            list=await NeverLogList.load(info, lists.list_for(ctx.signed_in, scope, ctx.limits)),
        )

    @strawberry.mutation(permission_classes=SIGNED_IN)
    async def remove_never_log_entries(
        self, info: Info, input: RemoveNeverLogEntriesInput
    ) -> RemoveNeverLogEntriesPayload:
        ctx = info.context
        scope = Scope(input.scope)
        change = await attempt(
            lists.remove_entries(
                ctx.db,
                ctx.signed_in,
                ctx.limits,
                scope=scope,
                entry_ids=[decode_id(i, "NeverLogEntry") for i in input.ids or []],
                patterns=input.patterns or [],
            )
        )
        if isinstance(change, list):
            return RemoveNeverLogEntriesPayload(user_errors=change)
        return RemoveNeverLogEntriesPayload(
            removed_ids=[to_global_id("NeverLogEntry", e.id) for e in change.removed],
            list=await NeverLogList.load(info, lists.list_for(ctx.signed_in, scope, ctx.limits)),
        )

    @strawberry.mutation(permission_classes=SIGNED_IN)
    async def import_never_log_list(
        self, info: Info, input: ImportNeverLogListInput
    ) -> ImportNeverLogListPayload:
        ctx = info.context
        scope = Scope(input.scope)
        change = await attempt(
            lists.import_list(
                ctx.db,
                ctx.signed_in,
                ctx.limits,
                scope=scope,
                csv_text=input.csv,
                mode=lists.ImportMode(input.mode),
                dry_run=input.dry_run,
            )
        )
        if isinstance(change, list):
            return ImportNeverLogListPayload(user_errors=change)
        return ImportNeverLogListPayload(
            added_count=len(change.added),
            removed_count=len(change.removed),
            already_listed=change.already_listed,
            list=await NeverLogList.load(info, lists.list_for(ctx.signed_in, scope, ctx.limits)),
        )

    @strawberry.mutation(permission_classes=SIGNED_IN)
    async def add_user(self, info: Info, input: AddUserInput) -> AddUserPayload:
        ctx = info.context
        user = await attempt(
            users.add_user(
                ctx.db, ctx.signed_in, email=input.email, name=input.name, role=Role(input.role)
            )
        )
        if isinstance(user, list):
            return AddUserPayload(user_errors=user)
        return AddUserPayload(user=User.from_row(user))

    @strawberry.mutation(permission_classes=SIGNED_IN)
    async def update_user_role(
        self, info: Info, input: UpdateUserRoleInput
    ) -> UpdateUserRolePayload:
        ctx = info.context
        user = await attempt(
            users.update_role(
                ctx.db,
                ctx.signed_in,
                user_id=decode_id(input.user_id, "User"),
                role=Role(input.role),
            )
        )
        if isinstance(user, list):
            return UpdateUserRolePayload(user_errors=user)
        return UpdateUserRolePayload(user=User.from_row(user))

    @strawberry.mutation(permission_classes=SIGNED_IN)
    async def deactivate_user(
        self, info: Info, input: DeactivateUserInput
    ) -> DeactivateUserPayload:
        ctx = info.context
        user = await attempt(
            users.deactivate_user(ctx.db, ctx.signed_in, user_id=decode_id(input.user_id, "User"))
        )
        if isinstance(user, list):
            return DeactivateUserPayload(user_errors=user)
        return DeactivateUserPayload(user=User.from_row(user))

    @strawberry.mutation(permission_classes=SIGNED_IN)
    async def create_api_token(
        self, info: Info, input: CreateApiTokenInput
    ) -> CreateApiTokenPayload:
        ctx = info.context
        user_id = decode_id(input.user_id, "User") if input.user_id is not None else None
        new = await attempt(
            tokens.create_token(ctx.db, ctx.signed_in, name=input.name, user_id=user_id)
        )
        if isinstance(new, list):
            return CreateApiTokenPayload(user_errors=new)
        return CreateApiTokenPayload(token=new.token, api_token=ApiToken.from_row(new.api_token))

    @strawberry.mutation(permission_classes=SIGNED_IN)
    async def revoke_api_token(
        self, info: Info, input: RevokeApiTokenInput
    ) -> RevokeApiTokenPayload:
        ctx = info.context
        revoked = await attempt(
            tokens.revoke_token(ctx.db, ctx.signed_in, token_id=decode_id(input.id, "ApiToken"))
        )
        if isinstance(revoked, list):
            return RevokeApiTokenPayload(user_errors=revoked)
        return RevokeApiTokenPayload(api_token=ApiToken.from_row(revoked))
