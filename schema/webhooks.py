"""Webhook endpoints and their deliveries: the types, ``webhookEndpoints`` and the mutations
that keep endpoints (super admins only; tenancy/webhooks.py decides)."""

from __future__ import annotations

import builtins
import datetime as dt
import uuid

import strawberry
from strawberry.types import Info

from schema.connections import Connection, page_size
from schema.enums import WebhookDeliveryStatus, WebhookEventType
from schema.errors import UserError, signed_in_mutation
from schema.ids import decode_id, to_global_id
from schema.permissions import SIGNED_IN, Allowed, declared
from schema.types import Node
from tenancy import webhooks
from tenancy.roles import Action
from tenancy.webhooks import DeliveryView


@strawberry.type
class WebhookDelivery(Node):
    id: strawberry.ID
    event_id: str = strawberry.field(
        description="The event's id: the webhook-id header, the same in every attempt, so "
        "that a receiver can drop repeats."
    )
    event_type: WebhookEventType
    created_at: dt.datetime
    status: WebhookDeliveryStatus
    attempts: int
    last_attempt_at: dt.datetime | None
    last_response_status: int | None = strawberry.field(
        description="The HTTP status of the last attempt; null where it got no answer."
    )
    next_attempt_at: dt.datetime | None = strawberry.field(description="Null unless PENDING.")
    payload: str = strawberry.field(
        description="The JSON body as signed and sent; where the event is about another "
        "user's personal list, each entry's pattern and note read null (personal lists are "
        "private, from super admins too; the endpoint itself receives them)."
    )

    @classmethod
    def from_view(cls, view: DeliveryView) -> WebhookDelivery:
        row = view.delivery
        status = WebhookDeliveryStatus(row.status)
        return cls(
            id=to_global_id("WebhookDelivery", row.id),
            event_id=webhooks.event_id_text(row.event_id),
            event_type=WebhookEventType(row.event_type),
            created_at=row.created_at,
            status=status,
            attempts=row.attempts,
            last_attempt_at=row.last_attempt_at,
            last_response_status=row.last_response_status,
            next_attempt_at=row.next_attempt_at
            if status is WebhookDeliveryStatus.PENDING
            else None,
            payload=view.payload,
        )


@strawberry.type(
    description="An HTTPS endpoint of the account's that is told, signed after the Standard "
    "Webhooks specification (headers webhook-id, webhook-timestamp, webhook-signature), of "
    "changes that a CRM must act on: e.g. remove what it already logged for recipients that "
    "are now never logged."
)
class WebhookEndpoint(Node):
    id: strawberry.ID
    url: str
    description: str | None
    event_types: list[WebhookEventType]
    enabled: bool = strawberry.field(
        description="False once a super admin disabled it, or it answered 410 Gone."
    )
    created_at: dt.datetime
    row_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: webhooks.Endpoint) -> WebhookEndpoint:
        return cls(
            id=to_global_id("WebhookEndpoint", row.id),
            url=row.url,
            description=row.description,
            event_types=[WebhookEventType(t) for t in row.event_types],
            enabled=row.enabled,
            created_at=row.created_at,
            row_id=row.id,
        )

    @strawberry.field(
        extensions=[declared(Allowed(Action.SEE_WEBHOOK_DELIVERIES))],
        description="Deliveries to this endpoint, newest first.",
    )
    async def deliveries(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[WebhookDelivery]:
        page = await webhooks.page_deliveries(
            info.context.db,
            info.context.signed_in,
            endpoint_id=self.row_id,
            first=page_size(first),
            after=after,
        )
        return Connection.from_page(page, WebhookDelivery.from_view)


@strawberry.type
class WebhookQuery:
    @strawberry.field(
        permission_classes=SIGNED_IN,
        extensions=[declared(Allowed(Action.SEE_WEBHOOK_ENDPOINTS))],
        description="The account's webhook endpoints (super admins only: FORBIDDEN otherwise).",
    )
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpoint]:
        rows = await webhooks.list_endpoints(info.context.db, info.context.signed_in)
        return [WebhookEndpoint.from_row(row) for row in rows]


def _errors() -> list[UserError]:
    errors: list[UserError] = strawberry.field(default_factory=list)
    return errors


@strawberry.input
class CreateWebhookEndpointInput:
    url: str = strawberry.field(
        description="https://…; plain http only to loopback addresses outside production."
    )
    description: str | None = None
    event_types: list[WebhookEventType] | None = strawberry.field(
        default=None, description="What to send; every type when omitted."
    )


@strawberry.type
class CreateWebhookEndpointPayload:
    secret: str | None = strawberry.field(
        default=None, description="The signing secret (whsec_…), shown this once."
    )
    endpoint: WebhookEndpoint | None = None
    user_errors: builtins.list[UserError] = _errors()


@strawberry.input
class UpdateWebhookEndpointInput:
    id: strawberry.ID
    url: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    event_types: list[WebhookEventType] | None = strawberry.UNSET
    enabled: bool | None = strawberry.UNSET


@strawberry.type
class UpdateWebhookEndpointPayload:
    endpoint: WebhookEndpoint | None = None
    user_errors: builtins.list[UserError] = _errors()


@strawberry.input
class DeleteWebhookEndpointInput:
    id: strawberry.ID


@strawberry.type
class DeleteWebhookEndpointPayload:
    deleted_id: strawberry.ID | None = None
    user_errors: builtins.list[UserError] = _errors()


@strawberry.input
class RedeliverWebhookInput:
    delivery_id: strawberry.ID = strawberry.field(
        description="A delivery of any status: its event is sent again, with the same "
        "eventId, as a new PENDING delivery."
    )


@strawberry.type
class RedeliverWebhookPayload:
    delivery: WebhookDelivery | None = None
    user_errors: builtins.list[UserError] = _errors()


def _given(value: object) -> bool:
    return value is not strawberry.UNSET and value is not None


@strawberry.type
class WebhookMutation:
    @signed_in_mutation(permission=Allowed(Action.KEEP_WEBHOOK_ENDPOINTS))
    async def create_webhook_endpoint(
        self, info: Info, input: CreateWebhookEndpointInput
    ) -> CreateWebhookEndpointPayload:
        ctx = info.context
        new = await webhooks.create_endpoint(
            ctx.db,
            ctx.signed_in,
            url=input.url,
            description=input.description,
            event_types=input.event_types,
            plain_http=ctx.limits.webhook_plain_http,
        )
        return CreateWebhookEndpointPayload(
            secret=new.secret, endpoint=WebhookEndpoint.from_row(new.endpoint)
        )

    @signed_in_mutation(permission=Allowed(Action.KEEP_WEBHOOK_ENDPOINTS))
    async def update_webhook_endpoint(
        self, info: Info, input: UpdateWebhookEndpointInput
    ) -> UpdateWebhookEndpointPayload:
        ctx = info.context
        description = input.description
        updated = await webhooks.update_endpoint(
            ctx.db,
            ctx.signed_in,
            endpoint_id=decode_id(input.id, "WebhookEndpoint"),
            url=input.url if _given(input.url) else None,
            description=webhooks.KEEP if description is strawberry.UNSET else description,
            event_types=input.event_types if _given(input.event_types) else None,
            enabled=input.enabled if _given(input.enabled) else None,
            plain_http=ctx.limits.webhook_plain_http,
        )
        return UpdateWebhookEndpointPayload(endpoint=WebhookEndpoint.from_row(updated))

    @signed_in_mutation(permission=Allowed(Action.KEEP_WEBHOOK_ENDPOINTS))
    async def delete_webhook_endpoint(
        self, info: Info, input: DeleteWebhookEndpointInput
    ) -> DeleteWebhookEndpointPayload:
        ctx = info.context
        deleted = await webhooks.delete_endpoint(
            ctx.db, ctx.signed_in, endpoint_id=decode_id(input.id, "WebhookEndpoint")
        )
        return DeleteWebhookEndpointPayload(deleted_id=to_global_id("WebhookEndpoint", deleted))

    @signed_in_mutation(permission=Allowed(Action.KEEP_WEBHOOK_ENDPOINTS))
    async def redeliver_webhook(
        self, info: Info, input: RedeliverWebhookInput
    ) -> RedeliverWebhookPayload:
        ctx = info.context
        view = await webhooks.redeliver(
            ctx.db, ctx.signed_in, delivery_id=decode_id(input.delivery_id, "WebhookDelivery")
        )
        return RedeliverWebhookPayload(delivery=WebhookDelivery.from_view(view))
