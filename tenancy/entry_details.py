"""What an entry may carry beside its pattern: a note (why it is there) and an expiry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from persistence.tables import utcnow
from tenancy.errors import ErrorCode, Refusal
from tenancy.text import refuse_nul

MAX_NOTE = 500


@dataclass(frozen=True, slots=True)
class EntryDetails:
    note: str | None = None
    expires_at: dt.datetime | None = None


NONE = EntryDetails()


def checked_note(raw: str | None, field: Sequence[str]) -> str | None:
    """A note trimmed, at most MAX_NOTE characters; None where empty."""
    if raw is None:
        return None
    refuse_nul([raw], field)
    note = raw.strip()
    if len(note) > MAX_NOTE:
        raise Refusal.one(
            ErrorCode.INVALID_INPUT,
            f"A note may hold at most {MAX_NOTE} characters; this one holds {len(note)}.",
            field,
        )
    return note or None


def checked_expiry(
    value: dt.datetime | None, field: Sequence[str], *, now: dt.datetime | None = None
) -> dt.datetime | None:
    """An expiry in the future, in UTC (a time without a zone is taken as UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    now = now or utcnow()
    if value <= now:
        raise Refusal.one(
            ErrorCode.INVALID_INPUT,
            f"expiresAt must lie in the future; {value.isoformat()} is not "
            f"(it is now {now.isoformat(timespec='seconds')}).",
            field,
        )
    return value


def checked(note: str | None, expires_at: dt.datetime | None, at: Sequence[str]) -> EntryDetails:
    """The note and expiry of an add (``at`` is the input's path)."""
    return EntryDetails(
        checked_note(note, [*at, "note"]), checked_expiry(expires_at, [*at, "expiresAt"])
    )
