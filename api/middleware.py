"""Plain ASGI middleware: a request id for every request, and the bearer token resolved
once into the viewer, which the GraphQL view reads from the scope."""

from __future__ import annotations

import logging
import uuid

import orjson

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from persistence.database import Database, is_unavailable
from schema.errors import UNAVAILABLE_MESSAGE
from tenancy.tokens import authenticate

log = logging.getLogger("neverlog.http")
REQUEST_ID = "neverlog.request_id"
VIEWER = "neverlog.viewer"


class RequestIdMiddleware:
    """Gives each request an id, returned in the ``X-Request-Id`` header and carried by
    every log line and masked error of the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope[REQUEST_ID] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-Id"] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)


async def _unavailable(send: Send) -> None:
    body = orjson.dumps(
        {"errors": [{"message": UNAVAILABLE_MESSAGE, "extensions": {"code": "SERVICE_UNAVAILABLE"}}]}
    )
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"retry-after", b"5"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BearerAuthMiddleware:
    """Resolves ``Authorization: Bearer <token>`` to a viewer, or to None."""

    def __init__(self, app: ASGIApp, db: Database) -> None:
        self.app = app
        self.db = db

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[VIEWER] = None
            header = Headers(scope=scope).get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                try:
                    scope[VIEWER] = await authenticate(self.db, token.strip())
                except Exception as error:
                    if not is_unavailable(error):
                        raise
                    log.warning("database unavailable while signing in: %r", error)
                    await _unavailable(send)
                    return
        await self.app(scope, receive, send)
