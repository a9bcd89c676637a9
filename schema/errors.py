"""Errors as clients see them, mapped in one place.

- ``Refusal`` (tenancy) raised anywhere below a mutation -> ``userErrors`` in its payload
  (``RefusalsAsUserErrors``, which every mutation of ``signed_in_mutation`` carries);
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
from strawberry.extensions.field_extension import AsyncExtensionResolver, FieldExtension
from strawberry.types import Info
from strawberry.types.field import StrawberryField

from policy import BadEmail, TooManyRecipients
from schema.enums import ErrorCode
from schema.permissions import SIGNED_IN, Allowed, declared
from tenancy.decisions import InEmail
from tenancy.errors import Problem, Refusal
from tenancy.records import BadCursor, is_unavailable

log = logging.getLogger("neverlog.errors")

UNAVAILABLE_MESSAGE = "The service cannot reach its database right now; try again shortly."


@strawberry.type(description="A problem with a mutation's input; nothing was changed.")
class UserError:
    field: list[str] | None
    message: str
    code: ErrorCode

    @classmethod
    def from_problem(cls, problem: Problem) -> UserError:
        return cls(
            field=list(problem.field) if problem.field is not None else None,
            message=problem.message,
            code=problem.code,
        )


def user_errors(refusal: Refusal) -> list[UserError]:
    return [UserError.from_problem(p) for p in refusal.problems]


class RefusalsAsUserErrors(FieldExtension):
    """A mutation's refusals as its payload's ``userErrors``: a ``Refusal`` raised anywhere
    below the resolver (a role, a limit, a bad pattern) answers ``Payload(user_errors=...)``,
    the payload being the type the mutation declares. No resolver handles refusals itself."""

    def apply(self, field: StrawberryField) -> None:
        self.payload: Any = field.type

    def resolve(self, next_: Any, source: Any, info: Info, **kwargs: Any) -> Any:
        raise TypeError("mutations are async: RefusalsAsUserErrors has no sync path")

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Info, **kwargs: Any
    ) -> Any:
        try:
            return await next_(source, info, **kwargs)
        except Refusal as refusal:
            return self.payload(user_errors=user_errors(refusal))


def signed_in_mutation(*, permission: Allowed | None = None, **kwargs: Any) -> Any:
    """A mutation for a signed-in viewer whose refusals are its payload's ``userErrors``;
    ``permission``, the action it declares (schema/permissions.py), refused as they are."""
    # Strawberry runs a field's extensions last to first: signing in (permission_classes,
    # appended last) outermost, then the refusals, then the declared action, whose refusal
    # is therefore answered in userErrors too.
    inner = [declared(permission)] if permission is not None else []
    return strawberry.mutation(
        permission_classes=SIGNED_IN, extensions=[*inner, RefusalsAsUserErrors()], **kwargs
    )


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

    if isinstance(original, InEmail):
        # An email of evaluateEmailLoggingBatch: its error, at its index in the batch.
        at = GraphQLError(
            str(original.error),
            nodes=error.nodes,
            path=[*(error.path or ()), original.index],
            original_error=original.error,
        )
        if isinstance(original.error, TooManyRecipients):
            extensions = {"code": "BAD_USER_INPUT", "limit": original.error.limit}
            return GraphQLError(at.message, nodes=at.nodes, path=at.path, extensions=extensions)
        if isinstance(original.error, BadEmail):
            field = ["emails", str(original.index), original.error.field]
            extensions = {"code": "BAD_USER_INPUT", "field": field}
            return GraphQLError(at.message, nodes=at.nodes, path=at.path, extensions=extensions)
        return public_error(at, request_id)
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
