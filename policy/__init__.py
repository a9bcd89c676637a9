"""Never Log's decision module: patterns, canonical forms, matching, decisions.

Pure functions over immutable values: no I/O, nothing of the rest of the
project. The errors it raises::

    ValueError
    ├── PatternError       a never-log pattern that is not valid (parse_pattern)
    ├── DomainError        an internal domain that is not valid (parse_domain)
    ├── TooManyRecipients  more than MAX_RECIPIENTS distinct recipients
    │                      (decide, lookup_keys, read_email)
    └── BadEmail           an email that cannot be decided as given: from missing on an
                           INBOUND email or given on an OUTBOUND one, more than
                           MAX_HEADERS headers or one too long (decide, read_email)

``Decision.from_dict`` raises a plain ValueError for data that it did not write.

Beside it, ``policy.errors`` is the service's error vocabulary, a leaf that every floor
imports: every code a client reads, the exceptions the floors raise, and the table of
their HTTP answers (api/errors.py and schema/errors.py write the answers).
"""

from __future__ import annotations

from policy.addresses import Address, parse_address
from policy.decision import (
    MAX_RECIPIENTS,
    BadEmail,
    Decision,
    Email,
    Entry,
    Lists,
    OriginalEmail,
    ReadEmail,
    RecipientDecision,
    Settings,
    TooManyRecipients,
    decide,
    decide_by,
    keys_of,
    lists_of,
    lookup_keys,
    read_email,
)
from policy.domains import Domain, DomainError, address_domain, parse_domain
from policy.patterns import Pattern, PatternError, parse_pattern, split_patterns
from policy.records import LONGEST_HEADER, MAX_HEADERS
from policy.syntax import parse_points
from policy.types import (
    LISTS_APPLY,
    CaptureLevel,
    Channel,
    EmailDirection,
    EntryAction,
    EntryKind,
    Outcome,
    RecipientField,
    Scope,
)

__all__ = [
    "LISTS_APPLY",
    "LONGEST_HEADER",
    "MAX_HEADERS",
    "MAX_RECIPIENTS",
    "Address",
    "BadEmail",
    "CaptureLevel",
    "Channel",
    "Decision",
    "Domain",
    "DomainError",
    "Email",
    "EmailDirection",
    "Entry",
    "EntryAction",
    "EntryKind",
    "Lists",
    "OriginalEmail",
    "Outcome",
    "Pattern",
    "PatternError",
    "ReadEmail",
    "RecipientDecision",
    "RecipientField",
    "Scope",
    "Settings",
    "TooManyRecipients",
    "address_domain",
    "decide",
    "decide_by",
    "keys_of",
    "lists_of",
    "lookup_keys",
    "parse_address",
    "parse_domain",
    "parse_pattern",
    "parse_points",
    "read_email",
    "split_patterns",
]
