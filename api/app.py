"""The Starlette application: /graphql (GraphiQL in a browser), /healthz and /readyz, and
the settings page at / (plain files of api/static/, which talk only to /graphql)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from api import tracing
from api.graphql_http import GraphQLHTTP, HttpOptions
from api.live import Live, LiveOptions
from api.metrics import Metrics, metrics_endpoint
from api.middleware import BearerAuthMiddleware, RequestIdLogMetricsMiddleware
from api.querycache import QueryCache
from api.ratelimit import Buckets, cost_buckets
from api.settings import Settings
from api.unavailable import CannotServeMiddleware
from schema import build_schema, graphql_schema
from schema.services import Database, running

log = logging.getLogger("neverlog")
STATIC = Path(__file__).with_name("static")
# The settings page loads nothing from elsewhere and runs no inline script: a browser that
# honours this policy refuses any injected markup's scripts, styles and requests.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def settings_page(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)


async def favicon(request: Request) -> Response:
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    try:
        await request.app.state.db.ping()
    except Exception:
        log.warning("readiness check failed: the database does not answer", exc_info=True)
        return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
    return JSONResponse({"status": "ready", "database": "up"})


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> Starlette:
    """The app. ``database`` lets tests share one engine between apps.

    Each service is built here once, by the builders below, and reached through
    ``app.state`` (or the request's context), never through a module global."""
    settings = settings or Settings()
    db = database or settings.database()
    owns_db = database is None
    metrics = Metrics()
    buckets, invitation_attempts = _rate_limits(settings, metrics)
    view = _graphql_view(settings, db, metrics, buckets, invitation_attempts)
    # Subscriptions on the same route (api/live.py); the hub is made by the lifespan.
    live = _live(settings, view)
    traces = tracing.tracer_provider()
    tracing.trace_sql(db.engine, traces)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # What starts is stopped in the reverse order, each step even where one before it
        # failed (or startup failed part way): tenancy's services (tenancy/services.py:
        # the background tasks stopped and awaited, the gathered lastUsedAt written, and
        # only then the engine closed), then the rate limits' stores and the traces;
        # nothing is left to the garbage collector (an unclosed connection is a
        # ResourceWarning).
        async with contextlib.AsyncExitStack() as stopping:
            if traces is not None:
                stopping.callback(traces.shutdown)
            stopping.push_async_callback(invitation_attempts.aclose)
            stopping.push_async_callback(buckets.aclose)
            services = await stopping.enter_async_context(
                running(
                    db,
                    settings.services,
                    owns_db=owns_db,
                    migrate_first=settings.is_sqlite and owns_db,
                )
            )
            app.state.services = services
            live.hub = services.hub
            yield

    app = Starlette(
        routes=[
            Route("/graphql", view.handle, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", live.endpoint),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            Route("/", settings_page),
            Route("/favicon.ico", favicon),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=_middleware(settings, db, metrics, traces),
        lifespan=lifespan,
    )
    app.state.db = db
    app.state.metrics = metrics
    app.state.graphql = view
    app.state.live = live
    app.state.settings = settings
    app.state.tracer_provider = traces
    return app


def _rate_limits(settings: Settings, metrics: Metrics) -> tuple[Buckets, Buckets]:
    """The cost buckets of requests, and those of invitation codes tried per client address
    (shared through Redis where it is set)."""
    buckets = cost_buckets(
        redis_url=settings.redis_url,
        capacity=settings.rate_limit_capacity,
        restore_rate=settings.rate_limit_restore_rate,
        prefix=settings.rate_limit_key_prefix,
        on_store_error=metrics.rate_limit_store_errors.inc,
    )
    invitation_attempts = cost_buckets(
        redis_url=settings.redis_url,
        capacity=settings.invitation_attempts,
        restore_rate=settings.invitation_attempts / settings.invitation_attempts_window_seconds,
        prefix=settings.rate_limit_key_prefix + "invitation:",
        on_store_error=metrics.rate_limit_store_errors.inc,
    )
    return buckets, invitation_attempts


def _graphql_view(
    settings: Settings,
    db: Database,
    metrics: Metrics,
    buckets: Buckets,
    invitation_attempts: Buckets,
) -> GraphQLHTTP:
    return GraphQLHTTP(
        graphql_schema(),
        db=db,
        limits=settings.limits,
        query_limits=settings.query_limits,
        buckets=buckets,
        options=HttpOptions(
            graphiql=settings.graphiql,
            introspection=settings.introspection,
            suggestions=settings.field_suggestions,
            max_body_bytes=settings.max_body_bytes,
            compiled_operations=settings.compiled_operations,
        ),
        metrics=metrics,
        cache=QueryCache(max_bytes=settings.query_cache_bytes),
        invitation_attempts=invitation_attempts,
        execution_context_class=build_schema().execution_context_class,
    )


def _live(settings: Settings, view: GraphQLHTTP) -> Live:
    return Live(
        view,
        None,
        LiveOptions(
            max_connections=settings.live_max_connections,
            queue=settings.live_queue,
            init_seconds=settings.live_init_seconds,
            max_cost=settings.live_max_subscription_cost,
            max_message_bytes=settings.max_body_bytes,
            ping_seconds=settings.live_ping_seconds,
        ),
    )


def _middleware(
    settings: Settings, db: Database, metrics: Metrics, traces: Any | None
) -> list[Middleware]:
    """Outermost first. Every request that fails outside GraphQL's own errors still answers
    JSON with its request id: 503 where the database cannot serve it (api/unavailable.py).
    Sign-in is resolved once, innermost, and put on the request."""
    middleware = [
        *tracing.middleware(traces),
        Middleware(
            RequestIdLogMetricsMiddleware,
            metrics=metrics,
            production=settings.environment == "production",
        ),
        Middleware(CannotServeMiddleware),
    ]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type"],
                expose_headers=["X-Request-Id", "Retry-After"],
                max_age=600,
            )
        )
    middleware.append(Middleware(BearerAuthMiddleware, db=db))
    return middleware
