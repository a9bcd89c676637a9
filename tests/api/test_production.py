"""Production defaults: GraphiQL, introspection and field suggestions off unless turned on,
/metrics only with the metrics token, and X-Forwarded-For trusted only from the proxies
named. Production refuses SQLite, so its in-process tests run on PostgreSQL; the metrics
token and the proxy rule hold in development too, and are tested there on SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from tests.helpers import Api, error_codes
from tests.live_server import live_server

INTROSPECTION = "{ __schema { queryType { name } } }"
TYPO = "{ viewr { user { id } } }"
METRICS_TOKEN = "metrics-secret-for-the-test"


@pytest.fixture
async def production(make_api: Callable[..., Api]) -> AsyncIterator[Api]:
    api = make_api(environment="production", metrics_token=METRICS_TOKEN)
    yield api
    await api.close()


async def _graphiql(api: Api) -> httpx.Response:
    return await api.client.get("/graphql", headers={"Accept": "text/html"})


@pytest.mark.postgresql
async def test_production_serves_no_graphiql_introspection_or_suggestions(
    production: Api,
) -> None:
    # when
    page = await _graphiql(production)
    introspected = await production.gql(INTROSPECTION)
    typo = await production.gql(TYPO)
    # then: no IDE page, introspection refused before it runs, no "Did you mean"
    assert "text/html" not in page.headers.get("content-type", "")
    assert "graphiql" not in page.text.lower()
    assert set(error_codes(introspected)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert "introspection" in introspected["errors"][0]["message"].lower()
    assert "data" not in introspected
    assert error_codes(typo) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "Did you mean" not in typo["errors"][0]["message"]


@pytest.mark.postgresql
async def test_production_turns_each_on_where_set_explicitly(
    make_api: Callable[..., Api],
) -> None:
    # given
    api = make_api(
        environment="production", graphiql=True, introspection=True, field_suggestions=True
    )
    try:
        # when
        page = await _graphiql(api)
        introspected = await api.gql(INTROSPECTION)
        typo = await api.gql(TYPO)
    finally:
        await api.close()
    # then
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert introspected["data"] == {"__schema": {"queryType": {"name": "Query"}}}
    assert "Did you mean" in typo["errors"][0]["message"]


async def test_development_keeps_graphiql_introspection_and_suggestions(api: Api) -> None:
    # when
    page = await _graphiql(api)
    introspected = await api.gql(INTROSPECTION)
    typo = await api.gql(TYPO)
    # then
    assert "text/html" in page.headers["content-type"]
    assert introspected["data"] == {"__schema": {"queryType": {"name": "Query"}}}
    assert "Did you mean" in typo["errors"][0]["message"]


@pytest.mark.postgresql
async def test_production_metrics_answer_only_the_metrics_token(production: Api) -> None:
    # when
    anonymous = await production.client.get("/metrics")
    wrong = await production.client.get("/metrics", headers={"Authorization": "Bearer nope"})
    admin = await production.new_account()
    user_token = await production.client.get(
        "/metrics", headers={"Authorization": f"Bearer {admin.token}"}
    )
    right = await production.client.get(
        "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    # then
    for refused in (anonymous, wrong, user_token):
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert "neverlog_requests_total" not in refused.text
    assert right.status_code == 200
    assert "neverlog_requests_total" in right.text


@pytest.mark.postgresql
async def test_production_without_a_metrics_token_serves_metrics_to_no_one(
    make_api: Callable[..., Api],
) -> None:
    # given
    api = make_api(environment="production")
    try:
        # when
        response = await api.client.get("/metrics", headers={"Authorization": "Bearer "})
    finally:
        await api.close()
    # then
    assert response.status_code == 401


async def test_a_metrics_token_protects_metrics_outside_production_too(
    make_api: Callable[..., Api],
) -> None:
    # given
    api = make_api(metrics_token=METRICS_TOKEN)
    try:
        # when
        anonymous = await api.client.get("/metrics")
        right = await api.client.get(
            "/metrics", headers={"Authorization": f"bearer {METRICS_TOKEN}"}
        )
    finally:
        await api.close()
    # then
    assert anonymous.status_code == 401
    assert right.status_code == 200 and "neverlog_requests_total" in right.text


# -- X-Forwarded-For: a real neverlog serve, whose uvicorn decides whom to believe ---------

ANONYMOUS = "{ __typename }"


def _statuses_with_forged_addresses(url: str, n: int) -> list[int]:
    """Anonymous requests from this (loopback) peer, each claiming another client address."""
    with httpx.Client(base_url=url, timeout=10) as client:
        return [
            client.post(
                "/graphql", json={"query": ANONYMOUS}, headers={"X-Forwarded-For": f"203.0.113.{i}"}
            ).status_code
            for i in range(1, n + 1)
        ]


@pytest.mark.parametrize(
    ("trusted", "limited"),
    [
        pytest.param(None, True, id="by-default-no-proxy-is-trusted"),
        pytest.param("10.9.8.7", True, id="another-proxy-is-trusted"),
        pytest.param("127.0.0.1", False, id="this-peer-is-the-trusted-proxy"),
    ],
)
def test_x_forwarded_for_is_believed_only_from_the_proxies_named(
    tmp_path: Path, trusted: str | None, limited: bool
) -> None:
    # given: a server on the loopback, trusting the proxies named (or none); anonymous
    # requests share a bucket per client address: three requests' worth, refilled too
    # slowly to matter during the test
    settings = {"rate_limit_capacity": "3", "rate_limit_restore_rate": "0.0001"}
    if trusted is not None:
        settings["forwarded_allow_ips"] = trusted
    with live_server(tmp_path, **settings) as server:
        # when: a client on that loopback sends five requests, each with another forged address
        statuses = _statuses_with_forged_addresses(server.url, 5)
    # then: unless this peer is a trusted proxy, they all count against its own address
    if limited:
        assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429], statuses
    else:
        assert statuses == [200] * 5, statuses
