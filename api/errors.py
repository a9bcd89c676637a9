"""Exceptions as HTTP answers, in one place (as Starlette's exception handlers are): the
status, code, message and headers of each come from policy/errors.py's ``ANSWERS``, the
error's shape from schema/errors.py, and every answer is JSON,
``{"errors": [{"message", "extensions": {"code", ...}}]}`` as GraphQL's own errors have
it, never the server's bare text.

- ``error_response``: a ``PublicError`` raised while a request was read or prepared (a
  body that is not JSON, a mutation over GET, a rate limit);
- ``request_failed``: a GraphQL request refused before it ran (parsing, validation,
  limits): 400 with application/graphql-response+json, 200 with application/json;
- ``result_status``: a result whose errors say that the database could not serve it;
- ``public``: what the client is told of any exception: itself where it is public, 503
  where the database cannot serve, else 500 (the trace in the log);
- ``send_error``: an answer written on the ASGI channel, for the middleware (a bad
  Authorization header), api/unavailable.py (anything raised outside GraphQL's own error
  handling) and the server at its connection limit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.responses import Response
from starlette.types import Send

from policy.errors import (
    ANSWERS,
    Code,
    InternalServerError,
    PublicError,
    RequestNotRun,
    ServiceUnavailable,
)
from schema.errors import graphql_error
from schema.services import is_unavailable

log = logging.getLogger("neverlog.http")

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"


def status_of(error: PublicError, media: str) -> int:
    """The status of an answer that is this error alone: its row's, but for a GraphQL
    request refused before it ran, answered 200 with application/json (GraphQL over
    HTTP's legacy media type)."""
    if isinstance(error, RequestNotRun) and media != GRAPHQL_RESPONSE:
        return 200
    return error.status


def error_response(
    error: PublicError, media: str = JSON, *, extensions: Mapping[str, Any] | None = None
) -> Response:
    """The error alone, with the answer's ``extensions`` (the request's cost) if given."""
    body: dict[str, Any] = {"errors": [graphql_error(error).formatted]}
    if extensions is not None:
        body["extensions"] = dict(extensions)
    return json_response(body, media, status_of(error, media), error.headers)


def request_failed(
    errors: Sequence[GraphQLError], media: str, *, cost: Mapping[str, Any] | None = None
) -> Response:
    """Parsing, validation, variables or limits: nothing ran, so there is no ``data``."""
    body: dict[str, Any] = {"errors": [e.formatted for e in errors]}
    if cost is not None:
        body["extensions"] = {"cost": dict(cost)}
    return json_response(body, media, 400 if media == GRAPHQL_RESPONSE else 200)


def result_status(errors: Sequence[GraphQLError], data: Any) -> tuple[int, Mapping[str, str]]:
    """The status and headers of a GraphQL result: 200, but where the database could not
    serve it and nothing was answered, ServiceUnavailable's (as the middleware answers
    when the database fails at sign-in: retry shortly)."""
    unavailable = Code.SERVICE_UNAVAILABLE.value
    if data is None and any((e.extensions or {}).get("code") == unavailable for e in errors):
        answer = ANSWERS[ServiceUnavailable]
        return answer.status, dict(answer.headers)
    return 200, {}


def public(error: BaseException, request_id: str | None) -> PublicError:
    """What the client is told of an exception raised outside GraphQL's own handling:
    itself where it is public, ServiceUnavailable where the database cannot serve, else
    InternalServerError (logged with its trace under the request id)."""
    if isinstance(error, PublicError):
        return error
    if is_unavailable(error):
        log.warning("database unavailable (request %s): %r", request_id, error)
        return ServiceUnavailable()
    log.error("unexpected error (request %s)", request_id, exc_info=error)
    return InternalServerError()


async def send_error(
    send: Send,
    error: PublicError,
    *,
    request_id: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
) -> None:
    """The error's answer on the ASGI channel, with ``requestId`` where given and
    ``headers`` after the error's own."""
    extensions = {} if request_id is None else {"requestId": request_id}
    body = orjson.dumps({"errors": [graphql_error(error, **extensions).formatted]})
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                *(
                    (name.lower().encode(), value.encode())
                    for name, value in (*error.headers.items(), *headers)
                ),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def json_response(
    body: dict[str, Any], media: str, status: int, headers: Mapping[str, str] | None = None
) -> Response:
    """A GraphQL answer's body as ``media`` (application/json or
    application/graphql-response+json)."""
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type=f"{media}; charset=utf-8",
        headers=dict(headers or {}),
    )
