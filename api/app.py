"""The Starlette application: /graphql (GraphiQL in a browser), /healthz and /readyz."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from api.middleware import REQUEST_ID, VIEWER, BearerAuthMiddleware, RequestIdMiddleware
from api.settings import Settings
from persistence.database import Database
from persistence.migrate import upgrade
from schema import build_schema
from schema.context import Context
from tenancy.limits import Limits

log = logging.getLogger("neverlog")
SCHEMA = build_schema()


class GraphQLView(GraphQL[Context, None]):
    def __init__(self, db: Database, limits: Limits, *, graphiql: bool) -> None:
        super().__init__(SCHEMA, graphql_ide="graphiql" if graphiql else None)
        self.db = db
        self.limits = limits

    async def get_context(self, request: Any, response: Any) -> Context:
        return Context(
            db=self.db,
            limits=self.limits,
            viewer=request.scope.get(VIEWER),
            request_id=request.scope.get(REQUEST_ID, ""),
            request=request,
            response=response,
        )


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> Starlette:
    """The app. ``database`` lets tests share one engine between apps."""
    settings = settings or Settings()
    db = database or settings.database()
    owns_db = database is None

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.is_sqlite and owns_db:
            await upgrade(db)
        yield
        if owns_db:
            await db.dispose()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            await db.ping()
        except Exception:
            log.warning("readiness check failed: the database does not answer", exc_info=True)
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        return JSONResponse({"status": "ready", "database": "up"})

    view = GraphQLView(db, settings.limits, graphiql=settings.graphiql)
    app = Starlette(
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(BearerAuthMiddleware, db=db),
        ],
        lifespan=lifespan,
    )
    app.state.db = db
    app.state.settings = settings
    return app
