"""Free text that people type: names of users, accounts, tokens and simulations, and the
recipients of a saved simulation."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from tenancy.errors import ErrorCode, Problem, Refusal

MAX_NAME = 200


def checked_name(raw: str, field: Sequence[str], *, what: str = "A name") -> str:
    """The name trimmed; refused when empty, longer than 200 characters, or holding a
    control character (a NUL, a line break...), which no name needs and PostgreSQL cannot
    always store."""
    name = raw.strip()
    if not name or len(name) > MAX_NAME:
        raise Refusal.one(
            ErrorCode.INVALID_INPUT, f"{what} must be 1 to {MAX_NAME} characters long.", field
        )
    control = next((c for c in name if unicodedata.category(c) == "Cc"), None)
    if control is not None:
        raise Refusal.one(
            ErrorCode.INVALID_INPUT,
            f"{what} may not hold a control character (U+{ord(control):04X}).",
            field,
        )
    return name


def refuse_nul(values: Sequence[str], field: Sequence[str]) -> None:
    """Addresses to be saved: one holding a NUL (U+0000) is refused, as PostgreSQL cannot
    store it; every such value is named."""
    problems = [
        Problem(
            ErrorCode.INVALID_ADDRESS,
            f'"{_visible(value.strip())}" is not a valid email address: '
            "it holds the NUL character (U+0000).",
            (*field, str(index)),
        )
        for index, value in enumerate(values)
        if "\x00" in value
    ]
    if problems:
        raise Refusal(problems)


def _visible(value: str) -> str:
    return value.replace("\x00", "\\u0000")
