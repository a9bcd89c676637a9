"""Errors as clients see them, mapped in one place.

- ``Refusal`` (tenancy) in a mutation -> ``userErrors`` in the payload (schema/mutations.py);
- ``Refusal`` in a query, and ``PublicError`` -> a top-level error with ``extensions.code``;
- a database that cannot be reached -> ``SERVICE_UNAVAILABLE``;
- anything else -> "Unexpected error." with ``INTERNAL_SERVER_ERROR`` and a request id,
  while the server's log carries the trace under the same request id. Nothing internal
  (SQL, stack frames, paths) reaches the client.
"""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from graphql import GraphQLError

from persistence.database import is_unavailable
from persistence.pages import BadCursor
from tenancy.errors import ErrorCode, Problem, Refusal

log = logging.getLogger("neverlog.errors")

UserErrorCode = strawberry.enum(ErrorCode, name="UserErrorCode")
UNAVAILABLE_MESSAGE = "The service cannot reach its database right now; try again shortly."


@strawberry.type(description="A problem with a mutation's input; nothing was changed.")
class UserError:
    field: list[str] | None
    message: str
    code: UserErrorCode  # type: ignore[valid-type]

    @classmethod
    def from_problem(cls, problem: Problem) -> UserError:
        return cls(
            field=list(problem.field) if problem.field is not None else None,
            message=problem.message,
            code=problem.code,
        )


def user_errors(refusal: Refusal) -> list[UserError]:
    return [UserError.from_problem(p) for p in refusal.problems]


class PublicError(GraphQLError):
    """A top-level error meant for the client, with its code in ``extensions``."""

    def __init__(self, message: str, code: str, **extensions: Any) -> None:
        super().__init__(message, extensions={"code": code, **extensions})


def bad_input(message: str, **extensions: Any) -> PublicError:
    return PublicError(message, "BAD_USER_INPUT", **extensions)


def _refusal_code(refusal: Refusal) -> str:
    code = refusal.problems[0].code.value if refusal.problems else ErrorCode.INVALID_INPUT.value
    return (
        code if code in (ErrorCode.FORBIDDEN.value, ErrorCode.NOT_FOUND.value) else "BAD_USER_INPUT"
    )


def public_error(error: GraphQLError, request_id: str) -> GraphQLError:
    """The error as the client may see it."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return error

    def located(message: str, **extensions: Any) -> GraphQLError:
        return GraphQLError(message, nodes=error.nodes, path=error.path, extensions=extensions)

    if isinstance(original, BadCursor):
        return located(
            f'"{original}" is not a cursor that this API handed out.',
            code="BAD_USER_INPUT",
            argument="after",
        )
    if isinstance(original, Refusal):
        return located(str(original), code=_refusal_code(original))
    if is_unavailable(original):
        log.warning("database unavailable (request %s): %r", request_id, original)
        return located(UNAVAILABLE_MESSAGE, code="SERVICE_UNAVAILABLE", requestId=request_id)
    log.error(
        "unexpected error in %s (request %s)",
        ".".join(str(p) for p in error.path or ()),
        request_id,
        exc_info=(type(original), original, original.__traceback__),
    )
    return located("Unexpected error.", code="INTERNAL_SERVER_ERROR", requestId=request_id)
