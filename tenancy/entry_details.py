"""What an entry may carry beside its pattern: its action (what it does to the recipients
it matches), a note (why it is there) and an expiry.

A note is one line of text: no control character (a NUL, which PostgreSQL cannot store, a
line break, an escape) and no line or paragraph separator. An expiry is an instant in the
future that UTC can represent; a time without an offset is read as UTC.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from persistence.tables import utcnow
from policy import EntryAction
from policy.errors import ErrorCode, Refusal
from tenancy.text import escaped

MAX_NOTE = 500
# What a note may not hold, by Unicode category.
_REFUSED_IN_NOTES = {
    "Cc": "a control character",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}


@dataclass(frozen=True, slots=True)
class EntryDetails:
    note: str | None = None
    expires_at: dt.datetime | None = None
    action: EntryAction = EntryAction.NEVER_LOG


NONE = EntryDetails()


def checked_note(raw: str | None, field: Sequence[str]) -> str | None:
    """A note trimmed, at most MAX_NOTE characters; None where empty."""
    if raw is None:
        return None
    note = raw.strip()
    if len(note) > MAX_NOTE:
        raise Refusal.one(
            ErrorCode.INVALID_INPUT,
            f"A note may hold at most {MAX_NOTE} characters; this one holds {len(note)}.",
            field,
        )
    bad = next((c for c in note if unicodedata.category(c) in _REFUSED_IN_NOTES), None)
    if bad is not None:
        raise Refusal.one(
            ErrorCode.INVALID_INPUT,
            f"A note may not hold {_REFUSED_IN_NOTES[unicodedata.category(bad)]}: "
            f'"{escaped(note)}" holds U+{ord(bad):04X}.',
            field,
        )
    return note or None


def checked_expiry(
    value: dt.datetime | None,
    field: Sequence[str],
    *,
    now: dt.datetime | None = None,
    name: str = "expiresAt",
) -> dt.datetime | None:
    """An expiry in the future, in UTC (a time without an offset is read as UTC). A time
    that UTC cannot represent (its offset takes it past 9999-12-31 or before 0001-01-01)
    is refused, naming the value as given."""
    if value is None:
        return None
    given = value.isoformat()
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    now = now or utcnow()
    try:
        value = value.astimezone(dt.UTC)
    except OverflowError:
        # Only the first and the last day of the calendar overflow: the last lies in the
        # future but past what can be stored, the first in the past.
        if value.year == dt.MAXYEAR:
            raise Refusal.one(
                ErrorCode.INVALID_INPUT,
                f"{name} {given} cannot be represented: in UTC it lies past "
                f"{dt.datetime.max.isoformat(timespec='seconds')}Z, the latest expiry.",
                field,
            ) from None
        value = dt.datetime.min.replace(tzinfo=dt.UTC)
    if value <= now:
        raise Refusal.one(
            ErrorCode.INVALID_INPUT,
            f"{name} must lie in the future; {given} does not "
            f"(it is now {now.isoformat(timespec='seconds')}).",
            field,
        )
    return value


def checked(
    note: str | None,
    expires_at: dt.datetime | None,
    at: Sequence[str],
    action: EntryAction = EntryAction.NEVER_LOG,
) -> EntryDetails:
    """The note, expiry and action of an add (``at`` is the input's path)."""
    return EntryDetails(
        checked_note(note, [*at, "note"]), checked_expiry(expires_at, [*at, "expiresAt"]), action
    )
