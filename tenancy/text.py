"""Free text that people type: names of users, accounts, tokens and simulations, and the
recipients of a saved simulation."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from policy.errors import ErrorCode, Problem, Refusal

MAX_NAME = 200


# Characters that no name needs and that make a name read other than it is: controls (a
# NUL, a line break), format characters (the bidirectional overrides and isolates, such as
# U+202E, which turn the text after them around, and zero-width ones), and the line and
# paragraph separators U+2028 and U+2029. Names flow into audit summaries and pages.
REFUSED_IN_NAMES = {
    "Cc": "a control character",
    "Cf": "an invisible format character (such as a bidirectional override)",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}


def checked_name(raw: str, field: Sequence[str], *, what: str = "A name") -> str:
    """The name trimmed; refused when empty, longer than 200 characters, or holding a
    character of REFUSED_IN_NAMES, named with its code point in a message that shows the
    name with such characters escaped."""
    name = raw.strip()
    if not name or len(name) > MAX_NAME:
        raise Refusal.one(
            ErrorCode.INVALID_INPUT, f"{what} must be 1 to {MAX_NAME} characters long.", field
        )
    bad = next((c for c in name if unicodedata.category(c) in REFUSED_IN_NAMES), None)
    if bad is not None:
        kind = REFUSED_IN_NAMES[unicodedata.category(bad)]
        label = unicodedata.name(bad, "")
        raise Refusal.one(
            ErrorCode.INVALID_INPUT,
            f'{what} may not hold {kind}: "{escaped(name)}" holds U+{ord(bad):04X}'
            f"{f' ({label})' if label else ''}.",
            field,
        )
    return name


def escaped(text: str) -> str:
    """``text`` with every character of REFUSED_IN_NAMES written as a \\u escape, so that
    a message quoting it shows what it holds."""
    return "".join(
        f"\\u{ord(c):04x}" if unicodedata.category(c) in REFUSED_IN_NAMES else c for c in text
    )


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
