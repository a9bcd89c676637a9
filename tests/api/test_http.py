"""GraphQL over HTTP: methods, content types, status codes, and what is refused before a
query runs."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from tests.helpers import Api, error_codes

TYPENAME = {"query": "{ __typename }"}
GRAPHQL_RESPONSE = "application/graphql-response+json"


async def test_post_json_answers_with_json(api: Api) -> None:
    response = await api.client.post("/graphql", json=TYPENAME)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "charset=utf-8" in response.headers["content-type"]
    assert response.json()["data"] == {"__typename": "Query"}


async def test_graphql_response_json_is_answered_in_kind(api: Api) -> None:
    response = await api.client.post(
        "/graphql", json=TYPENAME, headers={"Accept": GRAPHQL_RESPONSE}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)


@pytest.mark.parametrize(
    ("query", "code"),
    [("{", "GRAPHQL_PARSE_FAILED"), ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED")],
    ids=["parse", "validation"],
)
async def test_request_errors_are_4xx_without_data_for_graphql_response_json(
    api: Api, query: str, code: str
) -> None:
    # when the client accepts the new media type
    strict = await api.client.post(
        "/graphql", json={"query": query}, headers={"Accept": GRAPHQL_RESPONSE}
    )
    # and when it accepts plain JSON
    lenient = await api.client.post("/graphql", json={"query": query})
    # then
    assert strict.status_code == 400 and "data" not in strict.json()
    assert error_codes(strict.json()) == [code]
    assert lenient.status_code == 200 and "data" not in lenient.json()


async def test_variables_that_cannot_be_coerced_fail_the_request(api: Api) -> None:
    body = {"query": "query($id: ID!) { node(id: $id) { id } }", "variables": {"id": None}}
    strict = await api.client.post("/graphql", json=body, headers={"Accept": GRAPHQL_RESPONSE})
    assert strict.status_code == 400 and "data" not in strict.json()


async def test_get_runs_queries(api: Api) -> None:
    response = await api.client.get("/graphql", params={"query": "{ __typename }"})
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}


async def test_a_mutation_over_get_is_405_with_allow(api: Api) -> None:
    admin = await api.new_account()
    response = await api.client.get(
        "/graphql",
        params={
            "query": 'mutation { addUser(input: {email: "a@acme-corp.com", name: "A"}) { user { id } } }'
        },
        headers={"Authorization": f"Bearer {admin.token}"},
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    users = await api.data("{ users { totalCount } }", token=admin.token)
    assert users["users"]["totalCount"] == 1  # nothing ran


@pytest.mark.parametrize(
    ("headers", "content", "status"),
    [
        ({}, json.dumps(TYPENAME), 415),
        ({"Content-Type": "text/plain"}, json.dumps(TYPENAME), 415),
        ({"Content-Type": "application/x-www-form-urlencoded"}, "query=%7B__typename%7D", 415),
        ({"Content-Type": "application/json"}, "", 400),
        ({"Content-Type": "application/json"}, "{not json", 400),
        ({"Content-Type": "application/json"}, "[1, 2]", 400),
        ({"Content-Type": "application/json"}, json.dumps({"qeury": "{ __typename }"}), 400),
        (
            {"Content-Type": "application/json"},
            json.dumps({"query": "{ __typename }", "variables": [1]}),
            400,
        ),
    ],
    ids=[
        "no-content-type",
        "text",
        "form",
        "no-body",
        "bad-json",
        "not-an-object",
        "no-query",
        "bad-variables",
    ],
)
async def test_requests_that_are_not_graphql_json_are_refused_before_they_run(
    api: Api, headers: dict[str, str], content: str, status: int
) -> None:
    response = await api.client.post("/graphql", content=content, headers=headers)
    assert response.status_code == status
    assert response.json()["errors"][0]["message"]


async def test_a_body_over_the_limit_is_413(make_api: Callable[..., Api]) -> None:
    api = make_api(max_body_bytes=2048)
    try:
        padding = "x" * 4096
        response = await api.client.post(
            "/graphql",
            json={"query": "{ __typename }", "operationName": None, "extensions": {"pad": padding}},
        )
        assert response.status_code == 413
        assert "2048" in response.json()["errors"][0]["message"]
    finally:
        await api.close()


@pytest.mark.parametrize(
    ("settings", "query", "code", "limit"),
    [
        (
            {"max_query_depth": 3},
            "{ neverLogList(scope: PERSONAL) { entries { edges { node { pattern } } } } }",
            "MAX_DEPTH_EXCEEDED",
            3,
        ),
        (
            {"max_query_aliases": 2},
            "{ a: __typename b: __typename c: __typename }",
            "MAX_ALIASES_EXCEEDED",
            2,
        ),
        (
            {"max_query_tokens": 20},
            "{ " + " ".join(["__typename"] * 30) + " }",
            "MAX_TOKENS_EXCEEDED",
            20,
        ),
        (
            {"max_query_cost": 100},
            "{ neverLogList(scope: PERSONAL) { entries(first: 100) { edges { node { createdBy { email } } } } } }",
            "MAX_COST_EXCEEDED",
            100,
        ),
    ],
    ids=["depth", "aliases", "tokens", "cost"],
)
async def test_limits_refuse_before_execution_naming_the_limit(
    make_api: Callable[..., Api], settings: dict[str, Any], query: str, code: str, limit: int
) -> None:
    # given
    api = make_api(**settings)
    try:
        admin = await api.new_account()
        # when
        response = await api.client.post(
            "/graphql",
            json={"query": query},
            headers={"Authorization": f"Bearer {admin.token}", "Accept": GRAPHQL_RESPONSE},
        )
        # then
        body = response.json()
        assert response.status_code == 400
        assert "data" not in body
        assert body["errors"][0]["extensions"]["code"] == code
        assert body["errors"][0]["extensions"]["limit"] == limit
        assert str(limit) in body["errors"][0]["message"]
    finally:
        await api.close()


async def test_default_limits_allow_a_page_of_100_with_every_field(api: Api) -> None:
    admin = await api.new_account()
    queries = [
        "{ neverLogList(scope: ACCOUNT) { count limit remaining owner { id } entries(first: 100) { totalCount "
        "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id scope kind "
        "pattern createdAt createdBy { id email name role active createdAt } } } } } }",
        "{ auditEvents(first: 100) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id "
        "action createdAt scope patterns summary actor { id email name role active createdAt } "
        "subjectUser { id email name role active createdAt } } } } }",
        "{ emailLoggingSimulations(first: 100) { totalCount pageInfo { hasNextPage endCursor } edges { cursor "
        "node { id name createdAt changedSinceRun createdBy { id email } email { channel to cc bcc logToCrm "
        "createNewContacts excludedRecipients existingContacts sender { id email } inReplyTo { to cc bcc } } "
        "recorded { ...decision } current { ...decision } } } } } "
        "fragment decision on EmailLoggingDecision { channel neverLogApplies emailSent loggedCount "
        "neverLogCount sender { id email name } recipients { address field outcome loggedToContact "
        "contactCreated timelineTracking associatedRecordsLogged activityFeedTracking matchedPattern "
        "matchedScope explanation } }",
    ]
    for query in queries:
        body = await api.gql(query, token=admin.token)
        assert "errors" not in body, body["errors"]


async def test_every_answer_reports_its_cost(api: Api) -> None:
    admin = await api.new_account()
    body = await api.gql(
        "{ neverLogList(scope: PERSONAL) { entries(first: 10) { edges { node { createdBy { id } } } } } }",
        token=admin.token,
    )
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 1 + 2 + 10 * 3
    assert cost["maximumAvailable"] == 3000
    assert (
        cost["throttleStatus"]["currentlyAvailable"] <= cost["throttleStatus"]["maximumAvailable"]
    )


async def test_rate_limit_refuses_with_retry_after(make_api: Callable[..., Api]) -> None:
    # given a bucket of 10 points, refilled by 1 point a second
    api = make_api(rate_limit_capacity=10, rate_limit_restore_rate=1)
    try:
        admin = await api.new_account()
        query = "{ viewer { user { id } account { id } } }"  # costs 3
        for _ in range(3):
            assert (await api.post(query, token=admin.token)).status_code == 200
        # when the fourth finds 1 point left
        response = await api.post(query, token=admin.token)
        # then
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) >= 1
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["retryAfterSeconds"] == int(response.headers["retry-after"])
        # and another account is not slowed by it
        other = await api.new_account()
        assert (await api.post(query, token=other.token)).status_code == 200
    finally:
        await api.close()


async def test_introspection_and_suggestions_can_be_turned_off(
    make_api: Callable[..., Api],
) -> None:
    api = make_api(introspection=False, field_suggestions=False)
    try:
        admin = await api.new_account()
        introspection = await api.gql("{ __schema { queryType { name } } }", token=admin.token)
        assert set(error_codes(introspection)) == {"GRAPHQL_VALIDATION_FAILED"}
        assert "introspection" in introspection["errors"][0]["message"].lower()
        typo = await api.gql("{ veiwer { user { id } } }", token=admin.token)
        assert "Did you mean" not in typo["errors"][0]["message"]
    finally:
        await api.close()


async def test_suggestions_are_on_by_default(api: Api) -> None:
    typo = await api.gql("{ veiwer { user { id } } }")
    assert "Did you mean 'viewer'?" in typo["errors"][0]["message"]


async def test_cors_allows_only_configured_origins(make_api: Callable[..., Api]) -> None:
    preflight = {"Origin": "https://app.acme-corp.com", "Access-Control-Request-Method": "POST"}
    closed = make_api()
    opened = make_api(cors_origins=["https://app.acme-corp.com"])
    try:
        refused = await closed.client.options("/graphql", headers=preflight)
        assert "access-control-allow-origin" not in refused.headers
        allowed = await opened.client.options("/graphql", headers=preflight)
        assert allowed.headers["access-control-allow-origin"] == "https://app.acme-corp.com"
        other = await opened.client.options(
            "/graphql", headers={**preflight, "Origin": "https://evil.example.com"}
        )
        assert other.headers.get("access-control-allow-origin") != "https://evil.example.com"
    finally:
        await closed.close()
        await opened.close()


async def test_graphiql_is_served_to_browsers(api: Api) -> None:
    response = await api.client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_a_database_error_is_masked_and_logged_with_the_request_id(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # given a data-access function that runs broken SQL
    import sqlalchemy as sa

    import persistence.tokens

    admin = await api.new_account()

    async def broken(*, session: Any, account_id: Any, user_id: Any) -> Any:
        await session.execute(sa.text("SELECT secret_column FROM no_such_table"))

    monkeypatch.setattr(persistence.tokens, "list_tokens", broken)
    # when
    with caplog.at_level(logging.ERROR, logger="neverlog.errors"):
        response = await api.post("{ apiTokens { id } }", token=admin.token)
    # then the client sees nothing internal
    body = response.json()
    error = body["errors"][0]
    assert error["message"] == "Unexpected error."
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    text = response.text.lower()
    for leak in ("no_such_table", "select", "traceback", ".py", "sqlalchemy"):
        assert leak not in text
    # and the log line with the same request id carries the trace
    request_id = error["extensions"]["requestId"]
    assert response.headers["x-request-id"] == request_id
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert logged and logged[0].exc_info is not None
    assert "no_such_table" in str(logged[0].exc_info[1])
