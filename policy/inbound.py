"""Inbound email: what may be asked about it, and whether it is automated (PRODUCT.md,
"Inbound and automated email").

An email is automated where the lists apply, the account skips automated email and the
email is INBOUND, and any of these holds (the first that does is the reason), headers
compared by name without regard to case, values trimmed and compared without regard to
case:

1. ``Auto-Submitted`` is present with a value other than ``no`` or ``auto-replied``
   (RFC 3834; its parameters after a ``;`` are not part of the value compared);
2. ``Precedence`` is ``bulk``, ``list`` or ``junk``;
3. ``List-Id`` or ``List-Unsubscribe`` is present and not empty;
4. the local part of ``from`` is one of the account's automated sender names.
"""

from __future__ import annotations

from functools import lru_cache

from policy.addresses import Address
from policy.automated import DEFAULT_AUTOMATED_SENDER_NAMES, sender_name_key
from policy.records import LONGEST_HEADER, MAX_HEADERS, BadEmail, Email
from policy.types import EmailDirection

__all__ = [
    "DEFAULT_NAMES",
    "automated_reason",
    "check_email",
    "sender_names",
]

_NOT_AUTOMATED = frozenset({"no", "auto-replied"})
_BULK = frozenset({"bulk", "list", "junk"})


@lru_cache(maxsize=256)
def sender_names(names: tuple[str, ...] | None) -> frozenset[str]:
    """The automated sender names as compared (``None``: the default ones)."""
    chosen = DEFAULT_AUTOMATED_SENDER_NAMES if names is None else names
    return frozenset(sender_name_key(name) for name in chosen)


DEFAULT_NAMES = sender_names(None)


def check_email(email: Email) -> None:
    """Raise BadEmail where the email cannot be decided as given: ``from`` missing on an
    INBOUND email or given on an OUTBOUND one, more than MAX_HEADERS headers, or one
    longer than LONGEST_HEADER (its name and value together)."""
    if email.direction is EmailDirection.INBOUND:
        if email.sender_address is None:
            raise BadEmail("An INBOUND email needs from: the address that it came from.", "from")
    elif email.sender_address is not None:
        raise BadEmail(
            "from is for an INBOUND email only: an OUTBOUND email comes from its sender "
            "(senderId).",
            "from",
        )
    headers = email.headers
    if not headers:
        return
    if len(headers) > MAX_HEADERS:
        raise BadEmail(
            f"An email may carry at most {MAX_HEADERS} headers; this one carries {len(headers)}.",
            "headers",
        )
    for index, (name, value) in enumerate(headers):
        if len(name) + len(value) > LONGEST_HEADER:
            raise BadEmail(
                f"A header may hold at most {LONGEST_HEADER:,} characters (name and value); "
                f"header {index} ({name[:40]!r}) holds {len(name) + len(value):,}.",
                "headers",
            )


def automated_reason(
    headers: tuple[tuple[str, str], ...], sender: Address | None, names: frozenset[str]
) -> str | None:
    """Why an INBOUND email with these headers, from ``sender`` (None where ``from`` is
    not a valid address), is automated, by the first condition that holds; None where
    none does. ``names`` are the account's automated sender names as ``sender_names``
    gives them. Not cached: a few µs an email, and an email's headers may be 50 KB."""
    found: dict[str, list[str]] = {}
    for name, value in headers:
        found.setdefault(name.strip().lower(), []).append(value.strip())
    for value in found.get("auto-submitted", ()):
        if value.split(";", 1)[0].strip().lower() not in _NOT_AUTOMATED:
            return f"Auto-Submitted: {value}"
    for value in found.get("precedence", ()):
        if value.lower() in _BULK:
            return f"Precedence: {value}"
    for header, name in (("list-id", "List-Id"), ("list-unsubscribe", "List-Unsubscribe")):
        for value in found.get(header, ()):
            if value:
                return f"{name}: {value}"
    if sender is not None and names and sender_name_key(sender.local) in names:
        return f"{sender.text} is an automated sender"
    return None
