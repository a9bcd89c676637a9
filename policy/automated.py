"""The names of automated senders (PRODUCT.md, "Inbound and automated email").

A stand-in until the settings' own module lands (the helper that builds the mutations
owns this file): the default names and how a local part is compared.
"""

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


def normalize_sender_name(local_part: str) -> str:
    """A local part as automated sender names compare: case, dots, hyphens and underscores
    ignored, a ``+tag`` dropped (``Do_Not.Reply+x`` is ``donotreply``)."""
    name = local_part.split("+", 1)[0].lower()
    return name.replace(".", "").replace("-", "").replace("_", "")
