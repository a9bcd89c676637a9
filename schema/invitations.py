"""Invitations (tenancy/invitations.py decides): ``inviteUser`` for super admins, and
``acceptInvitation``, the one mutation that answers without a token."""

from __future__ import annotations

import builtins
import math

import strawberry
from strawberry.types import Info

from policy.errors import RateLimited
from schema.errors import RefusalsAsUserErrors, UserError, signed_in_mutation
from schema.ids import decode_id
from schema.permissions import Allowed
from schema.types import ApiToken, User
from tenancy import invitations, users
from tenancy.roles import Action


def _errors() -> list[UserError]:
    errors: list[UserError] = strawberry.field(default_factory=list)
    return errors


@strawberry.input
class InviteUserInput:
    user_id: strawberry.ID = strawberry.field(
        description="A user of the account who has not signed in yet; earlier codes for "
        "them stop working."
    )


@strawberry.type
class InviteUserPayload:
    invitation_code: str | None = strawberry.field(
        default=None, description="The new one-time code, shown this once."
    )
    user: User | None = None
    user_errors: builtins.list[UserError] = _errors()


@strawberry.input
class AcceptInvitationInput:
    code: str
    token_name: str = strawberry.field(
        default="first token", description="A name for the token that accepting creates."
    )


@strawberry.type
class AcceptInvitationPayload:
    token: str | None = strawberry.field(
        default=None,
        description="The user's token, shown this once: only the one who accepted the "
        "invitation holds it.",
    )
    api_token: ApiToken | None = None
    user_errors: builtins.list[UserError] = _errors()


@strawberry.type
class InvitationMutation:
    @signed_in_mutation(
        permission=Allowed(Action.INVITE_USERS),
        description="Super admins: a new invitation code for a user who has not signed in yet.",
    )
    async def invite_user(self, info: Info, input: InviteUserInput) -> InviteUserPayload:
        ctx = info.context
        new = await users.invite_user(
            ctx.db, ctx.signed_in, user_id=decode_id(input.user_id, "User")
        )
        return InviteUserPayload(invitation_code=new.invitation.code, user=User.from_row(new.user))

    @strawberry.mutation(
        description="Without a token: turn an invitation code into the user's first token.",
        extensions=[RefusalsAsUserErrors()],
    )
    async def accept_invitation(
        self, info: Info, input: AcceptInvitationInput
    ) -> AcceptInvitationPayload:
        ctx = info.context
        # Codes that do not work are limited per client address, signed in or not: codes
        # are not guessed in bulk (a code has 160 random bits besides).
        wait = await ctx.invitation_attempts.admit()
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise RateLimited(
                f"Too many invitation codes tried from this address; retry in {seconds} s.",
                retryAfterSeconds=seconds,
            )
        accepted = await invitations.accept_invitation(
            ctx.db,
            code=input.code,
            token_name=input.token_name,
            answer_seconds=ctx.limits.invitation_answer_seconds,
        )
        await ctx.invitation_attempts.accepted()
        return AcceptInvitationPayload(
            token=accepted.token, api_token=ApiToken.from_row(accepted.api_token, accepted.user)
        )
