"""The errors of the domain. Every refusal of a change is a ``Refusal`` carrying one or
more ``Problem``s; the schema turns them into ``userErrors`` (mutations) or top-level
errors (queries) in one place.

    Exception
    └── Refusal                 a change refused: nothing was saved
        └── Forbidden           the viewer's role does not allow it
    ValueError
    └── TooManyRecipients       (policy) an email with more than 500 distinct recipients
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass


class ErrorCode(enum.Enum):
    INVALID_PATTERN = "INVALID_PATTERN"
    INVALID_ADDRESS = "INVALID_ADDRESS"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    TOO_MANY_VALUES = "TOO_MANY_VALUES"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    LAST_SUPER_ADMIN = "LAST_SUPER_ADMIN"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    INVALID_INPUT = "INVALID_INPUT"


@dataclass(frozen=True, slots=True)
class Problem:
    code: ErrorCode
    message: str
    field: tuple[str, ...] | None = None


class Refusal(Exception):
    """A change that was refused as a whole; nothing of it was saved."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(p.message for p in self.problems))

    @classmethod
    def one(cls, code: ErrorCode, message: str, field: Sequence[str] | None = None) -> Refusal:
        return cls([Problem(code, message, tuple(field) if field is not None else None)])


class Forbidden(Refusal):
    def __init__(self, message: str = "Your role does not allow this.") -> None:
        super().__init__([Problem(ErrorCode.FORBIDDEN, message)])


def not_found(what: str, field: Sequence[str]) -> Refusal:
    """The same answer for an ID of another account as for one that never existed."""
    return Refusal.one(ErrorCode.NOT_FOUND, f"No {what} with this ID.", field)
