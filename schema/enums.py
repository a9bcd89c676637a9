"""The domain's enums are the GraphQL enums, under the contract's names: the schema serves
the values that tenancy and policy use, with no second vocabulary and no conversion."""

from __future__ import annotations

import strawberry

from policy import Channel, EntryKind, Outcome, RecipientField, Scope
from tenancy.audit import AuditAction
from tenancy.errors import ErrorCode
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
    WebhookEventType,
    name="WebhookEventType",
    description='What a webhook endpoint is told about. The event body\'s "type" is given '
    "beside each value.",
)

__all__ = [
    "AuditAction",
    "Channel",
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
