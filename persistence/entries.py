"""Never-log entries. A list is named by its owner: the account's id for the account-wide
list, a user's id for that user's personal list."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Collection, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.database import Database, account_gate
from persistence.internal_domains import domain_parameters, keyed_domains
from persistence.pages import Page, decode_cursor, encode_cursor, fetch_page
from persistence.tables import Account, NeverLogEntry, User, utcnow

# The rows of a decision's look-up that are no entries: the account's settings (one row)
# and those of the senders (a row each), see _settings_statements.
ACCOUNT_SETTINGS_SCOPE = "ACCOUNT_SETTINGS"
USER_SETTINGS_SCOPE = "USER_SETTINGS"
SETTINGS_SCOPES = frozenset({ACCOUNT_SETTINGS_SCOPE, USER_SETTINGS_SCOPE})


def live(now: Any = None) -> Any:
    """Entries that still apply: those without an expiry, or whose expiry is still to come.
    Every read filters by it, so that an entry stops applying at its expiresAt exactly,
    whenever the sweep removes it. ``now`` is a bound parameter where given."""
    at = utcnow() if now is None else now
    return sa.or_(NeverLogEntry.expires_at.is_(None), NeverLogEntry.expires_at > at)  # type: ignore[union-attr,operator]


async def count_entries(
    *, session: AsyncSession, account_id: uuid.UUID, owner_id: uuid.UUID
) -> int:
    stmt = sa.select(sa.func.count()).where(
        NeverLogEntry.account_id == account_id, NeverLogEntry.owner_id == owner_id, live()
    )
    return int((await session.scalars(stmt)).one())


async def get_entries_by_key(
    *,
    session: AsyncSession,
    account_id: uuid.UUID,
    owner_ids: Collection[uuid.UUID],
    keys: Collection[str],
) -> list[NeverLogEntry]:
    """The entries of these lists whose match key is one of ``keys``, as rows to change
    (``get_entries`` finds them by id): one indexed query, whose cost follows the number of
    keys, not the size of the lists. A decision reads with ``keyed_entries``."""
    if not keys or not owner_ids:
        return []
    stmt = sa.select(NeverLogEntry).where(
        NeverLogEntry.account_id == account_id,
        NeverLogEntry.owner_id.in_(list(owner_ids)),  # type: ignore[attr-defined]
        _one_of(NeverLogEntry.match_key, keys, session.get_bind().dialect.name),
        live(),
    )
    return list(await session.scalars(stmt))


class KeyedEntry(NamedTuple):
    """What a decision reads of an entry. The same look-up returns, as rows of this shape,
    the internal domains (scope INTERNAL) and the settings that a decision reads: the
    account's (scope ACCOUNT_SETTINGS: ``kind`` its default capture, ``pattern`` whether it
    skips automated email, "true" or "false", ``match_key`` its automated sender names as
    JSON, "" or "null" for the default ones) and each sender's (USER_SETTINGS: ``owner_id``
    the user, ``kind`` their own capture, "" for none)."""

    owner_id: uuid.UUID
    scope: str
    kind: str
    pattern: str
    match_key: str
    action: str


_ENTRIES: sa.Table = NeverLogEntry.__table__  # type: ignore[attr-defined]
_ACCOUNTS: sa.Table = Account.__table__  # type: ignore[attr-defined]
_USERS: sa.Table = User.__table__  # type: ignore[attr-defined]
_NO_TEXT = sa.literal("", sa.String)


@functools.cache
def _keyed_statement(dialect: str) -> sa.CompoundSelect[Any]:
    """The entries of _keyed_entries_statement and, in the same statement, the account's
    internal domains that cover the keys' domains (persistence/internal_domains.py) and
    the settings of the account and of the senders (_settings_statements): a decision
    still costs one look-up."""
    return sa.union_all(*keyed_selects(dialect))


def keyed_selects(dialect: str) -> list[sa.Select[Any]]:
    """The parts of the look-up's statement, each a SELECT of the columns of KeyedEntry
    (the entries first), with the bound parameters of ``keyed_parameters``: for a reader
    that adds columns or parts of its own (persistence/held.py)."""
    domains = [select.add_columns(_NO_TEXT.label("action")) for select in keyed_domains(dialect)]
    return [_keyed_entries_statement(dialect), *domains, *_settings_statements(dialect)]


def _owners(column: Any, dialect: str) -> Any:
    """``column`` is one of the bound ``owner_ids``."""
    if dialect == "postgresql":
        # An array, not an expanding IN: the statement's text is the same for any number
        # of owners (Database.read_once compiles it once).
        return column == sa.any_(sa.bindparam("owner_ids", type_=postgresql.ARRAY(sa.Uuid)))
    # On SQLite the ids as one JSON array of their stored form (32 hex digits), for the
    # same reason.
    listed = sa.func.json_each(sa.bindparam("owner_ids", type_=sa.String))
    return column.in_(sa.select(listed.table_valued("value").c.value))


def account_settings_row() -> list[Any]:
    """The account's settings as the columns of a row shaped like an entry's (see
    KeyedEntry): its default capture as ``kind``, whether automated mail is skipped as
    ``pattern`` ("true" or "false"), the automated sender names as ``match_key``."""
    accounts = _ACCOUNTS
    return [
        accounts.c.id.label("owner_id"),
        sa.literal(ACCOUNT_SETTINGS_SCOPE, sa.String).label("scope"),
        accounts.c.default_capture.label("kind"),
        sa.case((accounts.c.skip_automated_emails, "true"), else_="false").label("pattern"),
        sa.func.coalesce(sa.cast(accounts.c.automated_sender_names, sa.Text), "").label(
            "match_key"
        ),
        _NO_TEXT.label("action"),
    ]


def user_settings_row() -> list[Any]:
    """A user's settings as the columns of a row shaped like an entry's: their default
    capture (or "") as ``kind``."""
    users = _USERS
    return [
        users.c.id.label("owner_id"),
        sa.literal(USER_SETTINGS_SCOPE, sa.String).label("scope"),
        sa.func.coalesce(users.c.default_capture, "").label("kind"),
        _NO_TEXT.label("pattern"),
        _NO_TEXT.label("match_key"),
        _NO_TEXT.label("action"),
    ]


def _settings_statements(dialect: str) -> list[sa.Select[Any]]:
    """The settings that a decision reads: the account's, found by its primary key, and
    those of the owners that are users (the senders), found by theirs."""
    account = sa.select(*account_settings_row()).where(_ACCOUNTS.c.id == sa.bindparam("account_id"))
    senders = sa.select(*user_settings_row()).where(
        _USERS.c.account_id == sa.bindparam("account_id"), _owners(_USERS.c.id, dialect)
    )
    return [account, senders]


def _keyed_entries_statement(dialect: str) -> sa.Select[Any]:
    """The look-up of every decision, built once per dialect: plain columns (no ORM objects
    to build), so that its compiled form and asyncpg's prepared statement serve every time.
    The keys are one bound parameter (see _one_of)."""
    table = _ENTRIES
    keys: Any
    if dialect == "postgresql":
        keys = table.c.match_key == sa.any_(sa.bindparam("keys", type_=postgresql.ARRAY(sa.String)))
    else:
        listed = sa.func.json_each(sa.bindparam("keys", type_=sa.String))
        keys = table.c.match_key.in_(sa.select(listed.table_valued("value").c.value))
    return sa.select(
        table.c.owner_id,
        table.c.scope,
        table.c.kind,
        table.c.pattern,
        table.c.match_key,
        table.c.action,
    ).where(
        table.c.account_id == sa.bindparam("account_id"),
        _owners(table.c.owner_id, dialect),
        keys,
        sa.or_(table.c.expires_at.is_(None), table.c.expires_at > sa.bindparam("now")),
    )


def keyed_parameters(
    dialect: str, account_id: uuid.UUID, owner_ids: Collection[uuid.UUID], keys: Collection[str]
) -> dict[str, Any]:
    at_domains, sub_domains = domain_parameters(keys)
    return {
        "account_id": account_id,
        "owner_ids": list(owner_ids)
        if dialect == "postgresql"
        else json.dumps([owner.hex for owner in owner_ids]),
        "keys": list(keys) if dialect == "postgresql" else json.dumps(list(keys)),
        "now": utcnow(),
        "at_domains": at_domains if dialect == "postgresql" else json.dumps(at_domains),
        "sub_domains": sub_domains if dialect == "postgresql" else json.dumps(sub_domains),
    }


@functools.cache
def _gated_keyed_statement() -> sa.Select[Any]:
    """The look-up of PostgreSQL with the account gate: a statement of its own."""
    found = _keyed_statement("postgresql").subquery()
    return sa.select(*found.c).where(account_gate())


async def keyed_entries(
    *,
    db: Database,
    account_id: uuid.UUID,
    owner_ids: Collection[uuid.UUID],
    keys: Collection[str],
    session: AsyncSession | None = None,
) -> list[KeyedEntry]:
    """The read of every decision: what a decision needs of the entries of these lists
    whose match key is one of ``keys``, one indexed query on (account_id, owner_id,
    match_key), whose cost follows the number of keys, not the size of the lists. The same
    statement returns the account's internal domains that answer a key, as rows of scope
    INTERNAL, and the settings of the account and of the owners that are users
    (KeyedEntry): it is made even without keys, for the settings.

    Read in ``session`` where given (a change that decides under its lock), else in a
    statement of its own (``Database.read_once``): on PostgreSQL one round trip,
    row-level security binding it; on SQLite a synchronous read of microseconds, without
    a thread hop."""
    if not owner_ids:
        return []
    if session is None:
        dialect = "postgresql" if db.is_postgresql else "sqlite"
        statement = _gated_keyed_statement() if db.is_postgresql else _keyed_statement(dialect)
        rows = await db.read_once(
            account_id, statement, keyed_parameters(dialect, account_id, owner_ids, keys)
        )
        return [KeyedEntry(*row) for row in rows]
    return await _keyed_entries_in(session, account_id, owner_ids, keys)


async def _keyed_entries_in(
    session: AsyncSession,
    account_id: uuid.UUID,
    owner_ids: Collection[uuid.UUID],
    keys: Collection[str],
) -> list[KeyedEntry]:
    dialect = session.get_bind().dialect.name
    result = await session.execute(
        _keyed_statement(dialect), keyed_parameters(dialect, account_id, owner_ids, keys)
    )
    return [KeyedEntry(*row) for row in result]


def _one_of(column: Any, values: Collection[str], dialect: str) -> Any:
    """``column IN values`` with all the values in one bound parameter. A plain IN binds
    a parameter per value, and drivers cap those (asyncpg at 32767), which the keys of a
    page of 100 large simulations pass."""
    if dialect == "postgresql":
        array = sa.bindparam(None, list(values), type_=postgresql.ARRAY(sa.String))
        return column == sa.any_(array)
    listed = sa.func.json_each(sa.bindparam(None, json.dumps(list(values)), type_=sa.String))
    return column.in_(sa.select(listed.table_valued("value").c.value))


async def insert_entries(*, session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many entries in one statement (executemany): the count of statements does not
    grow with the batch."""
    if rows:
        await session.execute(sa.insert(NeverLogEntry), list(rows))


async def save_entries(*, session: AsyncSession, rows: Sequence[NeverLogEntry]) -> None:
    """Write the changes made to entries read in this session (``get_entries``)."""
    session.add_all(rows)
    await session.flush()


async def get_entries(
    *, session: AsyncSession, account_id: uuid.UUID, entry_ids: Collection[uuid.UUID]
) -> list[NeverLogEntry]:
    if not entry_ids:
        return []
    stmt = sa.select(NeverLogEntry).where(
        NeverLogEntry.account_id == account_id,
        NeverLogEntry.id.in_(list(entry_ids)),  # type: ignore[attr-defined]
        live(),
    )
    return list(await session.scalars(stmt))


async def delete_entries(
    *, session: AsyncSession, account_id: uuid.UUID, entry_ids: Collection[uuid.UUID]
) -> None:
    if entry_ids:
        await session.execute(
            sa.delete(NeverLogEntry).where(
                NeverLogEntry.account_id == account_id,
                NeverLogEntry.id.in_(list(entry_ids)),  # type: ignore[attr-defined]
            )
        )


async def all_entries(
    *, session: AsyncSession, account_id: uuid.UUID, owner_id: uuid.UUID
) -> list[NeverLogEntry]:
    stmt = (
        sa.select(NeverLogEntry)
        .where(NeverLogEntry.account_id == account_id, NeverLogEntry.owner_id == owner_id, live())
        .order_by(NeverLogEntry.pattern)
    )
    return list(await session.scalars(stmt))


async def page_entries(
    *,
    session: AsyncSession,
    account_id: uuid.UUID,
    owner_id: uuid.UUID,
    first: int,
    after: str | None,
    search: str | None,
) -> Page[NeverLogEntry]:
    """Entries in pattern order; ``search`` keeps those whose pattern contains it."""
    conditions: list[Any] = [
        NeverLogEntry.account_id == account_id,
        NeverLogEntry.owner_id == owner_id,
        live(),
    ]
    if search:
        conditions.append(NeverLogEntry.pattern.contains(search.strip().lower(), autoescape=True))  # type: ignore[attr-defined]
    return await fetch_page(
        session,
        NeverLogEntry,
        conditions=conditions,
        after=NeverLogEntry.pattern > decode_cursor(after, 1)[0] if after else None,
        order_by=(NeverLogEntry.pattern,),
        first=first,
        cursor_of=lambda e: encode_cursor([e.pattern]),
        has_previous=after is not None,
    )
