"""Traces: with OTEL_EXPORTER_OTLP_ENDPOINT set, a span per request named after its GraphQL
operation, with a child span for each SQL statement it runs; unset, none. The spans are
caught by the OpenTelemetry SDK's in-memory exporter in place of OTLP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import api.tracing
from api.settings import Settings
from persistence.database import Database
from tests.helpers import Api


@pytest.fixture
async def own_db(db: Database) -> AsyncIterator[Database]:
    """An engine of this test's own on the test database: the SQL spans' listeners stay on it."""
    mine = Database(db.url.render_as_string(hide_password=False))
    yield mine
    await mine.dispose()


async def test_a_request_has_a_span_named_after_its_operation_and_spans_for_its_sql(
    own_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the standard endpoint variable, and the spans caught in memory
    exported = InMemorySpanExporter()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setattr(api.tracing, "_otlp_exporter", lambda: exported)
    client = Api(Settings(database_url=own_db.url.render_as_string(hide_password=False)), own_db)
    try:
        admin = await client.new_account()

        # when a decision and a read of the list are asked for
        await client.data(
            'query Decide { evaluateEmailLogging(email: {channel: CRM, to: ["a@b.com"]}) '
            "{ loggedCount } }",
            token=admin.token,
        )
        await client.data("{ neverLogList(scope: PERSONAL) { count } }", token=admin.token)
        provider: Any = client.app.state.tracer_provider
        provider.force_flush()
    finally:
        await client.close()

    # then each request has its span, named after its operation
    spans = exported.get_finished_spans()
    requests = [s for s in spans if s.attributes and "graphql.operation.name" in s.attributes]
    assert [s.name for s in requests] == [
        "POST /graphql Decide",
        "POST /graphql neverLogList",
    ]
    assert [s.attributes["graphql.operation.name"] for s in requests] == ["Decide", "neverLogList"]
    # and the SQL that a request ran is traced as children of its span
    for request in requests:
        children = [
            s for s in spans if s.parent is not None and s.parent.span_id == request.context.span_id
        ]
        statements = [s for s in children if "db.statement" in (s.attributes or {})]
        assert statements, f"no SQL span under {request.name}: {[s.name for s in spans]}"


async def test_nothing_is_traced_without_an_endpoint(
    own_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given no endpoint
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    exported = InMemorySpanExporter()
    monkeypatch.setattr(api.tracing, "_otlp_exporter", lambda: exported)

    # when
    client = Api(Settings(database_url=own_db.url.render_as_string(hide_password=False)), own_db)
    try:
        response = await client.post("{ __typename }")
    finally:
        await client.close()

    # then
    assert response.status_code == 200
    assert client.app.state.tracer_provider is None
    assert exported.get_finished_spans() == ()
    assert not any(m.cls.__name__ == "OpenTelemetryMiddleware" for m in client.app.user_middleware)
