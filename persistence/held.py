"""The reads of tenancy/held_lists.py: everything that a decision of one account reads
(its live entries, its internal domains, the settings of the account and of its users)
with the account's list version, in one statement; a decision's look-up with that
version and each entry's expiry (``keyed_rows``); the version alone; and, on PostgreSQL,
the accounts whose version moved since a poll (``changed_since``, migration 0012).

Each runs as a statement of its own (``Database.read_once``): on PostgreSQL one round trip,
row-level security binding it; on SQLite a synchronous read. One statement reads one
consistent state, so the version it returns is the version of the rows it returns.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Collection
from typing import Any, NamedTuple

import sqlalchemy as sa

from persistence.database import Database, account_gate
from persistence.entries import (
    account_settings_row,
    keyed_parameters,
    keyed_selects,
    user_settings_row,
)
from persistence.internal_domains import INTERNAL_SCOPE
from persistence.tables import (
    Account,
    InternalDomain,
    ListVersion,
    NeverLogEntry,
    User,
    UTCDateTime,
    utcnow,
)

# The row of the account's list version among the rows of held_rows: ``kind`` its number.
VERSION_SCOPE = "VERSION"

_ENTRIES: sa.Table = NeverLogEntry.__table__  # type: ignore[attr-defined]
_DOMAINS: sa.Table = InternalDomain.__table__  # type: ignore[attr-defined]
_ACCOUNTS: sa.Table = Account.__table__  # type: ignore[attr-defined]
_USERS: sa.Table = User.__table__  # type: ignore[attr-defined]
_VERSIONS: sa.Table = ListVersion.__table__  # type: ignore[attr-defined]


class HeldRow(NamedTuple):
    """A row of held_rows, shaped as ``persistence.entries.KeyedEntry`` and its expiry:
    an entry; an internal domain (scope INTERNAL, ``match_key`` its domain_key, without
    the ``@`` or ``*.`` that the look-up's keys carry); the account's settings
    (ACCOUNT_SETTINGS) and each user's (USER_SETTINGS), as the look-up returns them; the
    version (VERSION, ``kind`` its number)."""

    owner_id: uuid.UUID
    scope: str
    kind: str
    pattern: str
    match_key: str
    action: str
    expires_at: dt.datetime | None


def _version_row(account: Any) -> sa.Select[Any]:
    """The account's list version as one more row of a union of HeldRow's shape (scope
    VERSION, the version in the pattern's column)."""
    text = sa.literal("", sa.String)
    return sa.select(
        _VERSIONS.c.account_id,
        sa.literal(VERSION_SCOPE, sa.String),
        sa.cast(_VERSIONS.c.version, sa.String),
        text,
        text,
        text,
        sa.cast(sa.null(), UTCDateTime()),
    ).where(_VERSIONS.c.account_id == account)


def _version_and_rows(rows: list[Any]) -> tuple[int, list[HeldRow]]:
    """A union's version row (0 where the account has none yet) and its other rows."""
    version = 0
    found: list[HeldRow] = []
    for row in rows:
        if row[1] == VERSION_SCOPE:
            version = int(row[2])
        else:
            found.append(HeldRow(*row))
    return version, found


@functools.cache
def _held_statement(gated: bool) -> sa.Select[Any]:
    text = sa.literal("", sa.String)
    never = sa.cast(sa.null(), UTCDateTime())
    account = sa.bindparam("account_id", type_=sa.Uuid)
    entries = sa.select(
        _ENTRIES.c.owner_id,
        _ENTRIES.c.scope,
        _ENTRIES.c.kind,
        _ENTRIES.c.pattern,
        _ENTRIES.c.match_key,
        _ENTRIES.c.action,
        _ENTRIES.c.expires_at,
    ).where(
        _ENTRIES.c.account_id == account,
        sa.or_(_ENTRIES.c.expires_at.is_(None), _ENTRIES.c.expires_at > sa.bindparam("now")),
    )
    domains = sa.select(
        _DOMAINS.c.account_id,
        sa.literal(INTERNAL_SCOPE, sa.String),
        _DOMAINS.c.source,
        _DOMAINS.c.domain,
        _DOMAINS.c.domain_key,
        text,
        never,
    ).where(_DOMAINS.c.account_id == account)
    # the settings exactly as the look-up reads them (persistence/entries.py)
    settings = sa.select(*account_settings_row(), never).where(_ACCOUNTS.c.id == account)
    users = sa.select(*user_settings_row(), never).where(_USERS.c.account_id == account)
    version = _version_row(account)
    found = sa.union_all(entries, domains, settings, users, version).subquery()
    statement = sa.select(*found.c)
    return statement.where(account_gate()) if gated else statement


@functools.cache
def _version_statement(gated: bool) -> sa.Select[Any]:
    statement = sa.select(_VERSIONS.c.version).where(
        _VERSIONS.c.account_id == sa.bindparam("account_id", type_=sa.Uuid)
    )
    return statement.where(account_gate()) if gated else statement


async def held_rows(db: Database, account_id: uuid.UUID) -> tuple[int, list[HeldRow]]:
    """The account's list version and, as of that version, every row that a decision of
    the account could read (HeldRow), in one statement."""
    rows = await db.read_once(
        account_id,
        _held_statement(db.is_postgresql),
        {"account_id": account_id, "now": utcnow()},
    )
    return _version_and_rows(rows)


async def list_version(db: Database, account_id: uuid.UUID) -> int:
    """The account's list version (0 before its first change): one point read."""
    rows = await db.read_once(
        account_id, _version_statement(db.is_postgresql), {"account_id": account_id}
    )
    return int(rows[0][0]) if rows else 0


@functools.cache
def _keyed_rows_statement(dialect: str) -> sa.Select[Any]:
    """The look-up of persistence/entries.py (keyed_selects), each row with its expiry
    (entries only), and the account's version as one more row (scope VERSION), in one
    statement: one consistent state, so the version is that of the rows."""
    never = sa.cast(sa.null(), UTCDateTime())
    entries, *others = keyed_selects(dialect)
    version = _version_row(sa.bindparam("account_id"))
    found = sa.union_all(
        entries.add_columns(_ENTRIES.c.expires_at),
        *(select.add_columns(never) for select in others),
        version,
    ).subquery()
    statement = sa.select(*found.c)
    return statement.where(account_gate()) if dialect == "postgresql" else statement


async def keyed_rows(
    db: Database,
    account_id: uuid.UUID,
    owner_ids: Collection[uuid.UUID],
    keys: Collection[str],
) -> tuple[int, list[HeldRow]]:
    """The rows of ``persistence.entries.keyed_entries`` for these owners and keys, each
    with its expiry (HeldRow; internal domains keep the key that they answer, ``@`` or
    ``*.`` included), and the account's list version as of them, in one statement."""
    dialect = "postgresql" if db.is_postgresql else "sqlite"
    rows = await db.read_once(
        account_id,
        _keyed_rows_statement(dialect),
        keyed_parameters(dialect, account_id, owner_ids, keys),
    )
    return _version_and_rows(rows)


# Every account whose version a transaction of id ``since`` or later moved (migration
# 0012), and the oldest transaction still running at this statement's snapshot: the
# ``since`` of the next poll. A NULL ``since`` (the first poll) finds no account.
_CHANGED = sa.text(
    "SELECT CAST(pg_snapshot_xmin(pg_current_snapshot()) AS text) AS horizon, "
    "changed.account_id, changed.version "
    "FROM (SELECT 1) AS one LEFT JOIN "
    "neverlog_lists_changed_since(CAST(CAST(:since AS text) AS xid8)) AS changed ON true"
).bindparams(sa.bindparam("since", type_=sa.String))


async def changed_since(db: Database, since: str | None) -> tuple[str, list[tuple[uuid.UUID, int]]]:
    """PostgreSQL: the accounts whose list version a transaction of id ``since`` or later
    moved, with their versions, and the ``since`` of the next call (the oldest
    transaction still running at this read's snapshot): every change that this read did
    not see has an id at least that. One round trip, whatever the number of accounts.
    ``since`` None: no account, only the next ``since``."""
    # The function runs as its owner (row-level security would show one account's row);
    # the gate's account is no account's.
    rows = await db.read_once(uuid.UUID(int=0), _CHANGED, {"since": since})
    horizon = str(rows[0][0])
    changed = [(row[1], int(row[2])) for row in rows if row[1] is not None]
    return horizon, changed
