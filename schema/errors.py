"""Errors as a GraphQL result has them, mapped in one place (``api/errors.py`` is the
other, for HTTP answers; both read policy/errors.py's table):

- ``Refusal`` raised anywhere below a mutation -> ``userErrors`` in its payload
  (``RefusalsAsUserErrors``, which every mutation of ``signed_in_mutation`` carries);
- ``Refusal`` in a query -> a top-level error with its code (``Refusal.code``), and a
  ``PublicError`` -> a top-level error with its row's code and its extensions;
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
from policy.errors import (
    BadUserInput,
    Code,
    InternalServerError,
    Problem,
    PublicError,
    Refusal,
    ServiceUnavailable,
)
from schema.enums import ErrorCode
from schema.permissions import SIGNED_IN, Allowed, declared
from tenancy.decisions import InEmail
from tenancy.records import BadCursor, is_unavailable

log = logging.getLogger("neverlog.errors")


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


def graphql_error(
    error: PublicError | Refusal,
    *,
    nodes: Any = None,
    path: Any = None,
    **extensions: Any,
) -> GraphQLError:
    """The error as a GraphQL result has it: its message, and ``extensions`` holding its
    code first, then its own extensions and ``extensions``."""
    if isinstance(error, PublicError):
        message, own = error.message, error.extensions
    else:
        message, own = str(error), {"code": error.code.value}
    return GraphQLError(message, nodes=nodes, path=path, extensions={**own, **extensions})


def coded(error: GraphQLError, code: Code) -> GraphQLError:
    """graphql-core's own error (parsing, validation, variables) with its code."""
    error.extensions = {"code": code.value}
    return error


def public_error(error: GraphQLError, request_id: str) -> GraphQLError:
    """The error as the client may see it."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return error

    def located(public: PublicError | Refusal, **extensions: Any) -> GraphQLError:
        return graphql_error(public, nodes=error.nodes, path=error.path, **extensions)

    if isinstance(original, InEmail):
        # An email of evaluateEmailLoggingBatch: its error, at its index in the batch.
        at = GraphQLError(
            str(original.error),
            nodes=error.nodes,
            path=[*(error.path or ()), original.index],
            original_error=original.error,
        )
        if isinstance(original.error, TooManyRecipients):
            bad = BadUserInput(at.message, limit=original.error.limit)
            return graphql_error(bad, nodes=at.nodes, path=at.path)
        if isinstance(original.error, BadEmail):
            field = ["emails", str(original.index), original.error.field]
            return graphql_error(
                BadUserInput(at.message, field=field), nodes=at.nodes, path=at.path
            )
        return public_error(at, request_id)
    if isinstance(original, BadCursor):
        return located(
            BadUserInput(
                f'"{original}" is not a cursor that this API handed out.', argument="after"
            )
        )
    if isinstance(original, PublicError | Refusal):
        return located(original)
    if is_unavailable(original):
        log.warning("database unavailable (request %s): %r", request_id, original)
        return located(ServiceUnavailable(), requestId=request_id)
    log.error(
        "unexpected error in %s (request %s)",
        ".".join(str(p) for p in error.path or ()),
        request_id,
        exc_info=(type(original), original, original.__traceback__),
    )
    return located(InternalServerError(), requestId=request_id)
