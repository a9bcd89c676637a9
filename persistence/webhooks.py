"""Webhook endpoints, the outbox of events, and the deliveries with their attempts.

Every function takes ``account_id``, but the worker's: ``due_exists``, ``claim_due`` and
``prune`` look across accounts, in a transaction that declares itself the webhook worker
(see migration 0004: on PostgreSQL only that lets it see the deliveries and events of every
account; the endpoints, with their secrets, stay behind the account policy).
"""

from __future__ import annotations

import datetime as dt
import heapq
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.pages import Page, fetch_page, newest_first_cursor, older_than
from persistence.tables import (
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookSequence,
    new_id,
    utcnow,
)

Endpoint = WebhookEndpoint
Delivery = WebhookDelivery
Event = WebhookEvent
_WORKER = sa.text("select set_config('app.webhook_worker', 'on', true)")


# -- endpoints ----------------------------------------------------------------------------


async def count_endpoints(*, session: AsyncSession, account_id: uuid.UUID) -> int:
    stmt = sa.select(sa.func.count()).where(Endpoint.account_id == account_id)
    return int((await session.scalars(stmt)).one())


async def insert_endpoint(
    *,
    session: AsyncSession,
    account_id: uuid.UUID,
    url: str,
    description: str | None,
    event_types: Sequence[str],
    secret: str,
    created_by_id: uuid.UUID | None,
) -> WebhookEndpoint:
    endpoint = Endpoint(
        account_id=account_id,
        url=url,
        description=description,
        event_types=list(event_types),
        secret=secret,
        enabled=True,
        created_at=utcnow(),
        created_by_id=created_by_id,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint


async def get_endpoint(
    *, session: AsyncSession, account_id: uuid.UUID, endpoint_id: uuid.UUID, lock: bool = False
) -> WebhookEndpoint | None:
    stmt = sa.select(Endpoint).where(Endpoint.account_id == account_id, Endpoint.id == endpoint_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).one_or_none()


async def list_endpoints(*, session: AsyncSession, account_id: uuid.UUID) -> list[WebhookEndpoint]:
    """The account's endpoints, oldest first."""
    stmt = (
        sa.select(Endpoint)
        .where(Endpoint.account_id == account_id)
        .order_by(Endpoint.created_at, Endpoint.id)  # type: ignore[arg-type]
    )
    return list(await session.scalars(stmt))


async def save_endpoint(*, session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    session.add(endpoint)
    await session.flush()


async def delete_endpoint(
    *, session: AsyncSession, account_id: uuid.UUID, endpoint_id: uuid.UUID
) -> None:
    """The endpoint and its deliveries."""
    await session.execute(
        sa.delete(Delivery).where(
            Delivery.account_id == account_id,
            Delivery.endpoint_id == endpoint_id,  # type: ignore[arg-type]
        )
    )
    await session.execute(
        sa.delete(Endpoint).where(
            Endpoint.account_id == account_id,
            Endpoint.id == endpoint_id,  # type: ignore[arg-type]
        )
    )


async def fail_pending(
    *, session: AsyncSession, account_id: uuid.UUID, endpoint_id: uuid.UUID
) -> None:
    """No more attempts to a disabled endpoint: its pending deliveries fail."""
    await session.execute(
        sa.update(Delivery)
        .where(
            Delivery.account_id == account_id,
            Delivery.endpoint_id == endpoint_id,  # type: ignore[arg-type]
            Delivery.status == "PENDING",  # type: ignore[arg-type]
        )
        .values(status="FAILED", next_attempt_at=None, claim_token=None)
    )


# -- the outbox ---------------------------------------------------------------------------


async def next_sequence(*, session: AsyncSession, account_id: uuid.UUID) -> int:
    """The account's next event sequence. The counter's row stays locked until the caller's
    transaction ends, so that events of one account take their sequences in commit order."""
    table: sa.Table = WebhookSequence.__table__  # type: ignore[attr-defined]
    insert: Any
    if session.get_bind().dialect.name == "postgresql":
        insert = postgresql.insert(table)
    else:
        insert = sqlite.insert(table)
    stmt = (
        insert.values(account_id=account_id, last_sequence=1)
        .on_conflict_do_update(
            index_elements=["account_id"],
            set_={"last_sequence": table.c.last_sequence + 1},
        )
        .returning(table.c.last_sequence)
    )
    return int((await session.execute(stmt)).scalar_one())


async def insert_event(
    *,
    session: AsyncSession,
    account_id: uuid.UUID,
    event_id: uuid.UUID,
    sequence: int,
    event_type: str,
    payload: str,
    created_at: dt.datetime,
    endpoint_ids: Sequence[uuid.UUID],
    due_at: Mapping[uuid.UUID, dt.datetime] | None = None,
) -> None:
    """The event, and a pending delivery of it to each endpoint, due at once (or where
    ``due_at`` names the endpoint, then: a paused endpoint's)."""
    session.add(
        Event(
            account_id=account_id,
            id=event_id,
            sequence=sequence,
            type=event_type,
            payload=payload,
            created_at=created_at,
        )
    )
    await session.flush()
    await insert_deliveries(
        session=session,
        account_id=account_id,
        event_id=event_id,
        event_type=event_type,
        endpoint_ids=endpoint_ids,
        now=created_at,
        due_at=due_at,
    )


async def insert_deliveries(
    *,
    session: AsyncSession,
    account_id: uuid.UUID,
    event_id: uuid.UUID,
    event_type: str,
    endpoint_ids: Sequence[uuid.UUID],
    now: dt.datetime,
    due_at: Mapping[uuid.UUID, dt.datetime] | None = None,
) -> list[WebhookDelivery]:
    deliveries = [
        Delivery(
            account_id=account_id,
            id=new_id(),
            endpoint_id=endpoint_id,
            event_id=event_id,
            event_type=event_type,
            status="PENDING",
            attempts=0,
            created_at=now,
            next_attempt_at=max(now, (due_at or {}).get(endpoint_id, now)),
        )
        for endpoint_id in endpoint_ids
    ]
    session.add_all(deliveries)
    await session.flush()
    return deliveries


async def get_event(
    *, session: AsyncSession, account_id: uuid.UUID, event_id: uuid.UUID
) -> WebhookEvent | None:
    stmt = sa.select(Event).where(Event.account_id == account_id, Event.id == event_id)
    return (await session.scalars(stmt)).one_or_none()


# -- deliveries ---------------------------------------------------------------------------


async def get_delivery(
    *, session: AsyncSession, account_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery | None:
    stmt = sa.select(Delivery).where(Delivery.account_id == account_id, Delivery.id == delivery_id)
    return (await session.scalars(stmt)).one_or_none()


async def payloads(
    *, session: AsyncSession, account_id: uuid.UUID, event_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    if not event_ids:
        return {}
    stmt = sa.select(Event.id, Event.payload).where(
        Event.account_id == account_id,
        Event.id.in_(list(event_ids)),  # type: ignore[attr-defined]
    )
    return {row[0]: row[1] for row in await session.execute(stmt)}


async def page_deliveries(
    *,
    session: AsyncSession,
    account_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    first: int,
    after: str | None,
) -> Page[WebhookDelivery]:
    """An endpoint's deliveries, newest first."""
    return await fetch_page(
        session,
        Delivery,
        conditions=[Delivery.account_id == account_id, Delivery.endpoint_id == endpoint_id],
        after=older_than(Delivery.created_at, Delivery.id, after) if after else None,
        order_by=(Delivery.created_at.desc(), Delivery.id.desc()),  # type: ignore[attr-defined]
        first=first,
        cursor_of=lambda d: newest_first_cursor(d.created_at, d.id),
        has_previous=after is not None,
    )


# -- the worker ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery that one worker holds until ``lease_until``."""

    account_id: uuid.UUID
    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    attempts: int
    claim_token: uuid.UUID


async def as_worker(session: AsyncSession) -> None:
    """Declare the transaction the webhook worker's (PostgreSQL; nothing on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_WORKER)


def _due(now: dt.datetime) -> Any:
    return sa.and_(
        Delivery.next_attempt_at.is_not(None),  # type: ignore[union-attr]
        Delivery.next_attempt_at <= now,  # type: ignore[operator]
    )


async def due_exists(*, session: AsyncSession, now: dt.datetime) -> bool:
    """Whether any account has a delivery due (a read: cheap to poll)."""
    await as_worker(session)
    stmt = sa.select(Delivery.id).where(_due(now)).limit(1)
    return (await session.scalars(stmt)).first() is not None


_DELIVERIES: sa.Table = Delivery.__table__  # type: ignore[attr-defined]
# Claims of every process, one after the other (PostgreSQL; SQLite's writers are already):
# the caps below are counted and kept by one claimer at a time. A transaction-level advisory
# lock, held for the claim's short transaction only.
_CLAIMS_LOCK = sa.text("select pg_advisory_xact_lock(7423617165)")


@dataclass(frozen=True, slots=True)
class Caps:
    """What one claim may take: ``room`` attempts for this process; at most
    ``per_endpoint`` attempts in flight to one endpoint and ``per_account`` for one
    account, counted over every process (the leases in the table)."""

    room: int
    per_endpoint: int = 2
    per_account: int = 8


async def claim_fairly(
    *, session: AsyncSession, now: dt.datetime, lease_until: dt.datetime, caps: Caps
) -> list[Claimed]:
    """Take up to ``caps.room`` due deliveries, fairly across accounts: the accounts with
    the fewest attempts in flight first, one delivery of each in turn (round-robin), each
    account's oldest first; never past ``caps.per_endpoint`` attempts in flight to an
    endpoint or ``caps.per_account`` for an account. So an account whose endpoints hang
    holds at most its share of attempts, and another account's due delivery is taken at
    the next claim. Each is leased to the caller until ``lease_until`` (its
    next_attempt_at moves there, so that it falls due again if the caller dies) under a
    new claim token. Claims are made one at a time (an advisory lock on PostgreSQL, the
    writer lock on SQLite)."""
    await as_worker(session)
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_CLAIMS_LOCK)
    endpoint_load, account_load = await _in_flight(session, now)
    queues = await _due_by_account(session, now, caps.per_endpoint)
    claimed = [
        Claimed(
            account_id=row.account_id,
            delivery_id=row.id,
            endpoint_id=row.endpoint_id,
            event_id=row.event_id,
            attempts=row.attempts,
            claim_token=uuid.uuid4(),
        )
        for row in _round_robin(queues, endpoint_load, account_load, caps)
    ]
    if claimed:
        table = _DELIVERIES
        await session.execute(
            sa.update(table)
            .where(
                table.c.account_id == sa.bindparam("of_account"),
                table.c.id == sa.bindparam("of_delivery"),
            )
            .values(claim_token=sa.bindparam("new_token"), next_attempt_at=lease_until),
            [
                {
                    "of_account": c.account_id,
                    "of_delivery": c.delivery_id,
                    "new_token": c.claim_token,
                }
                for c in claimed
            ],
        )
    return claimed


async def _in_flight(
    session: AsyncSession, now: dt.datetime
) -> tuple[dict[tuple[uuid.UUID, uuid.UUID], int], dict[uuid.UUID, int]]:
    """The attempts leased and not yet due again: per (account, endpoint), and per account."""
    table = _DELIVERIES
    leased_rows = await session.execute(
        sa.select(table.c.account_id, table.c.endpoint_id, sa.func.count())
        .where(
            table.c.claim_token.is_not(None),
            table.c.next_attempt_at.is_not(None),
            table.c.next_attempt_at > now,
        )
        .group_by(table.c.account_id, table.c.endpoint_id)
    )
    endpoint_load: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
    account_load: dict[uuid.UUID, int] = {}
    for account_id, endpoint_id, count in leased_rows:
        endpoint_load[(account_id, endpoint_id)] = int(count)
        account_load[account_id] = account_load.get(account_id, 0) + int(count)
    return endpoint_load, account_load


async def _due_by_account(
    session: AsyncSession, now: dt.datetime, per_endpoint: int
) -> dict[uuid.UUID, list[Any]]:
    """Each endpoint's oldest due deliveries, as many as it could take, queued per account
    oldest first: what a claim picks from is bounded by the endpoints with work, however
    long a backlog one of them has."""
    table = _DELIVERIES
    nth = (
        sa.func.row_number()
        .over(
            partition_by=(table.c.account_id, table.c.endpoint_id),
            order_by=(table.c.next_attempt_at, table.c.id),
        )
        .label("nth")
    )
    due = (
        sa.select(
            table.c.account_id,
            table.c.id,
            table.c.endpoint_id,
            table.c.event_id,
            table.c.attempts,
            table.c.next_attempt_at,
            nth,
        )
        .where(table.c.next_attempt_at.is_not(None), table.c.next_attempt_at <= now)
        .subquery()
    )
    candidates = await session.execute(
        sa.select(due).where(due.c.nth <= per_endpoint).order_by(due.c.next_attempt_at)
    )
    queues: dict[uuid.UUID, list[Any]] = {}
    for row in candidates:
        queues.setdefault(row.account_id, []).append(row)
    return queues


def _round_robin(
    queues: dict[uuid.UUID, list[Any]],
    endpoint_load: dict[tuple[uuid.UUID, uuid.UUID], int],
    account_load: dict[uuid.UUID, int],
    caps: Caps,
) -> list[Any]:
    """Up to ``caps.room`` rows of the queues: the account with the fewest in flight (then
    the oldest due) takes one, then the next, within the caps of its endpoints and its own.
    ``endpoint_load`` counts the rows taken."""
    turns = [
        (account_load.get(account_id, 0), rows[0].next_attempt_at, n, account_id)
        for n, (account_id, rows) in enumerate(queues.items())
    ]
    heapq.heapify(turns)
    chosen: list[Any] = []
    while turns and len(chosen) < caps.room:
        load, _, n, account_id = heapq.heappop(turns)
        if load >= caps.per_account:
            continue
        rows = queues[account_id]
        while rows:
            row = rows.pop(0)
            key = (account_id, row.endpoint_id)
            if endpoint_load.get(key, 0) < caps.per_endpoint:
                endpoint_load[key] = endpoint_load.get(key, 0) + 1
                chosen.append(row)
                load += 1
                break
        if rows:
            heapq.heappush(turns, (load, rows[0].next_attempt_at, n, account_id))
    return chosen


async def hold_back(
    *,
    session: AsyncSession,
    account_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    until: dt.datetime,
    now: dt.datetime,
) -> None:
    """An endpoint's pending deliveries that would fall due before ``until`` wait until
    then (those in flight keep their lease)."""
    table = _DELIVERIES
    await session.execute(
        sa.update(table)
        .where(
            table.c.account_id == account_id,
            table.c.endpoint_id == endpoint_id,
            table.c.next_attempt_at.is_not(None),
            table.c.next_attempt_at < until,
            sa.or_(table.c.claim_token.is_(None), table.c.next_attempt_at <= now),
        )
        .values(next_attempt_at=until)
    )


async def record_attempt(
    *,
    session: AsyncSession,
    account_id: uuid.UUID,
    delivery_id: uuid.UUID,
    claim_token: uuid.UUID,
    attempted_at: dt.datetime,
    response_status: int | None,
    status: str,
    next_attempt_at: dt.datetime | None,
) -> bool:
    """Write an attempt's outcome, where the caller still holds the delivery's claim (a
    worker whose lease ran out writes nothing: another holds it now)."""
    result = await session.execute(
        sa.update(Delivery)
        .where(
            Delivery.account_id == account_id,
            Delivery.id == delivery_id,  # type: ignore[arg-type]
            Delivery.claim_token == claim_token,  # type: ignore[arg-type]
        )
        .values(
            attempts=Delivery.attempts + 1,
            last_attempt_at=attempted_at,
            last_response_status=response_status,
            status=status,
            next_attempt_at=next_attempt_at,
            claim_token=None,
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def disable_endpoint(
    *, session: AsyncSession, account_id: uuid.UUID, endpoint_id: uuid.UUID
) -> None:
    await session.execute(
        sa.update(Endpoint)
        .where(
            Endpoint.account_id == account_id,
            Endpoint.id == endpoint_id,  # type: ignore[arg-type]
        )
        .values(enabled=False)
    )
    await fail_pending(session=session, account_id=account_id, endpoint_id=endpoint_id)


async def prune(*, session: AsyncSession, before: dt.datetime) -> int:
    """Delete every account's deliveries created before ``before``, and the events that no
    delivery refers to any more; the number of deliveries deleted."""
    await as_worker(session)
    result = await session.execute(
        sa.delete(Delivery).where(
            Delivery.created_at < before,  # type: ignore[arg-type]
            Delivery.next_attempt_at.is_(None),  # type: ignore[union-attr]
        )
    )
    referenced = sa.select(Delivery.id).where(
        Delivery.account_id == Event.account_id,
        Delivery.event_id == Event.id,  # type: ignore[arg-type]
    )
    await session.execute(
        sa.delete(Event).where(
            Event.created_at < before,  # type: ignore[arg-type]
            ~sa.exists(referenced),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
