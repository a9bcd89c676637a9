"""Plain ASGI middleware: a request id for every request, and the bearer token resolved
once into the viewer, which the GraphQL view reads from the scope."""

from __future__ import annotations

import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from persistence.database import Database
from tenancy.tokens import authenticate

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
                scope[VIEWER] = await authenticate(self.db, token.strip())
        await self.app(scope, receive, send)
