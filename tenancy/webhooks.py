"""Webhooks: the account's endpoints, kept by super admins, and the outbox of events.

An event is written by ``record_event`` in the transaction of the change it reports, with a
pending delivery to every enabled endpoint that wants its type: a change is never without
its event, nor an event without its change, whichever process dies when. The workers of
tenancy/delivery.py send the deliveries, at least once.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import ipaddress
import json
import secrets
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from persistence import accounts, audit, webhooks
from persistence.database import Database
from persistence.pages import Page
from persistence.tables import NeverLogEntry, WebhookDelivery, WebhookEndpoint, new_id, utcnow
from policy import Scope
from policy.errors import ErrorCode, Refusal, not_found
from tenancy import live
from tenancy.audit import AuditAction
from tenancy.roles import Action, Viewer, actor_now, check

MAX_ENDPOINTS = 10
MAX_URL = 2000
MAX_DESCRIPTION = 500
SECRET_PREFIX = "whsec_"
Endpoint = WebhookEndpoint  # what the schema reads of an endpoint


class WebhookEventType(enum.Enum):
    """What an endpoint is told about; ``type_name`` is the event body's "type"."""

    NEVER_LOG_ENTRIES_ADDED = "NEVER_LOG_ENTRIES_ADDED"
    NEVER_LOG_ENTRIES_REMOVED = "NEVER_LOG_ENTRIES_REMOVED"
    NEVER_LOG_ENTRIES_EXPIRED = "NEVER_LOG_ENTRIES_EXPIRED"
    INTERNAL_DOMAINS_CHANGED = "INTERNAL_DOMAINS_CHANGED"
    NEVER_LOG_ENTRIES_UPDATED = "NEVER_LOG_ENTRIES_UPDATED"
    ACCOUNT_SETTINGS_CHANGED = "ACCOUNT_SETTINGS_CHANGED"
    USER_SETTINGS_CHANGED = "USER_SETTINGS_CHANGED"

    @property
    def type_name(self) -> str:
        return _TYPE_NAMES[self]


_TYPE_NAMES: Final = {
    WebhookEventType.NEVER_LOG_ENTRIES_ADDED: "never_log.entries_added",
    WebhookEventType.NEVER_LOG_ENTRIES_REMOVED: "never_log.entries_removed",
    WebhookEventType.NEVER_LOG_ENTRIES_EXPIRED: "never_log.entries_expired",
    WebhookEventType.INTERNAL_DOMAINS_CHANGED: "internal_domains.changed",
    WebhookEventType.NEVER_LOG_ENTRIES_UPDATED: "never_log.entries_updated",
    WebhookEventType.ACCOUNT_SETTINGS_CHANGED: "account.settings_changed",
    WebhookEventType.USER_SETTINGS_CHANGED: "user.settings_changed",
}


class WebhookDeliveryStatus(enum.Enum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


def global_id(type_name: str, row_id: uuid.UUID) -> str:
    """The GraphQL global ID of a row, as schema/ids.py makes it (bodies carry these)."""
    raw = f"{type_name}:{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def event_id_text(event_id: uuid.UUID) -> str:
    """The event's id as the webhook-id header and ``eventId`` give it."""
    return f"msg_{event_id.hex}"


def _timestamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# -- the outbox ---------------------------------------------------------------------------


async def record_event(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    event_type: WebhookEventType,
    data: dict[str, Any],
) -> None:
    """Write an event (``data`` beside ``accountId`` and ``sequence``) in the caller's
    transaction, with a delivery due at once to each enabled endpoint that wants it. An
    account without such an endpoint keeps no event. Call it after the change's own locks
    are taken: the account's sequence counter stays locked until the transaction ends."""
    endpoints = [
        e
        for e in await webhooks.list_endpoints(session=session, account_id=account_id)
        if e.enabled and event_type.value in e.event_types
    ]
    if not endpoints:
        return
    sequence = await webhooks.next_sequence(session=session, account_id=account_id)
    now = utcnow()
    body = {
        "type": event_type.type_name,
        "timestamp": _timestamp(now),
        "data": {"accountId": global_id("Account", account_id), "sequence": sequence, **data},
    }
    await webhooks.insert_event(
        session=session,
        account_id=account_id,
        event_id=new_id(),
        sequence=sequence,
        event_type=event_type.value,
        payload=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        created_at=now,
        endpoint_ids=[e.id for e in endpoints],
        # a paused endpoint (one that keeps timing out) gets it when its pause ends
        due_at={e.id: e.paused_until for e in endpoints if e.paused_until is not None},
    )


def entry_data(entry: NeverLogEntry) -> dict[str, Any]:
    expires_at = getattr(entry, "expires_at", None)
    return {
        "id": global_id("NeverLogEntry", entry.id),
        "pattern": entry.pattern,
        "kind": entry.kind,
        "note": getattr(entry, "note", None),
        "expiresAt": _timestamp(expires_at) if isinstance(expires_at, dt.datetime) else None,
        "action": getattr(entry, "action", None) or "NEVER_LOG",
    }


async def record_entries_event(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    event_type: WebhookEventType,
    scope: Scope,
    owner_id: uuid.UUID | None,
    entries: Sequence[NeverLogEntry],
) -> None:
    """A list event: ``owner_id`` is the personal list's user (None for the account-wide
    list). Personal lists are private from users, not from the account's integrations: a
    CRM must purge what it logged for them."""
    if not entries:
        return
    # Live subscriptions are told of every list event, endpoints or not (tenancy/live.py).
    await live.record(
        session,
        account_id=account_id,
        event_type=event_type.value,
        scope=scope,
        owner_id=owner_id,
        patterns=[e.pattern for e in entries],
    )
    await record_event(
        session,
        account_id=account_id,
        event_type=event_type,
        data={
            "scope": scope.value,
            "ownerId": global_id("User", owner_id)
            if scope is Scope.PERSONAL and owner_id is not None
            else None,
            "entries": [entry_data(e) for e in entries],
        },
    )


# -- endpoints ----------------------------------------------------------------------------


class _Keep(enum.Enum):
    KEEP = "KEEP"


KEEP: Final = _Keep.KEEP  # an update's field that was not given


@dataclass(frozen=True, slots=True)
class NewEndpoint:
    secret: str
    endpoint: WebhookEndpoint


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """A delivery as its viewer may read it: ``payload`` is the body as sent, or where the
    event is about another user's personal list, the body with each entry's pattern and
    note null (made by ``_view`` only)."""

    delivery: WebhookDelivery
    payload: str


def visible_payload(viewer: Viewer, body: str) -> str:
    """The body of an event as ``viewer`` may read it through the API. The endpoint receives
    a personal list's patterns (an integration must purge what it logged for them); a super
    admin reading the delivery log is a user, from whom another user's personal list is
    private: there each entry's ``pattern`` and ``note`` read null. Anything else is the
    body exactly as signed and sent."""
    if '"PERSONAL"' not in body:  # most events: no need to read the body
        return body
    event = json.loads(body)
    data = event.get("data") if isinstance(event, dict) else None
    if (
        not isinstance(data, dict)
        or data.get("scope") != Scope.PERSONAL.value
        or data.get("ownerId") == global_id("User", viewer.user_id)
    ):
        return body
    for entry in data.get("entries") or ():
        if isinstance(entry, dict):
            entry["pattern"] = None
            entry["note"] = None
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


def _view(viewer: Viewer, delivery: WebhookDelivery, body: str) -> DeliveryView:
    return DeliveryView(delivery=delivery, payload=visible_payload(viewer, body))


def new_secret() -> str:
    """``whsec_`` and the base64 of 32 random bytes, as Standard Webhooks' libraries read it."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _refuse(message: str, *field: str) -> Refusal:
    return Refusal.one(ErrorCode.INVALID_INPUT, message, ["input", *field])


def checked_url(raw: str, *, plain_http: bool) -> str:
    """The URL trimmed; https://, or http:// to a loopback address where ``plain_http``."""
    url = raw.strip()
    if len(url) > MAX_URL:
        raise _refuse(f"A webhook URL may be at most {MAX_URL} characters long.", "url")
    if any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in url):
        raise _refuse(f'"{url!s:.200}" is not a valid URL: it holds white space.', "url")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        raise _refuse(f'"{url:.200}" is not a valid URL.', "url") from None
    if parts.scheme not in ("https", "http") or not host:
        raise _refuse(f'"{url:.200}" is not an https:// URL.', "url")
    if parts.username is not None or parts.password is not None:
        raise _refuse(f'"{url:.200}" carries credentials: a webhook URL may not.', "url")
    if parts.scheme == "http":
        if not plain_http:
            raise _refuse(f'"{url:.200}" is plain http: webhooks need https:// here.', "url")
        if not _is_loopback(host):
            raise _refuse(
                f'"{url:.200}" is plain http to {host}: plain http is only for a loopback '
                "address (127.0.0.1, ::1, localhost); use https://.",
                "url",
            )
    return url


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _checked_description(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if len(text) > MAX_DESCRIPTION:
        raise _refuse(
            f"A description may be at most {MAX_DESCRIPTION} characters long; "
            f"this one has {len(text)}.",
            "description",
        )
    bad = next((c for c in text if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")), None)
    if bad is not None:
        raise _refuse(
            f"A description may not hold a control or formatting character (U+{ord(bad):04X}).",
            "description",
        )
    return text


def _checked_types(types: Sequence[WebhookEventType] | None) -> list[str]:
    if types is None:
        return [t.value for t in WebhookEventType]
    if not types:
        raise _refuse(
            "Name at least one event type, or leave eventTypes out for every type.", "eventTypes"
        )
    return [t.value for t in WebhookEventType if t in set(types)]


async def create_endpoint(
    db: Database,
    viewer: Viewer,
    *,
    url: str,
    description: str | None,
    event_types: Sequence[WebhookEventType] | None,
    plain_http: bool,
) -> NewEndpoint:
    url = checked_url(url, plain_http=plain_http)
    text = _checked_description(description)
    types = _checked_types(event_types)
    secret = new_secret()
    async with db.transaction(viewer.account_id, write=True) as session:
        # The account's row is the lock that holds the limit under concurrent calls.
        await accounts.lock_account(session=session, account_id=viewer.account_id)
        # The role at the moment of the change, after the account's lock, which user
        # changes take first too (tenancy.roles.actor_now).
        await actor_now(session, viewer, action=Action.KEEP_WEBHOOK_ENDPOINTS)
        count = await webhooks.count_endpoints(session=session, account_id=viewer.account_id)
        if count >= MAX_ENDPOINTS:
            raise Refusal.one(
                ErrorCode.LIMIT_EXCEEDED,
                f"The account has {count} webhook endpoints, its limit: delete one first.",
                ["input", "url"],
            )
        endpoint = await webhooks.insert_endpoint(
            session=session,
            account_id=viewer.account_id,
            url=url,
            description=text,
            event_types=types,
            secret=secret,
            created_by_id=viewer.user_id,
        )
        await _audit(session, viewer, AuditAction.WEBHOOK_ENDPOINT_CREATED, endpoint, "created")
        return NewEndpoint(secret=secret, endpoint=endpoint)


async def _locked_endpoint(
    session: AsyncSession, viewer: Viewer, endpoint_id: uuid.UUID
) -> WebhookEndpoint:
    """The endpoint to change, locked, after the account's lock (which user changes take
    first too) and the actor's role at this moment (tenancy.roles.actor_now)."""
    await accounts.lock_account(session=session, account_id=viewer.account_id)
    await actor_now(session, viewer, action=Action.KEEP_WEBHOOK_ENDPOINTS)
    endpoint = await webhooks.get_endpoint(
        session=session, account_id=viewer.account_id, endpoint_id=endpoint_id, lock=True
    )
    if endpoint is None:
        raise not_found("webhook endpoint", ["input", "id"])
    return endpoint


async def update_endpoint(
    db: Database,
    viewer: Viewer,
    *,
    endpoint_id: uuid.UUID,
    url: str | None,
    description: str | _Keep | None,
    event_types: Sequence[WebhookEventType] | None,
    enabled: bool | None,
    plain_http: bool,
) -> WebhookEndpoint:
    """Change what is given; disabling fails the endpoint's pending deliveries."""
    new_url = checked_url(url, plain_http=plain_http) if url is not None else None
    text = _checked_description(description) if not isinstance(description, _Keep) else KEEP
    types = _checked_types(event_types) if event_types is not None else None
    async with db.transaction(viewer.account_id, write=True) as session:
        endpoint = await _locked_endpoint(session, viewer, endpoint_id)
        if new_url is not None:
            endpoint.url = new_url
        if not isinstance(text, _Keep):
            endpoint.description = text
        if types is not None:
            endpoint.event_types = types
        if enabled is not None:
            endpoint.enabled = enabled
        await webhooks.save_endpoint(session=session, endpoint=endpoint)
        if enabled is False:
            await webhooks.fail_pending(
                session=session, account_id=viewer.account_id, endpoint_id=endpoint.id
            )
        await _audit(session, viewer, AuditAction.WEBHOOK_ENDPOINT_UPDATED, endpoint, "changed")
        return endpoint


async def delete_endpoint(db: Database, viewer: Viewer, *, endpoint_id: uuid.UUID) -> uuid.UUID:
    async with db.transaction(viewer.account_id, write=True) as session:
        endpoint = await _locked_endpoint(session, viewer, endpoint_id)
        await webhooks.delete_endpoint(
            session=session, account_id=viewer.account_id, endpoint_id=endpoint.id
        )
        await _audit(session, viewer, AuditAction.WEBHOOK_ENDPOINT_DELETED, endpoint, "deleted")
        return endpoint.id


async def redeliver(db: Database, viewer: Viewer, *, delivery_id: uuid.UUID) -> DeliveryView:
    """The delivery's event again, to the same endpoint, as a new pending delivery with the
    same event id (receivers drop repeats by it)."""
    async with db.transaction(viewer.account_id, write=True) as session:
        await accounts.lock_account(session=session, account_id=viewer.account_id)
        # The role at the moment of the change, after the account's lock, which user
        # changes take first too (tenancy.roles.actor_now).
        await actor_now(session, viewer, action=Action.KEEP_WEBHOOK_ENDPOINTS)
        old = await webhooks.get_delivery(
            session=session, account_id=viewer.account_id, delivery_id=delivery_id
        )
        if old is None:
            raise not_found("webhook delivery", ["input", "deliveryId"])
        endpoint = await webhooks.get_endpoint(
            session=session, account_id=viewer.account_id, endpoint_id=old.endpoint_id
        )
        if endpoint is None or not endpoint.enabled:
            raise Refusal.one(
                ErrorCode.INVALID_INPUT,
                "The delivery's endpoint is disabled: enable it first (updateWebhookEndpoint).",
                ["input", "deliveryId"],
            )
        [new] = await webhooks.insert_deliveries(
            session=session,
            account_id=viewer.account_id,
            event_id=old.event_id,
            event_type=old.event_type,
            endpoint_ids=[old.endpoint_id],
            now=utcnow(),
            due_at={endpoint.id: endpoint.paused_until} if endpoint.paused_until else None,
        )
        found = await webhooks.payloads(
            session=session, account_id=viewer.account_id, event_ids=[old.event_id]
        )
        # The endpoint is sent the event's body as it was written; the answer shows it as the
        # viewer may read it.
        return _view(viewer, new, found[old.event_id])


async def _audit(
    session: AsyncSession,
    viewer: Viewer,
    action: AuditAction,
    endpoint: WebhookEndpoint,
    verb: str,
) -> None:
    await audit.record(
        session=session,
        account_id=viewer.account_id,
        action=action.value,
        actor_id=viewer.user_id,
        summary=f"Webhook endpoint {endpoint.url} was {verb}.",
    )


# -- reads --------------------------------------------------------------------------------


async def list_endpoints(db: Database, viewer: Viewer) -> list[WebhookEndpoint]:
    # The field declares it too (schema/permissions.py); a read has no later moment to be
    # checked at, and who may see what is decided here.
    check(viewer.role, Action.SEE_WEBHOOK_ENDPOINTS)
    async with db.transaction(viewer.account_id) as session:
        return await webhooks.list_endpoints(session=session, account_id=viewer.account_id)


async def find_endpoint(
    session: AsyncSession, viewer: Viewer, endpoint_id: uuid.UUID
) -> WebhookEndpoint | None:
    """For ``node``: null unless the viewer may see it."""
    if not viewer.may(Action.SEE_WEBHOOK_ENDPOINTS):
        return None
    return await webhooks.get_endpoint(
        session=session, account_id=viewer.account_id, endpoint_id=endpoint_id
    )


async def find_delivery(
    session: AsyncSession, viewer: Viewer, delivery_id: uuid.UUID
) -> DeliveryView | None:
    if not viewer.may(Action.SEE_WEBHOOK_DELIVERIES):
        return None
    found = await webhooks.get_delivery(
        session=session, account_id=viewer.account_id, delivery_id=delivery_id
    )
    if found is None:
        return None
    bodies = await webhooks.payloads(
        session=session, account_id=viewer.account_id, event_ids=[found.event_id]
    )
    return _view(viewer, found, bodies.get(found.event_id, ""))


async def page_deliveries(
    db: Database, viewer: Viewer, *, endpoint_id: uuid.UUID, first: int, after: str | None
) -> Page[DeliveryView]:
    """An endpoint's deliveries, newest first, with the bodies they send."""
    check(viewer.role, Action.SEE_WEBHOOK_DELIVERIES)
    async with db.transaction(viewer.account_id) as session:
        page = await webhooks.page_deliveries(
            session=session,
            account_id=viewer.account_id,
            endpoint_id=endpoint_id,
            first=first,
            after=after,
        )
        bodies = await webhooks.payloads(
            session=session,
            account_id=viewer.account_id,
            event_ids=list({d.event_id for d in page.rows}),
        )
    return Page(
        rows=[_view(viewer, d, bodies.get(d.event_id, "")) for d in page.rows],
        cursors=page.cursors,
        has_next=page.has_next,
        has_previous=page.has_previous,
        total=page.total,
    )
