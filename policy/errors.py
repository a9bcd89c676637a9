"""Every error that Never Log answers, declared once: the codes a client reads, and one
table (``ANSWERS``) from each exception to its HTTP status, code and message.

Every floor raises these (``policy`` imports nothing of the project, so every floor may
import it); ``api/errors.py`` is the one place that turns an exception into an HTTP
answer, and ``schema/errors.py`` the one place that turns it into an error of a GraphQL
result. No other module writes a code's string.

    Exception
    ├── Refusal                         a change refused as a whole, nothing saved: a
    │   │                               mutation's ``userErrors`` (``ErrorCode``), or in a
    │   │                               query a top-level FORBIDDEN, NOT_FOUND or
    │   │                               BAD_USER_INPUT
    │   └── Forbidden                   the viewer's role does not allow it
    └── PublicError                     an answer of the service itself (``ANSWERS``)
        ├── BadRequest                  400 BAD_REQUEST: not a request it can read
        ├── PersistedQueryHashMismatch  400 the hash is not the query text's
        ├── InvalidToken                401 UNAUTHENTICATED, WWW-Authenticate
        ├── MethodNotAllowed            405 a mutation over GET, Allow: POST
        ├── PayloadTooLarge             413 a body over the size limit
        ├── UnsupportedMediaType        415 a body that is not application/json
        ├── RateLimited                 429 the account's bucket does not hold the cost
        ├── InternalServerError         500 anything unexpected (the trace in the log)
        ├── ServiceUnavailable          503 the database cannot serve, Retry-After: 5
        │   └── ServerBusy              503 at the connection limit, Retry-After: 1
        ├── NotSignedIn                 UNAUTHENTICATED in a result: a field needs a token
        ├── BadUserInput                BAD_USER_INPUT in a result: an argument refused
        └── RequestNotRun               a GraphQL request refused before it ran: 400 with
            │                           application/graphql-response+json, 200 with
            │                           application/json (GraphQL over HTTP)
            ├── NoOperation             BAD_REQUEST: no operation of that name
            ├── PersistedQueryNotFound  a hash whose text this process does not keep
            └── LimitExceeded           a limit of the query (``limit``, ``value``)
                ├── MaxTokensExceeded
                ├── MaxQueryLengthExceeded
                ├── MaxStringLengthExceeded
                ├── MaxDepthExceeded
                ├── MaxAliasesExceeded
                ├── MaxCostExceeded
                └── MaxSubscriptionsExceeded
    ValueError
    └── TooManyRecipients, BadEmail     (policy/decision.py) BAD_USER_INPUT in a result

graphql-core's own errors (a query that does not parse or validate) get their code
(``GRAPHQL_PARSE_FAILED``, ``GRAPHQL_VALIDATION_FAILED``) in ``schema/errors.py``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class ErrorCode(enum.Enum):
    """The code of a problem in a mutation's ``userErrors`` (GraphQL ``UserErrorCode``)."""

    INVALID_PATTERN = "INVALID_PATTERN"
    INVALID_ADDRESS = "INVALID_ADDRESS"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    TOO_MANY_VALUES = "TOO_MANY_VALUES"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    LAST_SUPER_ADMIN = "LAST_SUPER_ADMIN"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    INVALID_INPUT = "INVALID_INPUT"


class Code(enum.Enum):
    """The code of a top-level error, its ``extensions.code``."""

    BAD_REQUEST = "BAD_REQUEST"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = ErrorCode.FORBIDDEN.value
    NOT_FOUND = ErrorCode.NOT_FOUND.value
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    RATE_LIMITED = "RATE_LIMITED"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    MAX_TOKENS_EXCEEDED = "MAX_TOKENS_EXCEEDED"
    MAX_QUERY_LENGTH_EXCEEDED = "MAX_QUERY_LENGTH_EXCEEDED"
    MAX_STRING_LENGTH_EXCEEDED = "MAX_STRING_LENGTH_EXCEEDED"
    MAX_DEPTH_EXCEEDED = "MAX_DEPTH_EXCEEDED"
    MAX_ALIASES_EXCEEDED = "MAX_ALIASES_EXCEEDED"
    MAX_COST_EXCEEDED = "MAX_COST_EXCEEDED"
    MAX_SUBSCRIPTIONS_EXCEEDED = "MAX_SUBSCRIPTIONS_EXCEEDED"


# -- the domain's refusals ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    code: ErrorCode
    message: str
    field: tuple[str, ...] | None = None


class Refusal(Exception):
    """A change that was refused as a whole; nothing of it was saved."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(p.message for p in self.problems))

    @classmethod
    def one(cls, code: ErrorCode, message: str, field: Sequence[str] | None = None) -> Refusal:
        return cls([Problem(code, message, tuple(field) if field is not None else None)])

    @property
    def code(self) -> Code:
        """Its code as a top-level error (in a query): FORBIDDEN and NOT_FOUND as they
        are, any other problem BAD_USER_INPUT."""
        first = self.problems[0].code if self.problems else ErrorCode.INVALID_INPUT
        if first is ErrorCode.FORBIDDEN:
            return Code.FORBIDDEN
        if first is ErrorCode.NOT_FOUND:
            return Code.NOT_FOUND
        return Code.BAD_USER_INPUT


class Forbidden(Refusal):
    def __init__(self, message: str = "Your role does not allow this.") -> None:
        super().__init__([Problem(ErrorCode.FORBIDDEN, message)])


def not_found(what: str, field: Sequence[str]) -> Refusal:
    """The same answer for an ID of another account as for one that never existed."""
    return Refusal.one(ErrorCode.NOT_FOUND, f"No {what} with this ID.", field)


# -- the service's answers ---------------------------------------------------------------


class PublicError(Exception):
    """An error told to the client as it is: its status, code and default message are its
    row of ``ANSWERS``; ``message`` replaces the default, ``headers`` add to the row's and
    ``extensions`` follow the code in its ``extensions`` (read by graphql-core too, where
    one is raised in a resolver)."""

    def __init__(
        self,
        message: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        answer = answer_for(type(self))
        self.message = answer.message if message is None else message
        self.headers = {**dict(answer.headers), **(headers or {})}
        self.extensions: dict[str, Any] = {"code": answer.code.value, **extensions}
        super().__init__(self.message)

    @property
    def status(self) -> int:
        return answer_for(type(self)).status

    @property
    def code(self) -> Code:
        return answer_for(type(self)).code


class BadRequest(PublicError):
    pass


class PersistedQueryHashMismatch(PublicError):
    pass


class InvalidToken(PublicError):
    pass


class MethodNotAllowed(PublicError):
    pass


class PayloadTooLarge(PublicError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The request body is larger than {limit} bytes.", limit=limit)


class UnsupportedMediaType(PublicError):
    pass


class RateLimited(PublicError):
    pass


class InternalServerError(PublicError):
    pass


class ServiceUnavailable(PublicError):
    pass


class ServerBusy(ServiceUnavailable):
    pass


class NotSignedIn(PublicError):
    pass


class BadUserInput(PublicError):
    pass


class RequestNotRun(PublicError):
    pass


class NoOperation(RequestNotRun):
    def __init__(self, operation_name: str | None) -> None:
        super().__init__(
            None
            if operation_name is None
            else f"The document has no operation named {operation_name!r}."
        )


class PersistedQueryNotFound(RequestNotRun):
    pass


class LimitExceeded(RequestNotRun):
    def __init__(self, message: str, *, limit: int, value: int) -> None:
        super().__init__(message, limit=limit, value=value)


class MaxTokensExceeded(LimitExceeded):
    pass


class MaxQueryLengthExceeded(LimitExceeded):
    pass


class MaxStringLengthExceeded(LimitExceeded):
    pass


class MaxDepthExceeded(LimitExceeded):
    pass


class MaxAliasesExceeded(LimitExceeded):
    pass


class MaxCostExceeded(LimitExceeded):
    pass


class MaxSubscriptionsExceeded(LimitExceeded):
    pass


@dataclass(frozen=True, slots=True)
class Answer:
    """How an exception is answered. ``status`` is the HTTP status of an answer that is
    this error alone (for a ``RequestNotRun``: with application/graphql-response+json; 200
    with application/json); an error within a GraphQL result is answered with the
    result's (200). ``message`` is said where the raiser gives none."""

    status: int
    code: Code
    message: str
    headers: tuple[tuple[str, str], ...] = ()


UNAVAILABLE_MESSAGE = "The service cannot reach its database right now; try again shortly."
INVALID_TOKEN_MESSAGE = (
    "The token is not valid: it is unknown or revoked, or its user was deactivated. Send a "
    "valid one as 'Authorization: Bearer <token>' (without a token only __typename, "
    "introspection and acceptInvitation answer)."
)
NOT_SIGNED_IN_MESSAGE = (
    "Sign in first: send 'Authorization: Bearer <token>'. Without a token only "
    "__typename, introspection and acceptInvitation answer."
)
# Where the database cannot serve: a client retries after this many seconds.
RETRY_AFTER_SECONDS = 5

ANSWERS: dict[type[PublicError], Answer] = {
    BadRequest: Answer(400, Code.BAD_REQUEST, "The request is not a GraphQL request."),
    PersistedQueryHashMismatch: Answer(
        400,
        Code.PERSISTED_QUERY_HASH_MISMATCH,
        "extensions.persistedQuery.sha256Hash is not the query's SHA-256.",
    ),
    InvalidToken: Answer(
        401,
        Code.UNAUTHENTICATED,
        INVALID_TOKEN_MESSAGE,
        (("WWW-Authenticate", 'Bearer error="invalid_token"'),),
    ),
    MethodNotAllowed: Answer(
        405,
        Code.METHOD_NOT_ALLOWED,
        "Mutations are sent with POST; GET runs queries only.",
        (("Allow", "POST"),),
    ),
    PayloadTooLarge: Answer(
        413, Code.PAYLOAD_TOO_LARGE, "The request body is larger than the limit."
    ),
    UnsupportedMediaType: Answer(
        415,
        Code.UNSUPPORTED_MEDIA_TYPE,
        "Send the request with Content-Type: application/json.",
    ),
    RateLimited: Answer(429, Code.RATE_LIMITED, "Too many requests; retry shortly."),
    InternalServerError: Answer(500, Code.INTERNAL_SERVER_ERROR, "Unexpected error."),
    ServiceUnavailable: Answer(
        503,
        Code.SERVICE_UNAVAILABLE,
        UNAVAILABLE_MESSAGE,
        (("Retry-After", str(RETRY_AFTER_SECONDS)),),
    ),
    ServerBusy: Answer(
        503,
        Code.SERVICE_UNAVAILABLE,
        "The server is at its connection limit; retry shortly.",
        (("Retry-After", "1"), ("Connection", "close")),
    ),
    NotSignedIn: Answer(200, Code.UNAUTHENTICATED, NOT_SIGNED_IN_MESSAGE),
    BadUserInput: Answer(200, Code.BAD_USER_INPUT, "An argument is not valid."),
    NoOperation: Answer(400, Code.BAD_REQUEST, "Name the operation to run with operationName."),
    # The message is the one that Apollo Client and urql look for (besides the code).
    PersistedQueryNotFound: Answer(400, Code.PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound"),
    MaxTokensExceeded: Answer(400, Code.MAX_TOKENS_EXCEEDED, "The query has too many tokens."),
    MaxQueryLengthExceeded: Answer(
        400, Code.MAX_QUERY_LENGTH_EXCEEDED, "The query text is too long."
    ),
    MaxStringLengthExceeded: Answer(
        400, Code.MAX_STRING_LENGTH_EXCEEDED, "A string argument is too long."
    ),
    MaxDepthExceeded: Answer(400, Code.MAX_DEPTH_EXCEEDED, "The query is too deep."),
    MaxAliasesExceeded: Answer(400, Code.MAX_ALIASES_EXCEEDED, "The query has too many aliases."),
    MaxCostExceeded: Answer(400, Code.MAX_COST_EXCEEDED, "The query would cost too much."),
    MaxSubscriptionsExceeded: Answer(
        400, Code.MAX_SUBSCRIPTIONS_EXCEEDED, "The connection holds too many subscriptions."
    ),
}


def answer_for(error: type[PublicError]) -> Answer:
    """The row of ``ANSWERS`` of an exception type: its own, else its nearest base's."""
    for cls in error.__mro__:
        answer = ANSWERS.get(cls)
        if answer is not None:
            return answer
    raise LookupError(f"{error.__name__} has no row in ANSWERS")
