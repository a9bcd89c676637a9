"""The JSON error answers that the HTTP layer writes itself, before or outside GraphQL
(a bad Authorization header, a database that cannot serve, an unexpected failure): one
shape for all of them, as GraphQL's own errors have it."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.types import Send


async def send_error(
    send: Send,
    status: int,
    message: str,
    code: str,
    *,
    request_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Answer ``{"errors": [{"message", "extensions": {"code"[, "requestId"]}}]}``."""
    extensions: dict[str, str] = {"code": code}
    if request_id is not None:
        extensions["requestId"] = request_id
    body = orjson.dumps({"errors": [{"message": message, "extensions": extensions}]})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                *(
                    (name.lower().encode(), value.encode())
                    for name, value in (headers or {}).items()
                ),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
