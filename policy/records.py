"""The email to decide and the decision, as immutable records.

They are re-exported by ``policy.decision``, where they belong to the reader.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from policy.patterns import Pattern
from policy.types import Channel, Outcome, RecipientField, Scope

MAX_RECIPIENTS = 500

_T = TypeVar("_T")


class TooManyRecipients(ValueError):
    """An email with more distinct recipients than MAX_RECIPIENTS."""

    def __init__(self, count: int, limit: int = MAX_RECIPIENTS, *, original: bool = False) -> None:
        email = "The original email" if original else "An email"
        super().__init__(
            f"{email} may have at most {limit} distinct recipients; this one has {count}."
        )
        self.count = count
        self.limit = limit


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of a never-log list."""

    scope: Scope
    pattern: Pattern


@dataclass(frozen=True, slots=True)
class OriginalEmail:
    """The recipients of the email that a reply answers."""

    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()


class Email(NamedTuple):
    """An email to decide, with the sender's choices for it.

    A named tuple rather than a frozen dataclass, as RecipientDecision: every email that a
    request decides is built once, and a frozen dataclass of nine fields took 0.9 µs to
    build, a named tuple 0.4."""

    channel: Channel
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    log_to_crm: bool = True
    create_new_contacts: bool = True
    excluded_recipients: tuple[str, ...] = ()
    existing_contacts: tuple[str, ...] = ()
    in_reply_to: OriginalEmail | None = None


class RecipientDecision(NamedTuple):
    """What happens to one distinct recipient, and why.

    A named tuple rather than a frozen dataclass: as immutable, and built four times as
    fast (a frozen dataclass sets each of its eleven fields through object.__setattr__),
    which an address never seen before pays (tests/bench/bench_decide.py)."""

    address: str
    field: RecipientField
    outcome: Outcome
    logged_to_contact: bool
    contact_created: bool
    timeline_tracking: bool
    associated_records_logged: bool
    activity_feed_tracking: bool
    matched_pattern: str | None
    matched_scope: Scope | None
    explanation: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, enums as their values."""
        return {
            "address": self.address,
            "field": self.field.value,
            "outcome": self.outcome.value,
            "logged_to_contact": self.logged_to_contact,
            "contact_created": self.contact_created,
            "timeline_tracking": self.timeline_tracking,
            "associated_records_logged": self.associated_records_logged,
            "activity_feed_tracking": self.activity_feed_tracking,
            "matched_pattern": self.matched_pattern,
            "matched_scope": self.matched_scope.value if self.matched_scope else None,
            "explanation": self.explanation,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RecipientDecision:
        """The inverse of ``to_dict``; ValueError where ``data`` is not one."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a recipient must be a mapping, not {type(data).__name__}.")
        scope = _optional(data, "matched_scope", str)
        return cls(
            address=_get(data, "address", str),
            field=RecipientField(_get(data, "field", str)),
            outcome=Outcome(_get(data, "outcome", str)),
            logged_to_contact=_get(data, "logged_to_contact", bool),
            contact_created=_get(data, "contact_created", bool),
            timeline_tracking=_get(data, "timeline_tracking", bool),
            associated_records_logged=_get(data, "associated_records_logged", bool),
            activity_feed_tracking=_get(data, "activity_feed_tracking", bool),
            matched_pattern=_optional(data, "matched_pattern", str),
            matched_scope=Scope(scope) if scope is not None else None,
            explanation=_get(data, "explanation", str),
        )


class Decision(NamedTuple):
    """What is logged of one email: a decision per distinct recipient. A named tuple, as
    RecipientDecision: a frozen dataclass took twice as long to build, once per email."""

    channel: Channel
    never_log_applies: bool
    email_sent: bool
    recipients: tuple[RecipientDecision, ...]

    @property
    def logged_count(self) -> int:
        """How many recipients are LOGGED."""
        return sum(1 for r in self.recipients if r.outcome is Outcome.LOGGED)

    @property
    def never_log_count(self) -> int:
        """How many recipients are NEVER_LOG."""
        return sum(1 for r in self.recipients if r.outcome is Outcome.NEVER_LOG)

    @property
    def internal_count(self) -> int:
        """How many recipients are INTERNAL (colleagues)."""
        return sum(1 for r in self.recipients if r.outcome is Outcome.INTERNAL)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, enums as their values: for storing a decision."""
        return {
            "channel": self.channel.value,
            "never_log_applies": self.never_log_applies,
            "email_sent": self.email_sent,
            "recipients": [recipient.to_dict() for recipient in self.recipients],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decision:
        """The inverse of ``to_dict``; ValueError where ``data`` is not one."""
        recipients = _get(data, "recipients", list)
        return cls(
            channel=Channel(_get(data, "channel", str)),
            never_log_applies=_get(data, "never_log_applies", bool),
            email_sent=_get(data, "email_sent", bool),
            recipients=tuple(RecipientDecision.from_dict(r) for r in recipients),
        )


def _get(data: Mapping[str, Any], name: str, kind: type[_T]) -> _T:
    """``data[name]``, checked to be a ``kind``."""
    value = data.get(name)
    if isinstance(value, kind):
        return value
    raise ValueError(f"{name} must be {kind.__name__}, not {type(value).__name__}.")


def _optional(data: Mapping[str, Any], name: str, kind: type[_T]) -> _T | None:
    """``data[name]``, checked to be a ``kind`` or None."""
    return None if data.get(name) is None else _get(data, name, kind)
