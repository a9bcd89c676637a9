"""The email to decide and the decision, as immutable records.

They are re-exported by ``policy.decision``, where they belong to the reader.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from policy.patterns import Pattern
from policy.types import (
    CaptureLevel,
    Channel,
    EmailDirection,
    EntryAction,
    Outcome,
    RecipientField,
    Scope,
)

MAX_RECIPIENTS = 500
MAX_HEADERS = 50
LONGEST_HEADER = 1_000
"""An email carries at most MAX_HEADERS headers, each of at most LONGEST_HEADER
characters (its name and its value together)."""

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


class BadEmail(ValueError):
    """An email that cannot be decided as given: ``from`` missing on an INBOUND email or
    given on an OUTBOUND one, too many headers or one too long. ``field`` names the input
    field at fault (``from``, ``headers``)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of a never-log list."""

    scope: Scope
    pattern: Pattern
    action: EntryAction = EntryAction.NEVER_LOG


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
    direction: EmailDirection = EmailDirection.OUTBOUND
    # The address an INBOUND email came from (``from`` in the API; a keyword in Python).
    sender_address: str | None = None
    # The email's headers as (name, value), as given.
    headers: tuple[tuple[str, str], ...] = ()


class Settings(NamedTuple):
    """What the account and the sender have set that a decision reads: the account's
    ``defaultCapture``, the sender's own (None: no limit of their own), whether the
    account skips automated email, and its automated sender names as compared (None: the
    default names)."""

    account_capture: CaptureLevel = CaptureLevel.FULL
    sender_capture: CaptureLevel | None = None
    skip_automated: bool = True
    automated_names: frozenset[str] | None = None


class RecipientDecision(NamedTuple):
    """What happens to one distinct recipient, and why.

    A named tuple rather than a frozen dataclass: as immutable, and built four times as
    fast (a frozen dataclass sets each of its eleven fields through object.__setattr__),
    which an address never seen before pays (tests/bench/bench_decide.py).

    The one record of a recipient's decision: tenancy passes it on, and the schema serves
    it as the GraphQL type RecipientDecision, whose fields are these, in this order
    (schema/decisions.py)."""

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
    matched_action: EntryAction | None
    capture: CaptureLevel | None
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
            "matched_action": self.matched_action.value if self.matched_action else None,
            "capture": self.capture.value if self.capture else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RecipientDecision:
        """The inverse of ``to_dict``; ValueError where ``data`` is not one."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a recipient must be a mapping, not {type(data).__name__}.")
        scope = _optional(data, "matched_scope", str)
        outcome = Outcome(_get(data, "outcome", str))
        # A decision stored before capture levels: every entry was NEVER_LOG, and every
        # logged recipient was logged in full.
        if "capture" in data:
            action = _optional(data, "matched_action", str)
            capture = _optional(data, "capture", str)
        else:
            action = EntryAction.NEVER_LOG.value if scope is not None else None
            capture = CaptureLevel.FULL.value if outcome is Outcome.LOGGED else None
        return cls(
            address=_get(data, "address", str),
            field=RecipientField(_get(data, "field", str)),
            outcome=outcome,
            logged_to_contact=_get(data, "logged_to_contact", bool),
            contact_created=_get(data, "contact_created", bool),
            timeline_tracking=_get(data, "timeline_tracking", bool),
            associated_records_logged=_get(data, "associated_records_logged", bool),
            activity_feed_tracking=_get(data, "activity_feed_tracking", bool),
            matched_pattern=_optional(data, "matched_pattern", str),
            matched_scope=Scope(scope) if scope is not None else None,
            explanation=_get(data, "explanation", str),
            matched_action=EntryAction(action) if action is not None else None,
            capture=CaptureLevel(capture) if capture is not None else None,
        )


class Decision(NamedTuple):
    """What is logged of one email: a decision per distinct recipient. A named tuple, as
    RecipientDecision: a frozen dataclass took twice as long to build, once per email."""

    channel: Channel
    never_log_applies: bool
    email_sent: bool
    recipients: tuple[RecipientDecision, ...]
    direction: EmailDirection = EmailDirection.OUTBOUND
    automated: bool = False
    # The first condition that made the email automated (PRODUCT.md's order); or None.
    automated_reason: str | None = None

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

    @property
    def capture(self) -> CaptureLevel | None:
        """The least capture among the LOGGED recipients; None where none is logged."""
        return least_capture(self.recipients)

    @property
    def limited_count(self) -> int:
        """How many LOGGED recipients are kept less than in FULL."""
        return sum(
            1
            for r in self.recipients
            if r.outcome is Outcome.LOGGED and r.capture is not CaptureLevel.FULL
        )

    def differs_from(self, other: Decision) -> bool:
        """Whether any recipient's decision differs from ``other``'s, its wording aside:
        its outcome, what is recorded, the entry that decided or limited it, its capture."""
        return [r._replace(explanation="") for r in self.recipients] != [
            r._replace(explanation="") for r in other.recipients
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, enums as their values: for storing a decision."""
        return {
            "channel": self.channel.value,
            "never_log_applies": self.never_log_applies,
            "email_sent": self.email_sent,
            "recipients": [recipient.to_dict() for recipient in self.recipients],
            "direction": self.direction.value,
            "automated": self.automated,
            "automated_reason": self.automated_reason,
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
            direction=EmailDirection(data.get("direction") or EmailDirection.OUTBOUND.value),
            automated=bool(data.get("automated", False)),
            automated_reason=_optional(data, "automated_reason", str),
        )


def least_capture(recipients: Sequence[RecipientDecision]) -> CaptureLevel | None:
    """The least capture among the LOGGED ``recipients``; None where none is logged."""
    least: CaptureLevel | None = None
    for r in recipients:
        capture = r.capture
        if capture is not None and (least is None or capture.rank < least.rank):
            least = capture
    return least


def _get(data: Mapping[str, Any], name: str, kind: type[_T]) -> _T:
    """``data[name]``, checked to be a ``kind``."""
    value = data.get(name)
    if isinstance(value, kind):
        return value
    raise ValueError(f"{name} must be {kind.__name__}, not {type(value).__name__}.")


def _optional(data: Mapping[str, Any], name: str, kind: type[_T]) -> _T | None:
    """``data[name]``, checked to be a ``kind`` or None."""
    return None if data.get(name) is None else _get(data, name, kind)
