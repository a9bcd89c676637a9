"""API tokens, found by their hash."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.database import Database, account_gate, lazy_commit
from persistence.tables import Account, ApiToken, User


async def insert_token(
    *,
    session: AsyncSession,
    account_id: uuid.UUID,
    user_id: uuid.UUID,
    name: str,
    prefix: str,
    token_hash: str,
) -> ApiToken:
    token = ApiToken(
        account_id=account_id, user_id=user_id, name=name, prefix=prefix, token_hash=token_hash
    )
    session.add(token)
    await session.flush()
    return token


class TokenOwner(NamedTuple):
    """What authentication reads of a token and of the user it belongs to."""

    token_id: uuid.UUID
    token_hash: str
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    user_id: uuid.UUID
    role: str
    active: bool


_TOKENS: sa.Table = ApiToken.__table__  # type: ignore[attr-defined]
_USERS: sa.Table = User.__table__  # type: ignore[attr-defined]
# Every request runs it: built once, plain columns (no ORM objects to build), so that its
# compiled form and asyncpg's prepared statement serve every time.
_TOKEN_AND_OWNER = (
    sa.select(
        _TOKENS.c.id,
        _TOKENS.c.token_hash,
        _TOKENS.c.last_used_at,
        _TOKENS.c.revoked_at,
        _USERS.c.id,
        _USERS.c.role,
        _USERS.c.active,
    )
    .join(
        _USERS,
        sa.and_(_USERS.c.account_id == _TOKENS.c.account_id, _USERS.c.id == _TOKENS.c.user_id),
    )
    .where(
        _TOKENS.c.account_id == sa.bindparam("account_id"),
        _TOKENS.c.token_hash == sa.bindparam("token_hash"),
    )
)


async def token_and_user(
    *, session: AsyncSession, account_id: uuid.UUID, token_hash: str
) -> TokenOwner | None:
    result = await session.execute(
        _TOKEN_AND_OWNER, {"account_id": account_id, "token_hash": token_hash}
    )
    row = result.one_or_none()
    return TokenOwner(*row) if row else None


_TOKEN_AND_OWNER_GATED = _TOKEN_AND_OWNER.where(account_gate())


async def read_token_and_user(
    *, db: Database, account_id: uuid.UUID, token_hash: str
) -> TokenOwner | None:
    """``token_and_user`` in a statement of its own (``Database.read_once``): on
    PostgreSQL one round trip, row-level security binding it."""
    statement = _TOKEN_AND_OWNER_GATED if db.is_postgresql else _TOKEN_AND_OWNER
    rows = await db.read_once(
        account_id, statement, {"account_id": account_id, "token_hash": token_hash}
    )
    return TokenOwner(*rows[0]) if rows else None


_TOUCH = (
    sa.update(_TOKENS)
    .where(
        _TOKENS.c.account_id == sa.bindparam("of_account"),
        _TOKENS.c.id == sa.bindparam("of_token"),
    )
    .values(last_used_at=sa.bindparam("used_at"))
)
_TOUCH_GATED = _TOUCH.where(account_gate(), lazy_commit())


async def touch_token(
    *, db: Database, account_id: uuid.UUID, token_id: uuid.UUID, now: dt.datetime
) -> None:
    """Write the token's lastUsedAt, in a statement of its own (``Database.write_once``:
    on PostgreSQL one round trip that does not wait for the disk; lastUsedAt is kept to
    the minute, and losing the last of it in a crash of the server loses nothing a user
    saved)."""
    statement = _TOUCH_GATED if db.is_postgresql else _TOUCH
    await db.write_once(
        account_id, statement, {"of_account": account_id, "of_token": token_id, "used_at": now}
    )


async def touch_tokens(
    *, db: Database, touches: Sequence[tuple[uuid.UUID, uuid.UUID, dt.datetime]]
) -> None:
    """Write the lastUsedAt of several tokens, each (account id, token id, time): on
    SQLite in one transaction; on PostgreSQL each as ``touch_token`` writes it (a statement
    of its own for its account, row-level security binding it)."""
    if not db.is_postgresql:
        # SQLite has no account to set: one transaction, each row of its own account by
        # the statement's condition.
        params = [{"of_account": a, "of_token": t, "used_at": when} for a, t, when in touches]
        async with db.transaction(None, write=True) as session:
            await session.execute(_TOUCH, params)
        return
    for account_id, token_id, when in touches:
        await touch_token(db=db, account_id=account_id, token_id=token_id, now=when)


async def get_token(
    *, session: AsyncSession, account_id: uuid.UUID, token_id: uuid.UUID
) -> ApiToken | None:
    stmt = sa.select(ApiToken).where(ApiToken.account_id == account_id, ApiToken.id == token_id)
    return (await session.scalars(stmt)).one_or_none()


async def list_tokens(
    *, session: AsyncSession, account_id: uuid.UUID, user_id: uuid.UUID | None
) -> list[ApiToken]:
    """Every token of the account, or of one user, newest first."""
    stmt = sa.select(ApiToken).where(ApiToken.account_id == account_id)
    if user_id is not None:
        stmt = stmt.where(ApiToken.user_id == user_id)
    return list(
        await session.scalars(stmt.order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
    )  # type: ignore[attr-defined]


_ACCOUNTS: sa.Table = Account.__table__  # type: ignore[attr-defined]
# The viewer's account and user, every column of each, in one statement of its own.
_VIEWER = (
    sa.select(
        *(column.label(f"a_{column.name}") for column in _ACCOUNTS.c),
        *(column.label(f"u_{column.name}") for column in _USERS.c),
    )
    .join_from(_ACCOUNTS, _USERS, _USERS.c.account_id == _ACCOUNTS.c.id)
    .where(_ACCOUNTS.c.id == sa.bindparam("account_id"), _USERS.c.id == sa.bindparam("user_id"))
)
_VIEWER_GATED = _VIEWER.where(account_gate())
# Where the read's JSON columns stand: asyncpg hands their values over as JSON text (a read
# of read_once has no result processing); SQLite's through SQLAlchemy come decoded.
_JSON_AT = frozenset(
    n for n, column in enumerate([*_ACCOUNTS.c, *_USERS.c]) if isinstance(column.type, sa.JSON)
)


def _decoded(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


async def read_account_and_user(
    *, db: Database, account_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[Account, User] | None:
    """The account and one of its users, read in one statement of its own
    (``Database.read_once``: one round trip on PostgreSQL), as rows detached from any
    session, every column read (on SQLite too: one statement, not a look-up of each)."""
    statement = _VIEWER_GATED if db.is_postgresql else _VIEWER
    rows = await db.read_once(account_id, statement, {"account_id": account_id, "user_id": user_id})
    if not rows:
        return None
    values = [_decoded(v) if n in _JSON_AT else v for n, v in enumerate(rows[0])]
    width = len(_ACCOUNTS.c)
    account = Account(**{c.name: v for c, v in zip(_ACCOUNTS.c, values[:width], strict=True)})
    user = User(**{c.name: v for c, v in zip(_USERS.c, values[width:], strict=True)})
    return account, user
