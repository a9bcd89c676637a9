"""The vocabulary of the decision module: scopes, kinds, channels, outcomes."""

from __future__ import annotations

import enum


class Scope(enum.Enum):
    """Which never-log list an entry is on."""

    ACCOUNT = "ACCOUNT"
    PERSONAL = "PERSONAL"


class EntryKind(enum.Enum):
    """What a never-log entry matches."""

    ADDRESS = "ADDRESS"
    DOMAIN = "DOMAIN"
    SUBDOMAINS = "SUBDOMAINS"


class Channel(enum.Enum):
    """Where an email is sent from or logged by."""

    SALES_EXTENSION = "SALES_EXTENSION"
    CRM = "CRM"
    BCC = "BCC"
    FORWARDING = "FORWARDING"
    TEAM_INBOX = "TEAM_INBOX"
    INTEGRATION = "INTEGRATION"


class RecipientField(enum.Enum):
    """The header a recipient was given in."""

    TO = "TO"
    CC = "CC"
    BCC = "BCC"


class Outcome(enum.Enum):
    """What happens to one recipient of an email."""

    LOGGED = "LOGGED"
    NEVER_LOG = "NEVER_LOG"
    EXCLUDED = "EXCLUDED"
    LOGGING_OFF = "LOGGING_OFF"
    REPLY_TO_NEVER_LOG_THREAD = "REPLY_TO_NEVER_LOG_THREAD"
    NO_CONTACT = "NO_CONTACT"
    INVALID_ADDRESS = "INVALID_ADDRESS"


LISTS_APPLY: frozenset[Channel] = frozenset(
    {Channel.SALES_EXTENSION, Channel.CRM, Channel.BCC, Channel.FORWARDING}
)
"""The channels on which the never-log lists apply."""
