"""Keyset pagination: a page of rows after an opaque cursor, and whether more follow."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


class BadCursor(ValueError):
    """A cursor that this service did not hand out."""


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, length: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeError) as exc:
        raise BadCursor(cursor) from exc
    if not isinstance(values, list) or len(values) != length:
        raise BadCursor(cursor)
    if not all(isinstance(v, str) and _storable(v) for v in values):
        raise BadCursor(cursor)
    return values


def _storable(value: str) -> bool:
    """A string that every database takes as a parameter: JSON may carry a lone surrogate
    (not UTF-8) or a NUL (which PostgreSQL text refuses), and no cursor of ours does."""
    if "\x00" in value:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    rows: list[T]
    cursors: list[str]
    has_next: bool
    has_previous: bool
    total: int


def newest_first_cursor(created_at: dt.datetime, row_id: uuid.UUID) -> str:
    return encode_cursor([created_at.isoformat(), str(row_id)])


def older_than(created_col: Any, id_col: Any, cursor: str) -> Any:
    """The condition for rows after ``cursor`` in newest-first order (created_at, id)."""
    created_at, row_id = decode_cursor(cursor, 2)
    try:
        when = dt.datetime.fromisoformat(created_at)
        key = uuid.UUID(row_id)
        if when.tzinfo is None:
            raise BadCursor(cursor)
        # In UTC, as the column stores it: a time at the very edge of the calendar with an
        # offset (0001-01-01T00:00+01:00) has no UTC time.
        when = when.astimezone(dt.UTC)
    except (ValueError, OverflowError) as exc:
        raise BadCursor(cursor) from exc
    return sa.or_(created_col < when, sa.and_(created_col == when, id_col < key))


async def fetch_page(
    session: AsyncSession,
    model: type[T],
    *,
    conditions: Sequence[Any],
    after: Any | None,
    order_by: Sequence[Any],
    first: int,
    cursor_of: Callable[[T], str],
    has_previous: bool,
) -> Page[T]:
    """One page of ``model`` rows matching ``conditions``, after the keyset condition
    ``after``, with the total count of matching rows."""
    total = int((await session.scalars(sa.select(sa.func.count()).where(*conditions))).one())
    stmt = sa.select(model).where(*conditions)
    if after is not None:
        stmt = stmt.where(after)
    rows = list(await session.scalars(stmt.order_by(*order_by).limit(first + 1)))
    return Page(
        rows=rows[:first],
        cursors=[cursor_of(row) for row in rows[:first]],
        has_next=len(rows) > first,
        has_previous=has_previous,
        total=total,
    )
