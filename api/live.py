"""Subscriptions over the graphql-transport-ws protocol on /graphql (docs/live.md).

The protocol is the standard one (the ``graphql-ws`` library's, which GraphiQL, Apollo
Client and urql speak): ``connection_init`` → ``connection_ack``, ``subscribe`` → ``next``
… (``complete``), ``ping``/``pong``, and its close codes:

- 4400 a message that is not one of the protocol's; 4401 no valid token in
  ``connection_init``'s payload (``{"Authorization": "Bearer nl_…"}``) or the upgrade's
  ``Authorization`` header, or a ``subscribe`` before the ``connection_ack`` (nothing else
  is sent); 4406 no ``graphql-transport-ws`` subprotocol; 4408 no ``connection_init``
  within ``NEVERLOG_LIVE_INIT_SECONDS``, or a subscriber that reads too slowly (more than
  ``NEVERLOG_LIVE_QUEUE`` changes waiting for one of its subscriptions, or no ``pong`` to
  the server's ``ping`` within ``NEVERLOG_LIVE_PING_SECONDS``); 4409 a
  subscription id already in use; 4429 the client address's bucket is empty;
- 4403 the token was revoked, or its user deactivated (tenancy/live.py checks within 2 s);
- 1012 the process stopped hearing of changes (its listening connection to PostgreSQL was
  lost): reconnect and read the list again; 1013 the process holds
  ``NEVERLOG_LIVE_MAX_CONNECTIONS`` connections already.

A subscription is charged like a query at its start (its size, parsing and validation
and its calculated cost, from the account's bucket: ``extensions.cost`` of the first
``next`` is not sent; a refusal says it). Each change is executed once per distinct
operation (text, name, variables) for every subscription of this process that sent it:
everyone told of a change may read all of it (the account-wide list is every user's to
read; a personal list has only its owner as subscriber).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    execute,
    get_argument_values,
    get_operation_ast,
    get_variable_values,
)
from starlette.websockets import WebSocket, WebSocketDisconnect

from api.graphql_http import GraphQLHTTP, Params, params_from_json
from api.middleware import authorization_headers
from policy.errors import (
    BadRequest,
    Code,
    MaxCostExceeded,
    MaxSubscriptionsExceeded,
    NoOperation,
    PublicError,
    RateLimited,
    ServiceUnavailable,
)
from schema.context import SIGNED_IN, Context
from schema.errors import coded, graphql_error, public_error
from schema.limits import check, longest_string, query_too_long, string_too_long
from schema.live import NeverLogListChange
from schema.services import Hub, ListChange, ListKey, Viewer, authenticate, cancel_and_wait

log = logging.getLogger("neverlog.live")

PROTOCOL = "graphql-transport-ws"
MAX_SUBSCRIPTIONS = 20  # a connection's, at most (PRODUCT.md)
MAX_ID_LENGTH = 100
# How long closing a connection may wait for its client to take what was sent before (the
# close frame comes after it): longer than the server's keep-alive pings take to end a
# client that reads nothing (uvicorn's 20 s interval and 20 s timeout), which frees the
# connection first. Meanwhile it holds no more than the socket's buffers.
CLOSE_WAIT = 60.0
FIELD = "neverLogListChanged"


@dataclass(frozen=True, slots=True)
class LiveOptions:
    max_connections: int = 1_000
    queue: int = 100
    init_seconds: float = 5.0
    max_cost: int = 200
    max_message_bytes: int = 1_048_576
    ping_seconds: float = 10.0


class Live:
    """The WebSocket endpoint of /graphql, for one app."""

    def __init__(self, view: GraphQLHTTP, hub: Hub | None, options: LiveOptions) -> None:
        self.view = view
        self.hub = hub
        self.options = options
        self.connections = 0
        self.dropped_slow = 0  # connections closed with 4408 for reading too slowly

    async def endpoint(self, websocket: WebSocket) -> None:
        if PROTOCOL not in websocket.scope.get("subprotocols", []):
            await websocket.accept()
            await websocket.close(4406, "Subprotocol not acceptable: use graphql-transport-ws")
            return
        await websocket.accept(subprotocol=PROTOCOL)
        if self.hub is None or self.connections >= self.options.max_connections:
            await websocket.close(
                1013, f"This server holds {self.options.max_connections} live connections; retry"
            )
            return
        self.connections += 1
        try:
            await _Connection(self, websocket).run()
        finally:
            self.connections -= 1


@dataclass(eq=False)
class _Subscription:
    id: str
    key: ListKey
    document: DocumentNode
    params: Params
    render_key: tuple[str, str | None, bytes]
    connection: _Connection
    pending: int = 0
    ended: bool = False
    prefix: bytes = b""

    def offer(self, change: ListChange) -> None:
        if self.ended:
            return
        self.pending += 1
        if self.pending > self.connection.live.options.queue:
            self.connection.too_slow()
            return
        self.connection.outbox.append((self, change))
        self.connection.wake.set()


@dataclass(eq=False)
class _Connection:
    live: Live
    websocket: WebSocket
    viewer: Viewer | None = None
    subscriptions: dict[str, _Subscription] = field(default_factory=dict)
    outbox: collections.deque[tuple[_Subscription, ListChange]] = field(
        default_factory=collections.deque
    )
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    ending: asyncio.Future[tuple[int, str]] | None = None
    # When the ping now awaiting its pong was queued (None: no ping is awaited), and
    # whether the writer has a ping to send before the next change.
    ping_since: float | None = None
    ping_queued: bool = False
    _unsubscribes: dict[str, Any] = field(default_factory=dict)

    # The hub's view of the connection (tenancy.live.Watched).
    @property
    def account_id(self) -> uuid.UUID:
        assert self.viewer is not None
        return self.viewer.account_id

    @property
    def token_id(self) -> uuid.UUID:
        assert self.viewer is not None
        return self.viewer.token_id

    def revoked(self) -> None:
        self.end(4403, "Forbidden: the token was revoked or its user deactivated")

    def lost(self) -> None:
        self.end(1012, "Live changes were interrupted: reconnect and read the list again")

    def too_slow(self) -> None:
        if self.ending is not None and not self.ending.done():
            self.live.dropped_slow += 1
        self.end(4408, "Too slow: changes were not read in time")

    def end(self, code: int, reason: str) -> None:
        """Close the connection with ``code``: nothing more is queued from now on."""
        for subscription in self.subscriptions.values():
            subscription.ended = True
        self.outbox.clear()
        if self.ending is not None and not self.ending.done():
            self.ending.set_result((code, reason))

    # -- the connection ---------------------------------------------------------------------

    async def run(self) -> None:
        self.ending = asyncio.get_running_loop().create_future()
        viewer = await self._initialise()
        if viewer is None:
            return
        self.viewer = viewer
        # Signed in once, for the connection: its operations read it from its scope.
        self.websocket.scope[SIGNED_IN] = viewer
        await self._send({"type": "connection_ack"})
        assert self.live.hub is not None
        unwatch = self.live.hub.watch(self)
        reader = asyncio.create_task(self._read(), name="live-read")
        writer = asyncio.create_task(self._write(), name="live-write")
        pinger = asyncio.create_task(self._ping(), name="live-ping")
        try:
            code, reason = await self.ending
        finally:
            unwatch()
            for unsubscribe in self._unsubscribes.values():
                unsubscribe()
            self._unsubscribes.clear()
            self.outbox.clear()
            for task in (reader, writer, pinger):
                task.cancel()
            for task in (reader, writer, pinger):
                with contextlib.suppress(Exception):
                    await cancel_and_wait(task)
        if code != 1000 or reason != "gone":
            await self._close(code, reason)

    async def _close(self, code: int, reason: str) -> None:
        # A client that reads nothing holds the close behind what it has not read.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.websocket.close(code, reason), CLOSE_WAIT)

    async def _initialise(self) -> Viewer | None:
        options = self.live.options
        try:
            message = await asyncio.wait_for(self._receive(), options.init_seconds)
        except TimeoutError:
            await self._close(4408, "Connection initialisation timeout")
            return None
        except WebSocketDisconnect:
            return None
        except _BadMessage as bad:
            await self._close(4400, str(bad))
            return None
        if message.get("type") != "connection_init":
            await self._close(4401, "Unauthorized")
            return None
        payload = message.get("payload")
        token = None
        if isinstance(payload, dict):
            token = payload.get("Authorization") or payload.get("authorization")
        if token is None:
            headers = authorization_headers(self.websocket.scope)
            token = headers[0] if len(headers) == 1 else None
        viewer = None
        if isinstance(token, str) and token.strip():
            scheme, _, secret = token.strip().partition(" ")
            if scheme.lower() == "bearer" and secret.strip():
                # An attempt costs the client's address a point, as a refused request does:
                # an address that spends its bucket on tries is refused without a look-up.
                throttle = await self.live.view.buckets.take(self._address_key(), 1)
                if not throttle.allowed:
                    await self._close(4429, "Too many attempts: retry later")
                    return None
                viewer = await authenticate(self.live.view.db, secret.strip())
        if viewer is None:
            await self._close(4401, "Unauthorized")
            return None
        return viewer

    def _address_key(self) -> str:
        client = self.websocket.client
        return f"address:{client.host if client else 'unknown'}"

    async def _receive(self) -> dict[str, Any]:
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        data = message.get("text")
        if data is None:
            data = message.get("bytes") or b""
        if len(data) > self.live.options.max_message_bytes:
            raise _BadMessage(f"A message may hold {self.live.options.max_message_bytes} bytes")
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise _BadMessage(f"Invalid message: not JSON ({error})") from error
        if not isinstance(parsed, dict) or not isinstance(parsed.get("type"), str):
            raise _BadMessage("Invalid message: a JSON object with a type")
        return parsed

    async def _send(self, message: dict[str, Any]) -> None:
        await self.websocket.send_text(orjson.dumps(message).decode())

    async def _read(self) -> None:
        try:
            while True:
                message = await self._receive()
                kind = message["type"]
                if kind == "ping":
                    await self._send({"type": "pong"})
                elif kind == "pong":
                    self.ping_since = None
                elif kind == "subscribe":
                    await self._subscribe(message)
                elif kind == "complete":
                    self._complete(message.get("id"))
                elif kind == "connection_init":
                    self.end(4429, "Too many initialisation requests")
                    return
                else:
                    self.end(4400, f"Invalid message type {kind[:40]!r}")
                    return
        except WebSocketDisconnect:
            self.end(1000, "gone")
        except _BadMessage as bad:
            self.end(4400, str(bad))

    def _complete(self, subscription_id: Any) -> None:
        if not isinstance(subscription_id, str):
            return
        subscription = self.subscriptions.pop(subscription_id, None)
        if subscription is not None:
            subscription.ended = True
            unsubscribe = self._unsubscribes.pop(subscription_id, None)
            if unsubscribe is not None:
                unsubscribe()

    async def _subscribe(self, message: dict[str, Any]) -> None:
        subscription_id = message.get("id")
        if not isinstance(subscription_id, str) or not 0 < len(subscription_id) <= MAX_ID_LENGTH:
            raise _BadMessage(
                f"Invalid message: a subscribe needs an id of 1 to {MAX_ID_LENGTH} characters"
            )
        if subscription_id in self.subscriptions:
            self.end(4409, f"Subscriber for {subscription_id} already exists")
            return
        errors = await self._start(subscription_id, message.get("payload"))
        if errors:
            await self._send(
                {
                    "id": subscription_id,
                    "type": "error",
                    "payload": [public_error(e, "").formatted for e in errors],
                }
            )

    async def _start(self, subscription_id: str, payload: Any) -> list[GraphQLError]:
        """Check, charge and start a subscription; the errors that refuse it."""
        admitted = await self._admit(payload)
        if isinstance(admitted, list):
            return admitted
        params, document, operation = admitted
        assert params.query is not None  # _admit refuses a request without its text
        scope_or_errors = _scope(self.live.view, document, operation, params)
        if isinstance(scope_or_errors, list):
            return scope_or_errors
        hub = self.live.hub
        assert hub is not None and self.viewer is not None
        if not await hub.wait_listening(5.0):
            return [
                graphql_error(
                    ServiceUnavailable("Live changes are unavailable for a moment: retry shortly.")
                )
            ]
        # Personal lists are private: a subscription to PERSONAL is to the viewer's own.
        viewer = self.viewer
        owner = viewer.account_id if scope_or_errors == "ACCOUNT" else viewer.user_id
        variables = orjson.dumps(params.variables or {}, option=orjson.OPT_SORT_KEYS)
        subscription = _Subscription(
            id=subscription_id,
            key=(viewer.account_id, owner),
            document=document,
            params=params,
            render_key=(params.query, params.operation_name, variables),
            connection=self,
            prefix=b'{"id":' + orjson.dumps(subscription_id) + b',"type":"next","payload":',
        )
        if self.ending is not None and self.ending.done():
            return []
        self.subscriptions[subscription_id] = subscription
        self._unsubscribes[subscription_id] = hub.subscribe(subscription.key, subscription)
        return []

    async def _admit(
        self, payload: Any
    ) -> tuple[Params, DocumentNode, OperationDefinitionNode] | list[GraphQLError]:
        """A subscribe message's request, parsed, validated, measured and charged (what a
        refused one cost is charged too); or the errors that refuse it."""
        view = self.live.view
        if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            too_many = MaxSubscriptionsExceeded(
                f"A connection holds at most {MAX_SUBSCRIPTIONS} subscriptions; complete "
                "one first or open another connection.",
                limit=MAX_SUBSCRIPTIONS,
                value=len(self.subscriptions) + 1,
            )
            return [graphql_error(too_many)]
        try:
            params = params_from_json(payload)
        except PublicError as refused:
            return [graphql_error(refused)]
        size = len(orjson.dumps(payload)) // 1024
        if params.query is None:
            # a persisted query's hash alone: a subscription sends its text (it is parsed
            # once for the subscription's life, so the hash would save nothing)
            await self._charge(size)
            return [
                graphql_error(
                    BadRequest(
                        "A subscription sends its query text, not only a persisted query's hash."
                    )
                )
            ]
        limits = view.query_limits
        longest = longest_string(params.variables) if params.variables else 0
        refusal: list[GraphQLError] = []
        if longest > limits.max_string_length:
            refusal = [string_too_long(limits.max_string_length, longest)]
        elif len(params.query) > limits.max_query_length:
            refusal = [query_too_long(limits.max_query_length, len(params.query))]
        if refusal:
            await self._charge(size)
            return refusal
        prepared, parsing = view.prepare(params)
        document = prepared.document
        if document is None or prepared.errors:
            await self._charge(size + parsing)
            return list(prepared.errors)
        operation = get_operation_ast(document, params.operation_name)
        refusal = _not_a_subscription(operation, params)
        if refusal or operation is None:
            await self._charge(size + parsing)
            return refusal
        measured = view.measure(params, prepared, document, operation)
        over = check(measured, limits)
        if over is None and measured.cost > self.live.options.max_cost:
            over = graphql_error(
                MaxCostExceeded(
                    f"The subscription costs {measured.cost} points for every change; a "
                    f"subscription may cost {self.live.options.max_cost}. Ask for the list's "
                    "entries with a query when a change arrives.",
                    limit=self.live.options.max_cost,
                    value=measured.cost,
                )
            )
        if over is not None:
            await self._charge(size + parsing)
            return [over]
        if not await self._charge(measured.cost + size + parsing):
            return [
                graphql_error(
                    RateLimited(
                        f"Too many requests: this subscription costs "
                        f"{measured.cost + size + parsing} points, more than the account's "
                        "bucket holds now; retry shortly."
                    )
                )
            ]
        return params, document, operation

    async def _charge(self, cost: int) -> bool:
        assert self.viewer is not None
        throttle = await self.live.view.buckets.take(f"account:{self.viewer.account_id}", cost)
        return throttle.allowed

    # -- what is sent -----------------------------------------------------------------------

    async def _ping(self) -> None:
        """A ping every ``ping_seconds``, sent after what was queued before it: a client
        whose pong has not come back by the next one is too slow (4408), whether it reads
        nothing or has fallen that far behind (what the sockets' buffers hold aside)."""
        loop = asyncio.get_running_loop()
        every = self.live.options.ping_seconds
        while True:
            await asyncio.sleep(every)
            if self.ping_since is not None and loop.time() - self.ping_since >= every:
                self.too_slow()
                return
            if self.ping_since is None:
                self.ping_since = loop.time()
                self.ping_queued = True
                self.wake.set()

    async def _write(self) -> None:
        while True:
            while not self.outbox and not self.ping_queued:
                self.wake.clear()
                await self.wake.wait()
            if self.ping_queued:
                self.ping_queued = False
                await self._send({"type": "ping"})
                continue
            subscription, change = self.outbox.popleft()
            subscription.pending -= 1
            if subscription.ended:
                continue
            payload = await self._render(subscription, change)
            if subscription.ended:
                continue
            await self.websocket.send_text((subscription.prefix + payload + b"}").decode())

    async def _render(self, subscription: _Subscription, change: ListChange) -> bytes:
        """The change as the subscription's operation makes it: executed once per
        distinct operation of this process's subscriptions of the list."""
        found = change.renders.get(subscription.render_key)
        if found is None:
            found = asyncio.ensure_future(self._execute(subscription, change))
            change.renders[subscription.render_key] = found
        result: bytes = await asyncio.shield(found)
        return result

    async def _execute(self, subscription: _Subscription, change: ListChange) -> bytes:
        view = self.live.view
        context = Context(db=view.db, limits=view.limits, scope=self.websocket.scope)
        try:
            result = execute(
                view.schema,
                subscription.document,
                root_value=NeverLogListChange.of(change, view.limits),
                context_value=context,
                variable_values=subscription.params.variables,
                operation_name=subscription.params.operation_name,
            )
            if not isinstance(result, ExecutionResult):
                result = await result
        except Exception as error:  # never one client's failure for all
            log.exception("a live change could not be executed")
            result = ExecutionResult(None, [GraphQLError(str(error))])
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [public_error(e, "").formatted for e in result.errors]
        return orjson.dumps(body)


class _BadMessage(Exception):
    pass


def _not_a_subscription(
    operation: OperationDefinitionNode | None, params: Params
) -> list[GraphQLError]:
    if operation is None:
        return [graphql_error(NoOperation(params.operation_name))]
    if operation.operation is not OperationType.SUBSCRIPTION:
        return [
            graphql_error(
                BadRequest(
                    f"This connection runs subscriptions; send a {operation.operation.value} "
                    "over HTTP (POST /graphql)."
                )
            )
        ]
    return []


def _scope(
    view: GraphQLHTTP, document: DocumentNode, operation: OperationDefinitionNode, params: Params
) -> str | list[GraphQLError]:
    """The ``scope`` argument of the subscription's root field, or the errors that refuse
    it (variables that do not coerce, a root field that is not neverLogListChanged)."""
    selections = operation.selection_set.selections
    root = selections[0] if len(selections) == 1 else None
    if not isinstance(root, FieldNode) or root.name.value != FIELD:
        return [
            graphql_error(
                BadRequest(f"A subscription selects {FIELD} at its root, directly (no fragment).")
            )
        ]
    coerced = get_variable_values(
        view.schema, operation.variable_definitions or (), params.variables or {}
    )
    if isinstance(coerced, list):
        return [coded(error, Code.BAD_USER_INPUT) for error in coerced]
    subscription_type = view.schema.subscription_type
    assert subscription_type is not None
    try:
        arguments = get_argument_values(subscription_type.fields[FIELD], root, coerced)
    except GraphQLError as error:
        return [coded(error, Code.BAD_USER_INPUT)]
    scope = arguments["scope"]
    return str(getattr(scope, "value", scope))
