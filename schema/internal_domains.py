"""setInternalDomains: super admins keep the account's internal domains."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from schema.errors import UserError, signed_in_mutation
from schema.internal_domain_types import prime_internal_domains
from schema.permissions import Allowed
from schema.types import Account
from tenancy import internal_domains
from tenancy.roles import Action


@strawberry.input
class SetInternalDomainsInput:
    domains: list[str] = strawberry.field(
        description="The domains that super admins add (at most 100), replacing those added "
        "before. acme.com, *@acme.com and @acme.com all name acme.com."
    )
    users_domains_are_internal: bool = strawberry.field(
        default=True,
        description="Whether the domains of active users' addresses count as internal too.",
    )


@strawberry.type
class SetInternalDomainsPayload:
    account: Account | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class InternalDomainsMutation:
    @signed_in_mutation(permission=Allowed(Action.CHANGE_INTERNAL_DOMAINS))
    async def set_internal_domains(
        self, info: Info, input: SetInternalDomainsInput
    ) -> SetInternalDomainsPayload:
        ctx = info.context
        result = await internal_domains.set_internal_domains(
            ctx.db,
            ctx.signed_in,
            domains=input.domains,
            users_domains_are_internal=input.users_domains_are_internal,
        )
        prime_internal_domains(info, result.account.id, result.internal)
        return SetInternalDomainsPayload(account=Account.from_row(result.account, info))
