"""Plain ASGI middleware: a request id for every request, and the bearer token resolved
once into the viewer, which the GraphQL view reads from the scope."""

from __future__ import annotations

import logging
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import send_error
from api.logs import request_log
from api.metrics import Metrics
from policy.errors import BadRequest, InvalidToken
from schema.context import SIGNED_IN
from schema.services import Database, authenticate

log = logging.getLogger("neverlog.http")
REQUEST_ID = "neverlog.request_id"
# The request's sign-in: schema/context.py says where it lives, and reads it from there.
VIEWER = SIGNED_IN
# Set by the GraphQL view for the request's log line and metrics.
OPERATION = "neverlog.operation"
RESULT = "neverlog.result"


# On every answer, errors and 503s included: a browser never sniffs a type other than the
# one declared (a JSON error holding markup is never run as HTML).
NOSNIFF = ("X-Content-Type-Options", "nosniff")
# In production, on every answer: a browser that reached the service over HTTPS keeps to
# HTTPS for a year (behind the TLS-terminating proxy that production runs).
HSTS = ("Strict-Transport-Security", "max-age=31536000")


def security_headers(*, production: bool) -> tuple[tuple[str, str], ...]:
    """The headers that every answer carries."""
    return (NOSNIFF, HSTS) if production else (NOSNIFF,)


class RequestIdLogMetricsMiddleware:
    """The things every request gets, in one pass: an id, returned in the ``X-Request-Id``
    header and carried by every log line and masked error of the request; the security
    headers (``security_headers``) on its answer, whoever wrote it; at its end, the
    request's one log line; and for GraphQL, its metrics."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, production: bool = False) -> None:
        self.app = app
        self.metrics = metrics
        self.headers = security_headers(production=production)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope[REQUEST_ID] = request_id
        started = time.perf_counter()
        status = 500
        recorded = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, recorded
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-Id"] = request_id
                for name, value in self.headers:
                    headers[name] = value
            elif not message.get("more_body", False) and not recorded:
                # counted before its last byte goes: a client holding the answer finds the
                # request in /metrics (of whichever worker answers it)
                recorded = True
                _record(scope, status, time.perf_counter() - started, self.metrics)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if not recorded:
                _record(scope, status, time.perf_counter() - started, self.metrics)


def _record(scope: Scope, status: int, seconds: float, metrics: Metrics) -> None:
    """The request's log line (no token, no variables, no patterns) and, for GraphQL, its
    metrics."""
    viewer = scope.get(VIEWER)
    graphql = scope["path"] == "/graphql"
    operation = scope.get(OPERATION)
    result = scope.get(RESULT) or ("ok" if status < 400 else f"http_{status}")
    if graphql:
        metrics.observe_request(metrics.operation_label(operation), result, seconds)
    request_log.info(
        "%s %s %d",
        scope["method"],
        scope["path"],
        status,
        extra={
            "request_id": scope.get(REQUEST_ID),
            "account_id": str(viewer.account_id) if viewer is not None else None,
            "operation": operation if graphql else None,
            "result": result if graphql else None,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "method": scope["method"],
            "path": scope["path"],
        },
    )


def authorization_headers(scope: Scope) -> list[str]:
    """Every ``Authorization`` header of the request, as sent (latin-1, as HTTP has it)."""
    return [value.decode("latin-1") for name, value in scope["headers"] if name == b"authorization"]


class BearerAuthMiddleware:
    """Resolves ``Authorization: Bearer <token>`` on /graphql to a viewer, or to None where
    no token is sent. A token that does not sign in (malformed, unknown, revoked, its user
    deactivated) is 401 with ``WWW-Authenticate: Bearer error="invalid_token"``, so that a
    client tells a typo or a revoked token from a missing header; more than one
    ``Authorization`` header is 400 (which one would count is not for the server to guess).
    Other paths (health, metrics, the settings page) do not sign anyone in."""

    def __init__(self, app: ASGIApp, db: Database) -> None:
        self.app = app
        self.db = db

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[VIEWER] = None
        if scope["type"] != "http" or scope["path"] != "/graphql":
            await self.app(scope, receive, send)
            return
        headers = authorization_headers(scope)
        if len(headers) > 1:
            message = f"Send one Authorization header; this request has {len(headers)}."
            await send_error(send, BadRequest(message))
            return
        header = headers[0].strip() if headers else ""
        if header:
            scheme, _, token = header.partition(" ")
            viewer = None
            if scheme.lower() == "bearer" and token.strip():
                # A database that cannot serve raises here: api/unavailable.py, outside this
                # middleware, answers 503 with the request id.
                viewer = await authenticate(self.db, token.strip())
            if viewer is None:
                await send_error(send, InvalidToken())
                return
            scope[VIEWER] = viewer
        await self.app(scope, receive, send)
