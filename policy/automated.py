"""The names that mark an automated sender of inbound email (PRODUCT.md, "Inbound and
automated email"): the default list, and the form in which a sender's local part and a
name are compared."""

from __future__ import annotations

DEFAULT_AUTOMATED_SENDER_NAMES: tuple[str, ...] = (
    "noreply",
    "donotreply",
    "mailerdaemon",
    "postmaster",
    "bounce",
    "bounces",
    "notifications",
    "notification",
    "newsletter",
    "alerts",
)
"""An account's automatedSenderNames until super admins set others."""

_IGNORED = str.maketrans("", "", ".-_")


def sender_name_key(local_part: str) -> str:
    """A local part as names are compared: a ``+tag`` dropped, case, dots, hyphens and
    underscores ignored (``Do_Not.Reply+x`` and ``do-not-reply`` are ``donotreply``)."""
    return local_part.partition("+")[0].translate(_IGNORED).casefold()
