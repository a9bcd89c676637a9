"""The internal domains of the viewer's account, as ``Account`` shows them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from schema.enums import InternalDomainSource
from tenancy import internal_domains
from tenancy.internal_domains import InternalDomains


@strawberry.type
class InternalDomain:
    domain: str = strawberry.field(
        description="The domain in canonical form: lower case, Unicode (e.g. acme-corp.com, "
        "domän.se)."
    )
    source: InternalDomainSource = strawberry.field(
        description="Why it is internal; ADDED where both apply."
    )


def _loader(info: Info) -> DataLoader[uuid.UUID, InternalDomains]:
    """The account's internal domains, read once per request however many fields ask."""
    ctx = info.context

    async def load(keys: Sequence[uuid.UUID]) -> list[InternalDomains]:
        found = await internal_domains.internal_domains(ctx.db, ctx.signed_in)
        return [found for _ in keys]

    loader: DataLoader[uuid.UUID, InternalDomains] = ctx.loader(
        "internal-domains", lambda: DataLoader(load_fn=load)
    )
    return loader


async def load_internal_domains(info: Info, account_id: uuid.UUID) -> InternalDomains:
    return await _loader(info).load(account_id)


def prime_internal_domains(info: Info, account_id: uuid.UUID, value: InternalDomains) -> None:
    """What a change has just made the domains, so that its payload reads no more."""
    _loader(info).prime(account_id, value, force=True)
