"""The last word on a request that failed outside GraphQL's own error handling: where the
database cannot serve it (down, dropped, the role or database refused, the pool exhausted),
HTTP 503 with ``SERVICE_UNAVAILABLE``, ``Retry-After`` and the request id; anything else,
HTTP 500 with ``INTERNAL_SERVER_ERROR`` and the request id, the trace in the log. Always
JSON, never the server's bare text; api/errors.py words the answer."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import public, send_error
from api.middleware import REQUEST_ID


class CannotServeMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as error:
            if started:
                raise
            request_id = scope.get(REQUEST_ID)
            await send_error(send, public(error, request_id), request_id=request_id)
