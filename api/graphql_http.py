"""GraphQL over HTTP, after the GraphQL-over-HTTP specification (and its audit suite).

- POST with ``Content-Type: application/json``; GET with URL parameters, for queries only
  (a mutation over GET is 405 with ``Allow: POST``); anything else is refused before it runs
  (415 for another content type, 413 for a body over the size limit, 400 for a body that is
  not a JSON object of the GraphQL parameters).
- ``Accept: application/graphql-response+json`` gets that content type, and a request that
  fails before execution (parsing, validation, variables, limits) gets 4xx with no ``data``;
  ``application/json`` (and no ``Accept``) gets 200 with ``errors`` as before.
- Before execution: strings in the variables (before parsing), the parser's token limit,
  then string length, depth, alias and cost limits, then the account's rate limit (429
  with ``Retry-After``). The work before execution is charged by the request's size (1
  point per KiB), refused or not, with a token or without; a request that runs is charged
  that and its calculated cost. Every answer reports what it was charged in
  ``extensions.cost``.
- Automatic persisted queries (Apollo's protocol): ``extensions.persistedQuery`` with
  ``version: 1`` and a ``sha256Hash`` may stand for the text of a query this process keeps
  (api/querycache.py); a hash it does not keep answers ``PERSISTED_QUERY_NOT_FOUND``, and
  the client sends the text with the hash again; a hash that is not the text's is refused.
- Queries run on their compiled plans where they have one (schema/compiled_operations.py),
  else on stock Strawberry execution.
- A browser asking for HTML gets GraphiQL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response

from api.errors import (
    GRAPHQL_RESPONSE,
    JSON,
    error_response,
    json_response,
    request_failed,
    result_status,
)
from api.graphiql import GRAPHIQL_HEADERS, graphiql_html
from api.metrics import Metrics
from api.middleware import OPERATION, REQUEST_ID, RESULT
from api.querycache import Prepared, QueryCache, sha256
from api.ratelimit import Buckets, Throttle
from policy.errors import (
    BadRequest,
    Code,
    MaxCostExceeded,
    MaxTokensExceeded,
    MethodNotAllowed,
    NoOperation,
    PayloadTooLarge,
    PersistedQueryHashMismatch,
    PersistedQueryNotFound,
    PublicError,
    RateLimited,
    UnsupportedMediaType,
)
from schema.compiled_operations import (
    Plan,
    compile_operation,
    count_objects,
    execute_operation,
)
from schema.context import Context, viewer_of
from schema.errors import coded, graphql_error, public_error
from schema.limits import (
    PARSE_CHARACTERS_PER_POINT,
    Measure,
    QueryLimits,
    check,
    longest_string,
    measure,
    query_too_long,
    string_too_long,
    validation_points,
)
from schema.services import AccountLimits, Database

# The request's size in bytes, as read (the body of a POST).
SIZE = "neverlog.request_size"
SIZE_BYTES_PER_POINT = 1024
# Parsing and validating a text that this process has not seen (api/querycache.py) is
# charged by its work (its characters, and schema.limits.validation_points: its fragments,
# the fields compared within each selection set), taken from the bucket and reported as
# extensions.cost.parsingCost; nothing where the text was cached. A text whose validation
# would cost more than the cost limit is refused before it is validated.
PARSING = "neverlog.parsing_cost"


@dataclass(frozen=True, slots=True)
class Params:
    query: str | None  # None where a persisted query's hash stands for it
    operation_name: str | None
    variables: dict[str, Any] | None
    persisted: str | None = None  # extensions.persistedQuery.sha256Hash


@dataclass(frozen=True, slots=True)
class HttpOptions:
    graphiql: bool = True
    introspection: bool = True
    suggestions: bool = True
    max_body_bytes: int = 1_048_576
    # Queries run on their compiled plans (schema/compiled_operations.py); False: every
    # request on stock Strawberry execution (NEVERLOG_COMPILED_OPERATIONS).
    compiled_operations: bool = True


class GraphQLHTTP:
    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        db: Database,
        limits: AccountLimits,
        query_limits: QueryLimits,
        buckets: Buckets,
        options: HttpOptions,
        metrics: Metrics,
        cache: QueryCache | None = None,
        invitation_attempts: Buckets | None = None,
        execution_context_class: type[Any] | None = None,
    ) -> None:
        self.schema = schema
        # Strawberry's execution context class (strawberry.Schema.execution_context_class),
        # for stock execution.
        self.execution_context_class = execution_context_class
        self.db = db
        self.limits = limits
        self.query_limits = query_limits
        self.buckets = buckets
        self.options = options
        self.metrics = metrics
        self.rules = list(specified_rules)
        if not options.introspection:
            self.rules.append(NoSchemaIntrospectionCustomRule)
        self.ide = graphiql_html() if options.graphiql else None
        # Parsing, validation and the measures that read no variable are kept by query text,
        # bounded in bytes, for every request of this process (api/querycache.py).
        self.cache = cache if cache is not None else QueryCache()
        # acceptInvitation's attempts, per client address (schema/invitations.py).
        self.invitation_attempts = invitation_attempts

    # -- HTTP ----------------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        media = _negotiate(request.headers.get("accept"))
        try:
            if request.method == "GET":
                if (
                    self.ide is not None
                    and "query" not in request.query_params
                    and _wants_html(request)
                ):
                    return HTMLResponse(self.ide, headers=GRAPHIQL_HEADERS)
                params = _params_from_get(request)
            else:
                params = params_from_json(await self._json_body(request))
            return await self._run(request, params, media)
        except PublicError as refused:
            # Refused before anything ran, yet read: charged by its size all the same.
            parsing = request.scope.get(PARSING, 0)
            throttle = await self._charge(request, self._size_cost(request) + parsing)
            if not throttle.allowed:
                return self._throttled(request, throttle, media, self._size_cost(request))
            return error_response(refused, media)
        except ClientDisconnect:
            # The client went away while sending its request: nobody is left to answer.
            return Response(status_code=499)

    async def _json_body(self, request: Request) -> Any:
        content_type = request.headers.get("content-type")
        if not content_type:
            raise UnsupportedMediaType
        if content_type.split(";")[0].strip().lower() != JSON:
            raise UnsupportedMediaType(
                f"Content-Type {content_type.split(';')[0].strip()} is not supported: send application/json."
            )
        limit = self.options.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(limit)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            request.scope[SIZE] = len(body)
            if len(body) > limit:
                raise PayloadTooLarge(limit)
        if not body:
            raise BadRequest("The request has no body: send a JSON object with a query.")
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"The body is not valid JSON: {exc}.") from exc

    # -- GraphQL -------------------------------------------------------------------------

    def prepare(self, params: Params) -> tuple[Prepared, int]:
        """The query parsed and validated, and what that cost: nothing where this process
        has it already, else 1 point per PARSE_CHARACTERS_PER_POINT characters of it and
        its validation points (schema.limits.validation_points; for a text refused before
        validation, its characters only: all that was done). A persisted query's hash
        stands for its text where this process keeps it."""
        query = params.query
        if query is None:
            assert params.persisted is not None
            kept = self.cache.get(params.persisted)
            if kept is None:
                # Apollo's clients send the text with the hash again on this message.
                raise PersistedQueryNotFound
            return kept, 0
        key = sha256(query)
        if params.persisted is not None and params.persisted != key:
            raise PersistedQueryHashMismatch(
                f"extensions.persistedQuery.sha256Hash is {params.persisted}, but the "
                f"query's SHA-256 is {key}."
            )
        found = self.cache.get(key)
        if found is not None:
            return found, 0
        document, errors, points = self._parse_and_validate(query)
        found = Prepared(document, errors, length=len(query))
        self.cache.put(key, found)
        return found, points

    def _plan(
        self,
        prepared: Prepared,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        name: str | None,
    ) -> Plan | None:
        """The operation's plan, compiled on its first request and kept with its text."""
        if not self.options.compiled_operations:
            return None
        if name in prepared.plans:
            plan: Plan | None = prepared.plans[name]
            return plan
        plan = compile_operation(self.schema, document, operation)
        prepared.plans[name] = plan
        return plan

    def _parse_and_validate(
        self, query: str
    ) -> tuple[DocumentNode | None, list[GraphQLError], int]:
        parsed = -(-len(query) // PARSE_CHARACTERS_PER_POINT)
        document, errors = self._parse(query)
        if document is None:
            return None, errors, parsed
        validating = validation_points(query, document)
        points = parsed + validating
        limit = self.query_limits.max_cost
        if validating > limit:
            return (
                None,
                [
                    graphql_error(
                        MaxCostExceeded(
                            f"Validating this query text would cost {validating} points; the "
                            f"limit is {limit}. Send fewer fields in one selection or fewer "
                            "fragments.",
                            limit=limit,
                            value=validating,
                        )
                    )
                ],
                parsed,
            )
        errors = validate(
            self.schema, document, self.rules, hide_suggestions=not self.options.suggestions
        )
        for invalid in errors:
            coded(invalid, Code.GRAPHQL_VALIDATION_FAILED)
        return document, errors, points

    def _parse(self, query: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
        try:
            document = parse(query, max_tokens=self.query_limits.max_tokens)
        except GraphQLSyntaxError as error:
            if "tokens. Parsing aborted" in error.message:
                limit = self.query_limits.max_tokens
                too_many = MaxTokensExceeded(
                    f"The query has more than {limit} tokens; the limit is {limit}.",
                    limit=limit,
                    value=limit + 1,
                )
                return None, [graphql_error(too_many)]
            return None, [coded(error, Code.GRAPHQL_PARSE_FAILED)]
        return document, []

    async def _run(self, request: Request, params: Params, media: str) -> Response:
        size_cost = self._size_cost(request)
        request.scope[PARSING] = 0
        longest = longest_string(params.variables) if params.variables else 0
        if longest > self.query_limits.max_string_length:
            # Refused before the query is even parsed.
            limit = self.query_limits.max_string_length
            return await self._refuse(request, [string_too_long(limit, longest)], media, size_cost)
        if params.query is not None and len(params.query) > self.query_limits.max_query_length:
            limit = self.query_limits.max_query_length
            error = query_too_long(limit, len(params.query))
            return await self._refuse(request, [error], media, size_cost)
        try:
            prepared, parsing = self.prepare(params)
        except PersistedQueryNotFound as missing:
            return await self._refuse(request, [graphql_error(missing)], media, size_cost)
        request.scope[PARSING] = parsing
        document, errors = prepared.document, prepared.errors
        if document is None or errors:
            return await self._refuse(request, errors, media, size_cost)
        operation = get_operation_ast(document, params.operation_name)
        if operation is None:
            error = graphql_error(NoOperation(params.operation_name))
            return await self._refuse(request, [error], media, size_cost)
        request.scope[OPERATION] = _operation_name(operation)
        if request.method == "GET" and operation.operation is not OperationType.QUERY:
            raise MethodNotAllowed
        measured = self.measure(params, prepared, document, operation)
        over = check(measured, self.query_limits)
        if over is not None:
            return await self._refuse(request, [over], media, size_cost)
        cost = measured.cost + size_cost
        throttle = await self._charge(request, cost + parsing)
        if not throttle.allowed:
            return self._throttled(request, throttle, media, cost)
        request_id = request.scope.get(REQUEST_ID, "")
        context = Context(
            db=self.db,
            limits=self.limits,
            scope=request.scope,
            request_id=request_id,
            invitation_attempts=_ClientAttempts(self.invitation_attempts, request),
            observe_decisions=self.metrics.observe_decisions,
        )
        plan = self._plan(prepared, document, operation, params.operation_name)
        path = ["plan" if plan is not None else "stock"]
        counted: list[int] = []
        result = await execute_operation(
            plan,
            self.schema,
            document,
            context=context,
            variables=params.variables,
            operation_name=params.operation_name,
            execution_context_class=self.execution_context_class,
            on_stock=lambda: path.__setitem__(0, "abandoned"),
            on_objects=counted.append,  # a plan counts its answer's objects as it makes them
        )
        self.metrics.executions.labels(path[0]).inc()
        context.objects = counted[0] if counted else count_objects(result.data)
        request.scope[RESULT] = "ok" if not result.errors else "errors"
        extension = self._cost(cost, throttle, parsing)
        # An answer holding more objects than its calculated cost (the decisions of large
        # saved simulations, whose size no static measure knows) is charged the difference,
        # as far as the bucket holds it: the bucket then throttles what follows.
        extra = context.objects - measured.cost
        if extra > 0:
            taken = min(extra, math.floor(throttle.remaining))
            if taken >= 1:
                after = await self._charge(request, taken)
                extension["throttleStatus"] = after.as_extension()
            extension["actualQueryCost"] = cost + extra
        return self._answer(result, media, request_id, extension)

    def measure(
        self,
        params: Params,
        prepared: Prepared,
        document: DocumentNode,
        operation: OperationDefinitionNode,
    ) -> Measure:
        measured: Measure | None = prepared.measures.get(params.operation_name)
        if measured is None:
            fragments = {
                d.name.value: d
                for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            measured = measure(
                self.schema,
                operation,
                fragments,
                params.variables,
                self.query_limits,
                prepared.parts,
            )
            if not measured.uses_variables:
                prepared.measures[params.operation_name] = measured
        return measured

    # -- Charging ------------------------------------------------------------------------

    def _size_cost(self, request: Request) -> int:
        """What the work before execution (reading, parsing, validating, measuring) is
        charged: 1 point per full KiB of the request (its body, or its URL's query)."""
        size = request.scope.get(SIZE)
        if size is None:
            size = len(request.scope.get("query_string", b""))
        return int(size) // SIZE_BYTES_PER_POINT

    async def _charge(self, request: Request, cost: int) -> Throttle:
        return await self.buckets.take(_bucket_key(request, viewer_of(request.scope)), cost)

    async def _refuse(
        self, request: Request, errors: list[GraphQLError], media: str, size_cost: int
    ) -> Response:
        """A request refused before execution: it is charged its size (at least 1 point),
        signed in or not."""
        throttle = await self._charge(request, size_cost + request.scope.get(PARSING, 0))
        if not throttle.allowed:
            return self._throttled(request, throttle, media, size_cost)
        _refused(request, errors, self.metrics)
        parsing = request.scope.get(PARSING, 0)
        return request_failed(errors, media, cost=self._cost(max(size_cost, 1), throttle, parsing))

    def _throttled(self, request: Request, throttle: Throttle, media: str, cost: int) -> Response:
        self.metrics.refusals.labels(Code.RATE_LIMITED.value).inc()
        request.scope[RESULT] = "rate_limited"
        parsing = request.scope.get(PARSING, 0)
        return _rate_limited(throttle, cost, media, self._cost(cost, throttle, parsing))

    def _cost(self, cost: int, throttle: Throttle | None, parsing: int = 0) -> dict[str, Any]:
        extension: dict[str, Any] = {
            "requestedQueryCost": cost,
            "parsingCost": parsing,
            "maximumAvailable": self.query_limits.max_cost,
        }
        if throttle is not None:
            extension["throttleStatus"] = throttle.as_extension()
        return extension

    def _answer(
        self, result: ExecutionResult, media: str, request_id: str, cost: dict[str, Any]
    ) -> Response:
        errors = [public_error(e, request_id) for e in result.errors or ()]
        if result.data is None and errors and all(e.path is None for e in errors):
            # Variables that could not be coerced: the request failed before execution.
            return request_failed(errors, media, cost=cost)
        body: dict[str, Any] = {"data": result.data}
        if errors:
            body["errors"] = [e.formatted for e in errors]
        body["extensions"] = {"cost": cost}
        status, headers = result_status(errors, result.data)
        return json_response(body, media, status, headers)


class _ClientAttempts:
    """The invitation codes that the request's client address may try (schema/context.py's
    InvitationAttempts): one bucket per address, in this process or in Redis."""

    def __init__(self, buckets: Buckets | None, request: Request) -> None:
        self.buckets = buckets
        client = request.client.host if request.client else "unknown"
        self.key = f"address:{client}"

    async def admit(self) -> float:
        if self.buckets is None:
            return 0.0
        throttle = await self.buckets.take(self.key, 1)
        return 0.0 if throttle.allowed else max(throttle.retry_after, 0.001)

    async def accepted(self) -> None:
        if self.buckets is not None:
            await self.buckets.give_back(self.key, 1)


def _operation_name(operation: OperationDefinitionNode) -> str:
    """The operation's name, or for an anonymous one its first field (``evaluateEmailLogging``):
    names a person can read in logs and metrics."""
    if operation.name is not None:
        return operation.name.value
    for selection in operation.selection_set.selections:
        if isinstance(selection, FieldNode):
            return selection.name.value
    return "anonymous"


def _refused(request: Request, errors: list[GraphQLError], metrics: Metrics) -> None:
    request.scope[RESULT] = "refused"
    for error in errors:
        metrics.refusals.labels(
            str((error.extensions or {}).get("code", Code.GRAPHQL_VALIDATION_FAILED.value))
        ).inc()


def _rate_limited(throttle: Throttle, cost: int, media: str, extension: dict[str, Any]) -> Response:
    wait = throttle.retry_after
    if math.isinf(wait):
        error = RateLimited(
            f"The query costs {cost} points, more than the account's bucket holds "
            f"({throttle.capacity:g}).",
            limit=int(throttle.capacity),
            value=cost,
        )
    else:
        seconds = max(1, math.ceil(wait))
        error = RateLimited(
            f"Too many requests: this query costs {cost} points and the account's bucket "
            f"holds {math.floor(throttle.remaining)}; retry in {seconds} s.",
            headers={"Retry-After": str(seconds)},
            retryAfterSeconds=seconds,
        )
    return error_response(error, media, extensions={"cost": extension})


def _negotiate(accept: str | None) -> str:
    if accept and GRAPHQL_RESPONSE in accept:
        return GRAPHQL_RESPONSE
    return JSON


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _bucket_key(request: Request, viewer: Any) -> str:
    if viewer is not None:
        return f"account:{viewer.account_id}"
    client = request.client.host if request.client else "unknown"
    return f"address:{client}"


def _params_from_get(request: Request) -> Params:
    query = request.query_params.get("query")
    variables = request.query_params.get("variables")
    extensions = request.query_params.get("extensions")
    try:
        return params_from_json(
            {
                "query": query,
                "operationName": request.query_params.get("operationName"),
                "variables": orjson.loads(variables) if variables else None,
                "extensions": orjson.loads(extensions) if extensions else None,
            }
        )
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"variables and extensions must be JSON: {exc}.") from exc


def params_from_json(payload: Any) -> Params:
    if not isinstance(payload, dict):
        raise BadRequest("The body must be a JSON object with a query.")
    extensions = payload.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise BadRequest("extensions must be a JSON object.")
    persisted = _persisted_hash(extensions)
    query = payload.get("query")
    if query is None and persisted is not None:
        pass  # the hash stands for the text
    elif not isinstance(query, str) or not query.strip():
        raise BadRequest('The request has no query: send {"query": "..."}.')
    operation_name = payload.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise BadRequest("operationName must be a string.")
    variables = payload.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise BadRequest("variables must be a JSON object.")
    return Params(
        query=query, operation_name=operation_name, variables=variables, persisted=persisted
    )


def _persisted_hash(extensions: dict[str, Any] | None) -> str | None:
    """The SHA-256 of extensions.persistedQuery (Apollo's automatic persisted queries)."""
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise BadRequest(
            'extensions.persistedQuery must be {"version": 1, "sha256Hash": "<64 hex digits>"}.'
        )
    digest = persisted.get("sha256Hash")
    if (
        not isinstance(digest, str)
        or len(digest) != 64
        or any(c not in "0123456789abcdef" for c in digest)
    ):
        raise BadRequest(
            f"extensions.persistedQuery.sha256Hash must be 64 lowercase hexadecimal digits, "
            f"not {digest!r:.80}."
        )
    return digest
