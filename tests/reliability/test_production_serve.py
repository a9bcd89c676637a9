"""``neverlog serve`` in production, on PostgreSQL: no GraphiQL, no introspection, /metrics
only with its token, and X-Forwarded-For from a peer that is not a named proxy ignored."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tests.reliability.conftest import Server

pytestmark = pytest.mark.reliability

METRICS_TOKEN = "production-metrics-token-for-the-test"


async def test_production_serve_keeps_its_defaults(
    migrated_pg: str, serve: Callable[..., Awaitable[list[Server]]]
) -> None:
    # given: a production process whose anonymous buckets hold three requests
    (server,) = await serve(
        migrated_pg,
        ENVIRONMENT="production",
        METRICS_TOKEN=METRICS_TOKEN,
        RATE_LIMIT_CAPACITY="3",
        RATE_LIMIT_RESTORE_RATE="0.0001",
    )
    http = server.http

    # when / then: a browser gets no GraphiQL
    page = await http.get("/graphql", headers={"Accept": "text/html"})
    assert "text/html" not in page.headers.get("content-type", ""), page.text[:200]

    # and /metrics answers only the metrics token
    assert (await http.get("/metrics")).status_code == 401
    metrics = await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert metrics.status_code == 200 and "neverlog_requests_total" in metrics.text

    # and introspection is refused; and each forged X-Forwarded-For still counts against this
    # peer's one bucket of three requests' worth
    introspected = await http.post(
        "/graphql",
        json={"query": "{ __schema { queryType { name } } }"},
        headers={"X-Forwarded-For": "198.51.100.1"},
    )
    body = introspected.json()
    assert {e["extensions"]["code"] for e in body["errors"]} == {"GRAPHQL_VALIDATION_FAILED"}
    statuses = [
        (
            await http.post(
                "/graphql",
                json={"query": "{ __typename }"},
                headers={"X-Forwarded-For": f"198.51.100.{n}"},
            )
        ).status_code
        for n in range(2, 6)
    ]
    assert statuses[-2:] == [429, 429], statuses
