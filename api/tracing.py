"""Traces with OpenTelemetry, when the standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (the
other ``OTEL_*`` variables, e.g. ``OTEL_SERVICE_NAME`` or ``OTEL_EXPORTER_OTLP_HEADERS``, work
as the SDK documents them): a span per HTTP request, named after its GraphQL operation
(``POST /graphql evaluateEmailLogging``, attribute ``graphql.operation.name``), and a span for
each SQL statement it runs, its child. Spans go out over OTLP/HTTP in batches. Unset, nothing
is set up and nothing is traced.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.middleware import OPERATION

ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_ENDPOINT"


def _otlp_exporter() -> Any:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def tracer_provider(
    environ: Mapping[str, str] = os.environ,
    *,
    exporter: Callable[[], Any] | None = None,
    batch: bool = True,
) -> Any | None:
    """A tracer provider exporting to the configured endpoint, or None where none is set."""
    if not environ.get(ENDPOINT_VARIABLE):
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    resource = Resource.create({"service.name": environ.get("OTEL_SERVICE_NAME", "neverlog")})
    provider = TracerProvider(resource=resource)
    processor = BatchSpanProcessor if batch else SimpleSpanProcessor
    provider.add_span_processor(processor((exporter or _otlp_exporter)()))
    return provider


class _NameAfterOperation:
    """Inside the request's span: when the response starts (the GraphQL view has named the
    operation by then, and the span is still open), the span takes the operation's name."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from opentelemetry import trace

        span = trace.get_current_span()

        async def naming(message: Message) -> None:
            operation = scope.get(OPERATION)
            if message["type"] == "http.response.start" and operation and span.is_recording():
                span.set_attribute("graphql.operation.name", operation)
                span.update_name(f"{scope.get('method', 'POST')} {scope['path']} {operation}")
            await send(message)

        await self.app(scope, receive, naming)


def middleware(provider: Any | None) -> list[Middleware]:
    """The request span's middleware, first of all; none without a provider."""
    if provider is None:
        return []
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return [
        Middleware(
            OpenTelemetryMiddleware, tracer_provider=provider, exclude_spans=["receive", "send"]
        ),
        Middleware(_NameAfterOperation),
    ]


def trace_sql(engine: AsyncEngine, provider: Any | None) -> None:
    """A span for each statement that this engine runs (none without a provider)."""
    if provider is None:
        return
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.instrumentation.sqlalchemy.version import __version__
    from opentelemetry.metrics import NoOpMeterProvider

    class _Announced:
        """Stands for the execution context of a statement that bypasses SQLAlchemy's
        execution and is only announced to the listeners (persistence's fast reads)."""

        _otel_span: Any = None

    class _Tracer(EngineTracer):
        def _before_cur_exec(
            self,
            conn: Any,
            cursor: Any,
            statement: str,
            params: Any,
            context: Any,
            executemany: bool,
        ) -> Any:
            run = super()._before_cur_exec
            if context is not None:
                return run(conn, cursor, statement, params, context, executemany)  # type: ignore[no-untyped-call]
            # No execution to follow: a span of the statement, ended at once.
            announced = _Announced()
            result = run(conn, cursor, statement, params, announced, executemany)  # type: ignore[no-untyped-call]
            if announced._otel_span is not None:
                announced._otel_span.end()
            return result

    tracer = provider.get_tracer("opentelemetry.instrumentation.sqlalchemy", __version__)
    usage = (
        NoOpMeterProvider()
        .get_meter(__name__)
        .create_up_down_counter("db.client.connections.usage")
    )
    _Tracer(tracer, engine.sync_engine, usage)  # type: ignore[no-untyped-call]
