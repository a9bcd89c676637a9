"""An account's internal domains, by source: ``ADDED`` by super admins, ``USERS`` from the
addresses of active users (kept by tenancy as users are added and deactivated)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.tables import Account, InternalDomain, User

INTERNAL_SCOPE = "INTERNAL"
"""The scope of the rows of internal domains that a decision's look-up returns beside the
entries (see ``keyed_domains``)."""

_DOMAINS: sa.Table = InternalDomain.__table__  # type: ignore[attr-defined]


async def list_domains(*, session: AsyncSession, account_id: uuid.UUID) -> list[InternalDomain]:
    stmt = sa.select(InternalDomain).where(InternalDomain.account_id == account_id)
    return list(await session.scalars(stmt))


async def replace_domains(
    *,
    session: AsyncSession,
    account_id: uuid.UUID,
    source: str,
    domains: Iterable[tuple[str, str]],
) -> None:
    """Make the account's domains of ``source`` exactly ``domains`` (key, text)."""
    await session.execute(
        sa.delete(InternalDomain).where(
            InternalDomain.account_id == account_id, InternalDomain.source == source
        )
    )
    rows = [
        {"account_id": account_id, "domain_key": key, "source": source, "domain": text}
        for key, text in dict(domains).items()
    ]
    if rows:
        await session.execute(sa.insert(InternalDomain), rows)


async def active_user_emails(*, session: AsyncSession, account_id: uuid.UUID) -> list[str]:
    stmt = sa.select(User.email).where(
        User.account_id == account_id,
        User.active.is_(True),  # type: ignore[attr-defined]
    )
    return list(await session.scalars(stmt))


async def users_domains_internal(*, session: AsyncSession, account_id: uuid.UUID) -> bool:
    stmt = sa.select(Account.users_domains_internal).where(Account.id == account_id)
    return bool((await session.scalars(stmt)).one())


async def set_users_domains_internal(
    *, session: AsyncSession, account_id: uuid.UUID, value: bool
) -> None:
    await session.execute(
        sa.update(Account).where(Account.id == account_id).values(users_domains_internal=value)
    )


def keyed_domains(dialect: str) -> list[sa.Select[Any]]:
    """The internal domains that a decision's look-up returns beside the entries, in the
    same statement (a decision still costs one look-up), as rows shaped like the entries':
    (owner_id = the account, scope INTERNAL, kind = the source, pattern = the domain's
    text, match_key = the lookup key that it answers: ``@domain`` for a recipient at the
    domain, ``*.domain`` for one at a subdomain). The bound parameters ``at_domains`` and
    ``sub_domains`` hold the domain parts of those keys (see ``domain_parameters``)."""
    table = _DOMAINS
    selects = []
    for prefix, name in (("@", "at_domains"), ("*.", "sub_domains")):
        wanted: Any
        if dialect == "postgresql":
            wanted = table.c.domain_key == sa.any_(
                sa.bindparam(name, type_=postgresql.ARRAY(sa.String))
            )
        else:
            listed = sa.func.json_each(sa.bindparam(name, type_=sa.String))
            wanted = table.c.domain_key.in_(sa.select(listed.table_valued("value").c.value))
        selects.append(
            sa.select(
                table.c.account_id.label("owner_id"),
                sa.literal(INTERNAL_SCOPE, sa.String).label("scope"),
                table.c.source.label("kind"),
                table.c.domain.label("pattern"),
                (sa.literal(prefix, sa.String) + table.c.domain_key).label("match_key"),
            ).where(table.c.account_id == sa.bindparam("account_id"), wanted)
        )
    return selects


def domain_parameters(keys: Collection[str]) -> tuple[list[str], list[str]]:
    """The domain parts of the lookup keys: of ``@domain`` keys, and of ``*.domain`` keys."""
    at = [key[1:] for key in keys if key.startswith("@")]
    sub = [key[2:] for key in keys if key.startswith("*.")]
    return at, sub
