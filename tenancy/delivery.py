"""The delivery worker that every ``neverlog serve`` process runs: it claims due deliveries
of any account, POSTs them signed after the Standard Webhooks specification, and records
each attempt's outcome.

- A claim leases a delivery to one worker (``Schedule.lease`` seconds, longer than an
  attempt may take): its ``next_attempt_at`` moves to the lease's end under a new claim
  token, in one short transaction (claims are made one at a time: an advisory lock on
  PostgreSQL, the writer lock on SQLite). No two processes send the same attempt at once;
  a process that dies mid-attempt leaves the delivery to fall due again when the lease
  ends: at least once, never lost.
- Fairness: one account's endpoints never hold another account's deliveries back. A claim
  takes due deliveries round-robin across accounts, the least busy first; an endpoint has
  at most ``Schedule.per_endpoint`` (2) attempts in flight and an account at most
  ``Schedule.per_account`` (8), over every process, out of each process's
  ``concurrency`` (64). An endpoint whose attempt gets no answer in time is paused (5 s,
  then twice as long after each further one, up to 30 minutes): its deliveries wait
  meanwhile, and take no attempt in flight. Any answer ends the pause.
- The attempts: at once, then ``Schedule.intervals`` after the one before; then FAILED.
  A Retry-After on 429 or 503 delays the next attempt (not past the longest interval) but
  adds none. 410 Gone disables the endpoint. An answer must come within ``timeout``.
- In production the address a URL resolves to must be public unless the operator allows
  private ones: the check is made on the address that is then connected to (the request
  goes to that address, with the URL's host in Host and TLS SNI), so a DNS answer that
  changes between check and connection cannot steer a delivery inside the network.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import email.utils
import hashlib
import hmac
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from persistence import webhooks
from persistence.database import Database, is_unavailable
from persistence.tables import utcnow
from tenancy.webhooks import SECRET_PREFIX, WebhookDeliveryStatus, event_id_text

log = logging.getLogger("neverlog.webhooks")

Clock = Callable[[], dt.datetime]
Resolver = Callable[[str, int], Awaitable[list[str]]]
MAX_RESPONSE_BYTES = 65_536


@dataclass(frozen=True, slots=True)
class Schedule:
    """When attempts are made, and how long each may take (seconds)."""

    intervals: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
    timeout: float = 15
    lease: float = 60
    poll_interval: float = 0.5
    retention: dt.timedelta = dt.timedelta(days=30)
    prune_every: float = 3600
    # Attempts in flight at once, over every process: to one endpoint, for one account.
    per_endpoint: int = 2
    per_account: int = 8
    # How long an endpoint is paused after an attempt that got no answer in time: the
    # first, doubled for each further one in a row, at most the last.
    pause: float = 5
    longest_pause: float = 1800

    @property
    def attempts(self) -> int:
        return len(self.intervals) + 1

    def after_failure(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds until the attempt after failed attempt number ``attempt`` (1-based), or
        None when that was the last."""
        if attempt >= self.attempts:
            return None
        delay = self.intervals[attempt - 1]
        if retry_after is not None:
            delay = max(delay, min(retry_after, max(self.intervals)))
        return delay

    def pause_after(self, timeouts: int) -> float:
        """Seconds an endpoint is paused after ``timeouts`` (1 or more) attempts in a row
        that got no answer in time."""
        return float(min(self.pause * 2 ** min(timeouts - 1, 30), self.longest_pause))


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """The webhook-signature header: ``v1,`` and the base64 HMAC-SHA256 of
    ``{id}.{timestamp}.{body}``, keyed with the secret's decoded bytes."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def retry_after_seconds(value: str | None, now: dt.datetime) -> float | None:
    """A Retry-After header in seconds: delay-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def is_private(address: str) -> bool:
    """Whether a delivery to this address could reach inside the network."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


async def resolve(host: str, port: int) -> list[str]:
    """The addresses of ``host``, as the system resolver gives them."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return [str(info[4][0]) for info in infos]


class Refused(Exception):
    """An attempt that was not made: the URL leads to an address that is not allowed."""


@dataclass
class Outcome:
    status: int | None
    retry_after: float | None = None
    # No answer within the timeout: the endpoint is paused.
    timed_out: bool = False


@dataclass
class DeliveryWorker:
    db: Database
    schedule: Schedule = field(default_factory=Schedule)
    refuse_private: bool = False
    concurrency: int = 64  # attempts in flight at once, per process
    clock: Clock = utcnow
    resolver: Resolver = resolve
    transport: httpx.AsyncBaseTransport | None = None
    _client: httpx.AsyncClient | None = field(default=None, init=False, repr=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False, repr=False)
    _last_prune: float = field(default=0.0, init=False, repr=False)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _in_flight: set[asyncio.Task[None]] = field(default_factory=set, init=False, repr=False)

    # -- running ---------------------------------------------------------------------------

    def start(self) -> None:
        """Run in the background until ``stop``."""
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self.run(), name="webhook-delivery")

    async def stop(self) -> None:
        """Let the attempts in flight end and be recorded (they take at most the timeout),
        then stop."""
        if self._task is not None:
            self._stopping.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._task), self.schedule.timeout + 5)
            except TimeoutError:
                for task in [self._task, *self._in_flight]:
                    task.cancel()
                await asyncio.gather(self._task, *self._in_flight, return_exceptions=True)
            self._task = None
        await self.close()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def run(self) -> None:
        """Keep up to ``concurrency`` attempts in flight: claim more as soon as some end, so
        that a slow endpoint holds up only the attempts made to it."""
        while not self._stopping.is_set():
            room = self.concurrency - len(self._in_flight)
            try:
                claimed = await self.claim(room)
            except Exception as error:
                if is_unavailable(error):
                    log.warning("webhook delivery: the database does not answer: %r", error)
                else:
                    log.exception("webhook delivery failed")
                claimed = 0
            if claimed and claimed == room:
                continue  # more may be due: claim again once there is room
            # Until one attempt ends (its endpoint may take the next of its deliveries at
            # once), or the next poll.
            waits: set[asyncio.Future[Any]] = {asyncio.ensure_future(self._stopping.wait())}
            waits |= set(self._in_flight)
            done, _ = await asyncio.wait(
                waits,
                timeout=None if room <= 0 else self.schedule.poll_interval,
                return_when=asyncio.FIRST_COMPLETED,
            )
            for waiting in waits - self._in_flight - done:
                waiting.cancel()
        if self._in_flight:
            await asyncio.wait(set(self._in_flight))

    async def claim(self, room: int) -> int:
        """Claim up to ``room`` due deliveries and start their attempts; how many."""
        if room <= 0:
            return 0
        await self._maybe_prune()
        now = self.clock()
        async with self.db.transaction(None) as session:
            if not await webhooks.due_exists(session=session, now=now):
                return 0
        caps = webhooks.Caps(
            room=room,
            per_endpoint=self.schedule.per_endpoint,
            per_account=self.schedule.per_account,
        )
        async with self.db.transaction(None, write=True) as session:
            claimed = await webhooks.claim_fairly(
                session=session,
                now=now,
                lease_until=now + dt.timedelta(seconds=self.schedule.lease),
                caps=caps,
            )
        for one in claimed:
            task = asyncio.create_task(self._attempt(one), name=f"webhook-{one.delivery_id}")
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        return len(claimed)

    async def run_once(self) -> int:
        """Claim what is due and wait for those attempts; how many were attempted."""
        claimed = await self.claim(self.concurrency)
        if self._in_flight:
            await asyncio.wait(set(self._in_flight))
        return claimed

    async def _maybe_prune(self) -> None:
        loop = asyncio.get_running_loop()
        if self._last_prune and loop.time() - self._last_prune < self.schedule.prune_every:
            return
        self._last_prune = loop.time()
        await self.prune()

    async def prune(self) -> int:
        """Delete the deliveries older than the retention (30 days), of every account."""
        async with self.db.transaction(None, write=True) as session:
            pruned = await webhooks.prune(
                session=session, before=self.clock() - self.schedule.retention
            )
        if pruned:
            log.info("pruned %d webhook deliveries older than %s", pruned, self.schedule.retention)
        return pruned

    # -- one attempt ---------------------------------------------------------------------

    async def _attempt(self, claimed: webhooks.Claimed) -> None:
        try:
            await self._attempt_one(claimed)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The lease runs out and the delivery falls due again.
            log.exception("webhook delivery %s: the attempt could not be recorded", claimed)

    async def _attempt_one(self, claimed: webhooks.Claimed) -> None:
        async with self.db.transaction(claimed.account_id) as session:
            endpoint = await webhooks.get_endpoint(
                session=session, account_id=claimed.account_id, endpoint_id=claimed.endpoint_id
            )
            bodies = await webhooks.payloads(
                session=session, account_id=claimed.account_id, event_ids=[claimed.event_id]
            )
        if endpoint is None or claimed.event_id not in bodies:
            return  # deleted meanwhile, with its deliveries
        if not endpoint.enabled:
            async with self.db.transaction(claimed.account_id, write=True) as session:
                await webhooks.fail_pending(
                    session=session, account_id=claimed.account_id, endpoint_id=endpoint.id
                )
            return
        started = self.clock()
        try:
            outcome = await self._post(
                endpoint.url,
                endpoint.secret,
                event_id_text(claimed.event_id),
                bodies[claimed.event_id],
            )
        except Refused as refused:
            log.warning("webhook delivery %s refused: %s", claimed.delivery_id, refused)
            outcome = Outcome(status=None)
        except (httpx.TimeoutException, TimeoutError) as error:
            log.info("webhook delivery %s got no answer in time: %r", claimed.delivery_id, error)
            outcome = Outcome(status=None, timed_out=True)
        except (httpx.HTTPError, OSError) as error:
            log.info("webhook delivery %s got no answer: %r", claimed.delivery_id, error)
            outcome = Outcome(status=None)
        await self._record(claimed, started, outcome)

    async def _record(
        self, claimed: webhooks.Claimed, attempted_at: dt.datetime, outcome: Outcome
    ) -> None:
        attempt = claimed.attempts + 1
        status = WebhookDeliveryStatus.FAILED
        next_at: dt.datetime | None = None
        gone = outcome.status == 410
        if outcome.status is not None and 200 <= outcome.status < 300:
            status = WebhookDeliveryStatus.DELIVERED
        elif not gone:
            delay = self.schedule.after_failure(attempt, outcome.retry_after)
            if delay is not None:
                status = WebhookDeliveryStatus.PENDING
                next_at = self.clock() + dt.timedelta(seconds=delay)
        async with self.db.transaction(claimed.account_id, write=True) as session:
            # The endpoint's row first, as changes to endpoints lock it before their
            # deliveries: locks in one order.
            endpoint = await webhooks.get_endpoint(
                session=session,
                account_id=claimed.account_id,
                endpoint_id=claimed.endpoint_id,
                lock=True,
            )
            if endpoint is not None:
                paused_until = await self._pause_or_resume(session, endpoint, outcome)
                if next_at is not None and paused_until is not None:
                    next_at = max(next_at, paused_until)
            held = await webhooks.record_attempt(
                session=session,
                account_id=claimed.account_id,
                delivery_id=claimed.delivery_id,
                claim_token=claimed.claim_token,
                attempted_at=attempted_at,
                response_status=outcome.status,
                status=status.value,
                next_attempt_at=next_at,
            )
            if held and gone:
                log.warning("webhook endpoint %s answered 410 Gone: disabled", claimed.endpoint_id)
                await webhooks.disable_endpoint(
                    session=session, account_id=claimed.account_id, endpoint_id=claimed.endpoint_id
                )

    async def _pause_or_resume(
        self, session: AsyncSession, endpoint: webhooks.Endpoint, outcome: Outcome
    ) -> dt.datetime | None:
        """After an attempt without an answer in time, pause the endpoint (longer for each
        in a row) and hold its deliveries back until then; after any answer, end a pause.
        When the endpoint is paused until, if it is."""
        now = self.clock()
        if outcome.timed_out:
            endpoint.timeouts += 1
            until = now + dt.timedelta(seconds=self.schedule.pause_after(endpoint.timeouts))
            endpoint.paused_until = until
            await webhooks.save_endpoint(session=session, endpoint=endpoint)
            await webhooks.hold_back(
                session=session,
                account_id=endpoint.account_id,
                endpoint_id=endpoint.id,
                until=until,
                now=now,
            )
            log.warning(
                "webhook endpoint %s gave no answer in %g s (%d in a row): paused until %s",
                endpoint.id,
                self.schedule.timeout,
                endpoint.timeouts,
                until.isoformat(timespec="seconds"),
            )
            return until
        if outcome.status is not None and (endpoint.timeouts or endpoint.paused_until):
            endpoint.timeouts = 0
            endpoint.paused_until = None
            await webhooks.save_endpoint(session=session, endpoint=endpoint)
        return None

    async def _post(self, url: str, secret: str, msg_id: str, body: str) -> Outcome:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        async with asyncio.timeout(self.schedule.timeout):
            addresses = await self.resolver(host, port)
            if not addresses:
                raise Refused(f"{host} has no address")
            address = addresses[0]
            if self.refuse_private and is_private(address):
                raise Refused(
                    f"{host} resolves to {address}, a private, loopback or link-local address "
                    "(NEVERLOG_WEBHOOK_ALLOW_PRIVATE=true allows it)"
                )
            netloc = f"[{address}]" if ":" in address else address
            if parts.port is not None:
                netloc += f":{parts.port}"
            pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
            timestamp = int(self.clock().timestamp())
            headers = {
                "content-type": "application/json",
                "user-agent": "NeverLog-Webhooks/1",
                "host": parts.netloc.rpartition("@")[2],
                "webhook-id": msg_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(secret, msg_id, timestamp, body),
            }
            client = self._http()
            request = client.build_request(
                "POST",
                pinned,
                content=body.encode(),
                headers=headers,
                extensions={"sni_hostname": host} if parts.scheme == "https" else {},
            )
            response = await client.send(request, stream=True)
            try:
                read = 0
                async for chunk in response.aiter_raw():
                    read += len(chunk)
                    if read >= MAX_RESPONSE_BYTES:
                        break
            finally:
                await response.aclose()
        retry_after = None
        if response.status_code in (429, 503):
            retry_after = retry_after_seconds(response.headers.get("retry-after"), self.clock())
        return Outcome(status=response.status_code, retry_after=retry_after)

    def _http(self) -> httpx.AsyncClient:
        """One client per worker: its pool keeps connections to endpoints alive between
        attempts. No redirects are followed (a redirect is an answer, not a 2xx)."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self.transport,
                timeout=httpx.Timeout(self.schedule.timeout),
                follow_redirects=False,
                trust_env=False,
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            )
        return self._client
