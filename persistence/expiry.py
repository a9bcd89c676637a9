"""Finding and removing the never-log entries whose expiry has passed.

The sweep of every process reads the expired entries of all accounts: on PostgreSQL a
transaction declares itself the sweep (``app.expiry_sweep``), which a row-level security
policy of its own lets read, and only read, entries whose ``expires_at`` has passed
(migration 0005; 0006 words it so that it matches no index: this query's own conditions
lead the partial index on expires_at). Each list's expired entries are then removed in a
transaction of their own account.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.tables import NeverLogEntry

Entry = NeverLogEntry
_DECLARE_SWEEP = sa.text("select set_config('app.expiry_sweep', 'on', true)")


class ExpiredList(NamedTuple):
    account_id: uuid.UUID
    owner_id: uuid.UUID
    scope: str


async def expired_lists(*, session: AsyncSession, now: dt.datetime) -> list[ExpiredList]:
    """Every list, of any account, that holds an entry expired by ``now``."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_DECLARE_SWEEP)
    stmt = (
        sa.select(Entry.account_id, Entry.owner_id, Entry.scope)
        .where(Entry.expires_at.is_not(None), Entry.expires_at <= now)  # type: ignore[union-attr,operator]
        .distinct()
    )
    return [ExpiredList(*row) for row in await session.execute(stmt)]


async def delete_expired(
    *, session: AsyncSession, account_id: uuid.UUID, owner_id: uuid.UUID, now: dt.datetime
) -> list[NeverLogEntry]:
    """Remove the list's entries expired by ``now``, and return them. Whichever transaction
    deletes a row first returns it; a concurrent one finds it gone: each expired entry is
    returned once, however many processes sweep."""
    stmt = (
        sa.delete(Entry)
        .where(
            Entry.account_id == account_id,
            Entry.owner_id == owner_id,
            Entry.expires_at.is_not(None),  # type: ignore[union-attr]
            Entry.expires_at <= now,  # type: ignore[operator]
        )
        .returning(Entry)
        .execution_options(synchronize_session=False)
    )
    rows = list(await session.scalars(stmt))
    return sorted(rows, key=lambda e: e.pattern)
