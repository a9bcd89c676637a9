"""The mutations of the contract, but for the simulation ones (schema/decisions.py).
Each is a ``signed_in_mutation``: it declares its payload, and a refusal from below
becomes that payload's ``userErrors`` (schema/errors.py); its payload is built from what
the change's transaction returned."""

from __future__ import annotations

import builtins
import datetime

import strawberry
from strawberry.types import Info

from schema.enums import CaptureLevel, EntryAction, ImportMode, Role, Scope
from schema.errors import UserError, signed_in_mutation
from schema.ids import decode_id, to_global_id
from schema.permissions import Allowed, account_wide
from schema.types import Account, ApiToken, NeverLogEntry, NeverLogList, User
from tenancy import lists, reads, settings, tokens, users
from tenancy.roles import Action


def _errors() -> list[UserError]:
    errors: list[UserError] = strawberry.field(default_factory=list)
    return errors


@strawberry.input
class AddNeverLogEntriesInput:
    scope: Scope
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
        description="When the entries that this call adds stop applying: an instant in the "
        "future, such as 2027-01-31T17:00:00+01:00. A time without an offset is read as UTC; "
        "one in the past, or that UTC cannot represent (past 9999-12-31T23:59:59Z), is "
        "INVALID_INPUT naming it.",
    )
    action: EntryAction = strawberry.field(
        default=EntryAction.NEVER_LOG,
        description="What the entries that this call adds do to the recipients they match.",
    )


@strawberry.type
class AddNeverLogEntriesPayload:
    added: list[NeverLogEntry] = strawberry.field(default_factory=list)
    already_listed: list[str] = strawberry.field(default_factory=list)
    list: NeverLogList | None = None
    user_errors: builtins.list[UserError] = _errors()


@strawberry.input
class RemoveNeverLogEntriesInput:
    scope: Scope
    ids: list[strawberry.ID] | None = strawberry.field(default_factory=list)
    patterns: list[str] | None = strawberry.field(default_factory=list)


@strawberry.type
class RemoveNeverLogEntriesPayload:
    removed_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    list: NeverLogList | None = None
    user_errors: builtins.list[UserError] = _errors()


@strawberry.input(
    description="Fields left out are left as they are; note or expiresAt given as null clear them."
)
class UpdateNeverLogEntriesInput:
    scope: Scope
    ids: list[strawberry.ID] = strawberry.field(
        description="The entries to change (at most the list's limit), all of this list."
    )
    action: EntryAction | None = strawberry.UNSET
    note: str | None = strawberry.UNSET
    expires_at: datetime.datetime | None = strawberry.UNSET


@strawberry.type
class UpdateNeverLogEntriesPayload:
    entries: list[NeverLogEntry] = strawberry.field(
        default_factory=list, description="The entries after the change, in the order of ids."
    )
    user_errors: builtins.list[UserError] = _errors()


@strawberry.input
class ImportNeverLogListInput:
    scope: Scope
    csv: str = strawberry.field(
        description="CSV: a file as exported; or with a header line that names a column "
        "pattern, email, email address, address or domain, that column's patterns (note, "
        "expires_at and action from theirs, other columns ignored); or without one, patterns "
        "in the first column."
    )
    mode: ImportMode = ImportMode.MERGE
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
    role: Role = Role.USER


@strawberry.type
class AddUserPayload:
    user: User | None = None
    invitation_code: str | None = strawberry.field(
        default=None,
        description="A one-time code for the new user to accept (acceptInvitation), shown "
        "this once; it expires after 7 days. The user, not the super admin, then holds the "
        "user's token.",
    )
    user_errors: builtins.list[UserError] = _errors()


@strawberry.input
class UpdateUserRoleInput:
    user_id: strawberry.ID
    role: Role


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
        description="Whose token: the viewer. Naming another user is FORBIDDEN, for super "
        "admins too (their token would read that user's personal list): new users accept an "
        "invitation instead.",
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


@strawberry.input(description="Fields left out are left as they are.")
class UpdateAccountSettingsInput:
    default_capture: CaptureLevel | None = strawberry.UNSET
    skip_automated_emails: bool | None = strawberry.UNSET
    automated_sender_names: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Replaces the list (at most 100 names); an empty list turns the name rule off.",
    )


@strawberry.type
class UpdateAccountSettingsPayload:
    account: Account | None = None
    user_errors: builtins.list[UserError] = _errors()


@strawberry.input
class UpdateMySettingsInput:
    default_capture: CaptureLevel | None = strawberry.field(
        default=strawberry.UNSET,
        description="Null: the account's defaultCapture applies.",
    )


@strawberry.type
class UpdateMySettingsPayload:
    user: User | None = None
    user_errors: builtins.list[UserError] = _errors()


def _given(value: object) -> bool:
    """Whether an input field was given a value (neither left out nor null)."""
    return value is not strawberry.UNSET and value is not None


@strawberry.type
class CoreMutation:
    @signed_in_mutation(permission=Allowed(Action.CHANGE_ACCOUNT_LIST, when=account_wide))
    async def add_never_log_entries(
        self, info: Info, input: AddNeverLogEntriesInput
    ) -> AddNeverLogEntriesPayload:
        ctx = info.context
        change = await lists.add_entries(
            ctx.db,
            ctx.signed_in,
            ctx.limits,
            scope=input.scope,
            patterns=input.patterns,
            note=input.note,
            expires_at=input.expires_at,
            action=input.action,
        )
        return AddNeverLogEntriesPayload(
            added=[NeverLogEntry.from_row(e) for e in change.added],
            already_listed=change.already_listed,
            list=NeverLogList.of(change.ref, change.count),
        )

    @signed_in_mutation(permission=Allowed(Action.CHANGE_ACCOUNT_LIST, when=account_wide))
    async def remove_never_log_entries(
        self, info: Info, input: RemoveNeverLogEntriesInput
    ) -> RemoveNeverLogEntriesPayload:
        ctx = info.context
        change = await lists.remove_entries(
            ctx.db,
            ctx.signed_in,
            ctx.limits,
            scope=input.scope,
            entry_ids=[decode_id(i, "NeverLogEntry") for i in input.ids or []],
            patterns=input.patterns or [],
        )
        return RemoveNeverLogEntriesPayload(
            removed_ids=[to_global_id("NeverLogEntry", e.id) for e in change.removed],
            list=NeverLogList.of(change.ref, change.count),
        )

    @signed_in_mutation(permission=Allowed(Action.CHANGE_ACCOUNT_LIST, when=account_wide))
    async def update_never_log_entries(
        self, info: Info, input: UpdateNeverLogEntriesInput
    ) -> UpdateNeverLogEntriesPayload:
        ctx = info.context
        updated = await lists.update_entries(
            ctx.db,
            ctx.signed_in,
            ctx.limits,
            scope=input.scope,
            entry_ids=[decode_id(i, "NeverLogEntry") for i in input.ids],
            action=input.action if _given(input.action) else None,
            note=lists.KEEP if input.note is strawberry.UNSET else input.note,
            expires_at=lists.KEEP if input.expires_at is strawberry.UNSET else input.expires_at,
        )
        return UpdateNeverLogEntriesPayload(
            entries=[NeverLogEntry.from_row(e) for e in updated.entries]
        )

    @signed_in_mutation(permission=Allowed(Action.CHANGE_ACCOUNT_LIST, when=account_wide))
    async def import_never_log_list(
        self, info: Info, input: ImportNeverLogListInput
    ) -> ImportNeverLogListPayload:
        ctx = info.context
        change = await lists.import_list(
            ctx.db,
            ctx.signed_in,
            ctx.limits,
            scope=input.scope,
            csv_text=input.csv,
            mode=input.mode,
            dry_run=input.dry_run,
        )
        return ImportNeverLogListPayload(
            added_count=len(change.added),
            removed_count=len(change.removed),
            already_listed=change.already_listed,
            list=NeverLogList.of(change.ref, change.count),
        )

    @signed_in_mutation(permission=Allowed(Action.ADD_USERS))
    async def add_user(self, info: Info, input: AddUserInput) -> AddUserPayload:
        ctx = info.context
        new = await users.add_user(
            ctx.db, ctx.signed_in, email=input.email, name=input.name, role=input.role
        )
        return AddUserPayload(user=User.from_row(new.user), invitation_code=new.invitation.code)

    @signed_in_mutation(permission=Allowed(Action.CHANGE_ROLES))
    async def update_user_role(
        self, info: Info, input: UpdateUserRoleInput
    ) -> UpdateUserRolePayload:
        ctx = info.context
        user = await users.update_role(
            ctx.db, ctx.signed_in, user_id=decode_id(input.user_id, "User"), role=input.role
        )
        return UpdateUserRolePayload(user=User.from_row(user))

    @signed_in_mutation(permission=Allowed(Action.DEACTIVATE_USERS))
    async def deactivate_user(
        self, info: Info, input: DeactivateUserInput
    ) -> DeactivateUserPayload:
        ctx = info.context
        user = await users.deactivate_user(
            ctx.db, ctx.signed_in, user_id=decode_id(input.user_id, "User")
        )
        return DeactivateUserPayload(user=User.from_row(user))

    @signed_in_mutation()
    async def create_api_token(
        self, info: Info, input: CreateApiTokenInput
    ) -> CreateApiTokenPayload:
        ctx = info.context
        user_id = decode_id(input.user_id, "User") if input.user_id is not None else None
        new = await tokens.create_token(ctx.db, ctx.signed_in, name=input.name, user_id=user_id)
        return CreateApiTokenPayload(token=new.token, api_token=ApiToken.from_row(new.api_token))

    @signed_in_mutation()
    async def revoke_api_token(
        self, info: Info, input: RevokeApiTokenInput
    ) -> RevokeApiTokenPayload:
        ctx = info.context
        revoked = await tokens.revoke_token(
            ctx.db, ctx.signed_in, token_id=decode_id(input.id, "ApiToken")
        )
        return RevokeApiTokenPayload(api_token=ApiToken.from_row(revoked))

    @signed_in_mutation(
        permission=Allowed(Action.CHANGE_ACCOUNT_SETTINGS), description="Super admins."
    )
    async def update_account_settings(
        self, info: Info, input: UpdateAccountSettingsInput
    ) -> UpdateAccountSettingsPayload:
        ctx = info.context
        account = await settings.update_account_settings(
            ctx.db,
            ctx.signed_in,
            default_capture=input.default_capture if _given(input.default_capture) else None,
            skip_automated_emails=(
                input.skip_automated_emails if _given(input.skip_automated_emails) else None
            ),
            automated_sender_names=(
                input.automated_sender_names if _given(input.automated_sender_names) else None
            ),
        )
        return UpdateAccountSettingsPayload(account=Account.from_row(account, info))

    @signed_in_mutation()
    async def update_my_settings(
        self, info: Info, input: UpdateMySettingsInput
    ) -> UpdateMySettingsPayload:
        ctx = info.context
        if input.default_capture is strawberry.UNSET:  # nothing to change: the user as is
            user = (await reads.users_by_id(ctx.db, ctx.signed_in, [ctx.signed_in.user_id]))[
                ctx.signed_in.user_id
            ]
        else:
            user = await settings.update_my_settings(
                ctx.db, ctx.signed_in, default_capture=input.default_capture
            )
        return UpdateMySettingsPayload(user=User.from_row(user))
