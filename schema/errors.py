"""Errors as clients see them, mapped in one place.

- ``Refusal`` (tenancy) in a mutation -> ``userErrors`` in the payload;
- ``Refusal`` in a query, and ``PublicError`` -> a top-level error with ``extensions.code``;
- anything else -> "Unexpected error." with ``INTERNAL_SERVER_ERROR`` and a request id,
  while the server's log carries the trace under the same request id.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from persistence.pages import BadCursor
from tenancy.errors import ErrorCode, Problem, Refusal

log = logging.getLogger("neverlog.errors")

UserErrorCode = strawberry.enum(ErrorCode, name="UserErrorCode")


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


def from_refusal(refusal: Refusal) -> PublicError:
    code = refusal.problems[0].code.value if refusal.problems else ErrorCode.INVALID_INPUT.value
    if code not in (ErrorCode.FORBIDDEN.value, ErrorCode.NOT_FOUND.value):
        code = "BAD_USER_INPUT"
    return PublicError(str(refusal), code)


class MaskUnexpectedErrors(SchemaExtension):
    """Keeps GraphQL and public errors; masks everything else."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        request_id = _request_id(self.execution_context.context)
        result.errors = [self._public(error, request_id) for error in result.errors]

    def _public(self, error: GraphQLError, request_id: str) -> GraphQLError:
        original = error.original_error
        if original is None or isinstance(original, GraphQLError):
            return error
        if isinstance(original, BadCursor):
            return GraphQLError(
                f'"{original}" is not a cursor that this API handed out.',
                nodes=error.nodes,
                path=error.path,
                extensions={"code": "BAD_USER_INPUT", "argument": "after"},
            )
        if isinstance(original, Refusal):
            return GraphQLError(
                str(original),
                nodes=error.nodes,
                path=error.path,
                extensions=from_refusal(original).extensions,
            )
        log.error(
            "unexpected error in %s (request %s)",
            ".".join(str(p) for p in error.path or ()),
            request_id,
            exc_info=(type(original), original, original.__traceback__),
        )
        return GraphQLError(
            "Unexpected error.",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        )


def _request_id(context: Any) -> str:
    return str(getattr(context, "request_id", "") or "")
