"""The vocabulary of the decision module: scopes, kinds, channels, outcomes."""

from __future__ import annotations

import enum


class _Vocabulary(enum.Enum):
    """An enum whose members hash by identity: each member is the only one of its value
    (Enum's own hash is a Python call on the name, and a decision hashes a few per
    recipient)."""

    __hash__ = object.__hash__


class Scope(_Vocabulary):
    """Which never-log list an entry is on."""

    ACCOUNT = "ACCOUNT"
    PERSONAL = "PERSONAL"


class EntryKind(_Vocabulary):
    """What a never-log entry matches."""

    ADDRESS = "ADDRESS"
    DOMAIN = "DOMAIN"
    SUBDOMAINS = "SUBDOMAINS"


class Channel(_Vocabulary):
    """Where an email is sent from or logged by."""

    SALES_EXTENSION = "SALES_EXTENSION"
    CRM = "CRM"
    BCC = "BCC"
    FORWARDING = "FORWARDING"
    TEAM_INBOX = "TEAM_INBOX"
    INTEGRATION = "INTEGRATION"


class RecipientField(_Vocabulary):
    """The header a participant was given in: FROM for the sender of an INBOUND email."""

    FROM = "FROM"
    TO = "TO"
    CC = "CC"
    BCC = "BCC"


class Outcome(_Vocabulary):
    """What happens to one recipient of an email."""

    LOGGED = "LOGGED"
    NEVER_LOG = "NEVER_LOG"
    EXCLUDED = "EXCLUDED"
    LOGGING_OFF = "LOGGING_OFF"
    REPLY_TO_NEVER_LOG_THREAD = "REPLY_TO_NEVER_LOG_THREAD"
    NO_CONTACT = "NO_CONTACT"
    INVALID_ADDRESS = "INVALID_ADDRESS"
    INTERNAL = "INTERNAL"
    AUTOMATED = "AUTOMATED"


class CaptureLevel(_Vocabulary):
    """How much of an email the CRM keeps where it logs it: FULL > SUBJECT > METADATA."""

    FULL = "FULL"
    SUBJECT = "SUBJECT"
    METADATA = "METADATA"

    @property
    def rank(self) -> int:
        """Its place in FULL > SUBJECT > METADATA: the least capture has the lowest rank."""
        return _RANK[self]


_RANK = {CaptureLevel.METADATA: 0, CaptureLevel.SUBJECT: 1, CaptureLevel.FULL: 2}


class EntryAction(_Vocabulary):
    """What a never-log entry does to the recipients it matches."""

    NEVER_LOG = "NEVER_LOG"
    LOG_SUBJECT_ONLY = "LOG_SUBJECT_ONLY"
    LOG_METADATA_ONLY = "LOG_METADATA_ONLY"

    @property
    def capture(self) -> CaptureLevel | None:
        """The capture that an entry of this action allows a recipient it matches; None
        for NEVER_LOG (the recipient is not logged at all)."""
        return _CAPTURE_OF[self]


_CAPTURE_OF = {
    EntryAction.NEVER_LOG: None,
    EntryAction.LOG_SUBJECT_ONLY: CaptureLevel.SUBJECT,
    EntryAction.LOG_METADATA_ONLY: CaptureLevel.METADATA,
}


class EmailDirection(_Vocabulary):
    """Whether the account's user sent the email or received it."""

    OUTBOUND = "OUTBOUND"
    INBOUND = "INBOUND"


LISTS_APPLY: frozenset[Channel] = frozenset(
    {Channel.SALES_EXTENSION, Channel.CRM, Channel.BCC, Channel.FORWARDING}
)
"""The channels on which the never-log lists apply."""
