"""The headers that every answer carries, whoever writes it (GraphQL, the HTTP layer's own
errors, a database that cannot serve, a busy process): ``X-Content-Type-Options: nosniff``
always, and ``Strict-Transport-Security`` for a year in production (which runs on
PostgreSQL only)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from api import server
from api.settings import Settings
from persistence.database import Database
from tests.helpers import Api

HSTS = "max-age=31536000"


async def _answers(api: Api) -> dict[str, httpx.Response]:
    """One answer of every kind the service gives without a database failing."""
    admin = await api.new_account()
    client = api.client
    return {
        "graphql ok": await api.post("{ viewer { user { id } } }", token=admin.token),
        "graphql without a token": await api.post("{ viewer { user { id } } }"),
        "graphql parse error": await api.post("{ viewer {"),
        "invalid token (401)": await api.post("{ __typename }", token="nl_nope"),
        "two Authorization headers (400)": await client.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers=[("Authorization", "Bearer a"), ("Authorization", "Bearer b")],
        ),
        "wrong content type (415)": await client.post(
            "/graphql", content=b"{}", headers={"Content-Type": "text/plain"}
        ),
        "mutation over GET (405)": await client.get(
            "/graphql", params={"query": "mutation { __typename }"}
        ),
        "GraphiQL": await client.get("/graphql", headers={"Accept": "text/html"}),
        "healthz": await client.get("/healthz"),
        "readyz": await client.get("/readyz"),
        "settings page": await client.get("/"),
        "a static file": await client.get("/static/app.js"),
        "not found (404)": await client.get("/no-such-page"),
    }


async def test_every_answer_says_nosniff(api: Api) -> None:
    # when
    answers = await _answers(api)
    # then
    for kind, response in answers.items():
        assert response.headers.get("x-content-type-options") == "nosniff", kind
        # and outside production, no HSTS (development runs over plain http)
        assert "strict-transport-security" not in response.headers, kind


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
async def test_a_database_that_cannot_serve_answers_503_with_nosniff(
    engine: str, tmp_path: Any
) -> None:
    # given a database that cannot be reached: an SQLite file in a directory that does not
    # exist, a PostgreSQL server on a port where none listens
    url = {
        "sqlite": f"sqlite+aiosqlite:///{tmp_path}/missing/{uuid.uuid4().hex}/neverlog.db",
        "postgresql": "postgresql+asyncpg://postgres@127.0.0.1:9/neverlog",
    }[engine]
    unreachable = Database(url)
    api = Api(Settings(database_url=url), unreachable)
    token = f"nl_{'0' * 48}_{uuid.uuid4().hex}"
    try:
        # when a request needs the database
        response = await api.post("{ viewer { user { id } } }", token=token)
    finally:
        await api.close()
        await unreachable.dispose()
    # then
    assert response.status_code == 503, response.text
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_busy_process_answers_503_with_nosniff(monkeypatch: pytest.MonkeyPatch) -> None:
    # given the process's answer at its connection limit (api/server.py), in production
    monkeypatch.setenv("NEVERLOG_ENVIRONMENT", "production")
    monkeypatch.setattr(server, "_GUARD", None)
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    # when
    await server._busy({}, None, send)
    monkeypatch.setattr(server, "_GUARD", None)
    # then
    headers = dict(sent[0]["headers"])
    assert sent[0]["status"] == 503
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert headers[b"strict-transport-security"] == HSTS.encode()


@pytest.mark.postgresql
async def test_production_answers_say_strict_transport_security(
    make_api: Callable[..., Api],
) -> None:
    # given
    api = make_api(environment="production", graphiql=True)
    try:
        # when
        answers = await _answers(api)
    finally:
        await api.close()
    # then
    for kind, response in answers.items():
        assert response.headers.get("strict-transport-security") == HSTS, kind
        assert response.headers.get("x-content-type-options") == "nosniff", kind
