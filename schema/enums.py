"""The domain's enums are the GraphQL enums, under the contract's names: the schema serves
the values that tenancy and policy use, with no second vocabulary and no conversion."""

from __future__ import annotations

import strawberry

from policy import (
    CaptureLevel,
    Channel,
    EmailDirection,
    EntryAction,
    EntryKind,
    Outcome,
    RecipientField,
    Scope,
)
from policy.errors import ErrorCode
from tenancy.audit import AuditAction
from tenancy.internal_domains import InternalDomainSource
from tenancy.lists import ImportMode
from tenancy.roles import Role
from tenancy.webhooks import WebhookDeliveryStatus, WebhookEventType

# strawberry.enum(C) returns C itself, marked as a GraphQL enum of that name.
for domain_enum, name in (
    (Role, "Role"),
    (Scope, "NeverLogScope"),
    (EntryKind, "NeverLogEntryKind"),
    (AuditAction, "AuditAction"),
    (ImportMode, "ImportMode"),
    (ErrorCode, "UserErrorCode"),
    (Channel, "EmailChannel"),
    (RecipientField, "RecipientField"),
    (Outcome, "RecipientOutcome"),
    (WebhookDeliveryStatus, "WebhookDeliveryStatus"),
):
    strawberry.enum(domain_enum, name=name)
strawberry.enum(
    CaptureLevel,
    name="CaptureLevel",
    description="How much of an email the CRM keeps where it logs it: FULL > SUBJECT > METADATA.",
)
strawberry.enum(
    EntryAction,
    name="EntryAction",
    description="What a never-log entry does to the recipients it matches.",
)
strawberry.enum(
    EmailDirection,
    name="EmailDirection",
    description="Whether the account's user sent the email or received it.",
)
strawberry.enum(
    WebhookEventType,
    name="WebhookEventType",
    description='What a webhook endpoint is told about. The event body\'s "type" is given '
    "beside each value.",
)


def _describe(enum: type, descriptions: dict[str, str]) -> None:
    """Describe an enum's values in the schema, where the domain's enum (which imports no
    Strawberry) cannot."""
    for value in enum.__strawberry_definition__.values:  # type: ignore[attr-defined]
        value.description = descriptions[value.name]


_describe(
    WebhookEventType,
    {
        "NEVER_LOG_ENTRIES_ADDED": "never_log.entries_added: entries were added to a list "
        "(by a call or an import).",
        "NEVER_LOG_ENTRIES_REMOVED": "never_log.entries_removed: entries were removed from a "
        "list (by a call or an import).",
        "NEVER_LOG_ENTRIES_EXPIRED": "never_log.entries_expired: entries reached their "
        "expiresAt and stopped applying.",
        "INTERNAL_DOMAINS_CHANGED": "internal_domains.changed: the account's internal "
        "domains changed.",
        "NEVER_LOG_ENTRIES_UPDATED": "never_log.entries_updated: entries' action, note or "
        "expiry changed.",
        "ACCOUNT_SETTINGS_CHANGED": "account.settings_changed: the account's defaultCapture, "
        "skipAutomatedEmails or automatedSenderNames changed.",
        "USER_SETTINGS_CHANGED": "user.settings_changed: a user's own defaultCapture changed.",
    },
)
_describe(
    CaptureLevel,
    {
        "FULL": "The whole email: subject, body and attachments.",
        "SUBJECT": "Sender, recipients, date and subject; no body, no attachments.",
        "METADATA": "Only that the email was exchanged: sender, recipients and date; no "
        "subject, no body.",
    },
)
_describe(
    EntryAction,
    {
        "NEVER_LOG": "Not logged at all: no contact record, no timeline tracking (the default).",
        "LOG_SUBJECT_ONLY": "Logged, but the CRM keeps only sender, recipients, date and "
        "subject (capture SUBJECT).",
        "LOG_METADATA_ONLY": "Logged, but the CRM keeps only sender, recipients and date "
        "(capture METADATA).",
    },
)
_describe(
    EmailDirection,
    {
        "OUTBOUND": "Sent by the account's user (senderId) to the recipients.",
        "INBOUND": "Received by the account's user (senderId) from the address in from.",
    },
)
_describe(
    WebhookDeliveryStatus,
    {
        "PENDING": "Not yet accepted by the endpoint; nextAttemptAt says when it is tried again.",
        "DELIVERED": "The endpoint answered 2xx.",
        "FAILED": "Every attempt failed, or the endpoint was disabled or answered 410 Gone: "
        "no more attempts.",
    },
)


__all__ = [
    "AuditAction",
    "CaptureLevel",
    "Channel",
    "EmailDirection",
    "EntryAction",
    "EntryKind",
    "ErrorCode",
    "ImportMode",
    "InternalDomainSource",
    "Outcome",
    "RecipientField",
    "Role",
    "Scope",
    "WebhookDeliveryStatus",
    "WebhookEventType",
]
