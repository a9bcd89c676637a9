"""The last word on a request that failed outside GraphQL's own error handling: where the
database cannot serve it (down, dropped, the role or database refused, the pool exhausted),
HTTP 503 with ``SERVICE_UNAVAILABLE``, ``Retry-After`` and the request id; anything else,
HTTP 500 with ``INTERNAL_SERVER_ERROR`` and the request id, the trace in the log. Always
JSON, never the server's bare text."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.middleware import REQUEST_ID
from api.responses import send_error
from schema.errors import UNAVAILABLE_MESSAGE
from schema.services import is_unavailable

log = logging.getLogger("neverlog.http")
RETRY_AFTER_SECONDS = 5


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
            if is_unavailable(error):
                log.warning("database unavailable (request %s): %r", request_id, error)
                await send_error(
                    send,
                    503,
                    UNAVAILABLE_MESSAGE,
                    "SERVICE_UNAVAILABLE",
                    request_id=request_id,
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                )
                return
            log.error("unexpected error (request %s)", request_id, exc_info=error)
            await send_error(
                send, 500, "Unexpected error.", "INTERNAL_SERVER_ERROR", request_id=request_id
            )
