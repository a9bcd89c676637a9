"""A database that goes away: /readyz says so (503), GraphQL requests fail fast with
SERVICE_UNAVAILABLE and nothing internal, /healthz stays 200; when PostgreSQL is back, the
same process serves again, without a restart, and nothing saved before is lost.

The PostgreSQL stopped here is a private cluster of this test, never the shared one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest

from persistence.database import Database
from persistence.migrate import upgrade
from tests.reliability.conftest import LIST_PAGE, Member, PrivateCluster, Server, new_account

pytestmark = pytest.mark.reliability

FAST = 5.0  # seconds: what "fail fast" means here
SAVED = [
    "counsel@outage.example.com",
    "*@outage-clinic.example.com",
    "*@*.outage-family.example.com",
]
ADD = """mutation($p: [String!]!) { addNeverLogEntries(input: {scope: PERSONAL, patterns: $p}) {
    added { pattern } userErrors { code } } }"""
INTERNALS = ("Traceback", 'File "', "sqlalchemy", "asyncpg", "postgres", "SELECT", "Errno", ".py")


async def test_outage_fails_fast_and_recovers_without_restart(
    private_pg: PrivateCluster, serve: Callable[..., Awaitable[list[Server]]]
) -> None:
    # given a server on a private PostgreSQL that holds a list
    (server,), _ = await asyncio.gather(serve(private_pg.url), asyncio.to_thread(private_pg.create))
    db = Database(private_pg.url)
    try:
        await upgrade(db)
        member = await new_account(db, "Outage")
    finally:
        await db.dispose()
    saved = await server.client.add(member.token, SAVED)
    assert saved["userErrors"] == []
    assert (await server.http.get("/readyz")).status_code == 200

    # when PostgreSQL stops while a change is in flight (it waits on a lock of this test)
    in_flight = await _stop_during_a_change(private_pg, server, member)

    # then that change fails as unavailable, and is not saved (checked below)
    _assert_unavailable(in_flight)

    # and while it is down the process stays alive but not ready, and every GraphQL request
    # fails fast
    for _ in range(2):
        assert (await server.http.get("/healthz")).status_code == 200
        ready, elapsed = await _timed(server.http.get("/readyz"))
        assert ready.status_code == 503 and elapsed < FAST
        assert ready.json()["status"] == "unavailable"
        for query, variables in (
            (LIST_PAGE, {"scope": "PERSONAL"}),
            (ADD, {"p": ["during@outage.example.com"]}),
        ):
            response, elapsed = await _timed(
                server.client.post(query, variables, token=member.token)
            )
            assert elapsed < FAST, f"a request took {elapsed:.1f} s while the database was down"
            _assert_unavailable(response)

    # when PostgreSQL is back
    await asyncio.to_thread(private_pg.start)

    # then the same process serves at once, and nothing saved before is lost
    count, entries = await server.client.entries(member.token)
    assert count == 3 and sorted(e["pattern"] for e in entries) == sorted(SAVED)
    assert (await server.http.get("/readyz")).status_code == 200
    again = await server.client.add(member.token, ["after@outage.example.com"])
    assert again["userErrors"] == [] and again["list"]["count"] == 4

    # and when PostgreSQL restarts between two requests, the next one is served too (the
    # pool's connections died with the server while they sat idle)
    await asyncio.to_thread(private_pg.stop)
    await asyncio.to_thread(private_pg.start)
    count, _ = await server.client.entries(member.token)
    assert count == 4
    assert server.running()


async def _stop_during_a_change(
    cluster: PrivateCluster, server: Server, member: Member
) -> httpx.Response:
    """Stop PostgreSQL while the server's addNeverLogEntries waits on the list's lock; the
    server's answer to it."""
    holder = await asyncpg.connect(
        host="127.0.0.1", port=cluster.port, user="postgres", database="postgres"
    )
    watcher = await asyncpg.connect(
        host="127.0.0.1", port=cluster.port, user="postgres", database="postgres"
    )
    try:
        await holder.execute("begin")
        await holder.execute(
            "select 1 from users where account_id = $1 and id = $2 for update",
            member.raw_account_id,
            member.raw_user_id,
        )
        request = asyncio.create_task(
            server.client.post(ADD, {"p": ["in-flight@outage.example.com"]}, token=member.token)
        )
        pid = holder.get_server_pid()
        deadline = time.monotonic() + 20
        while not await watcher.fetchval(
            "select count(*) from pg_stat_activity where $1::integer = any(pg_blocking_pids(pid))",
            pid,
        ):
            assert time.monotonic() < deadline, "the change did not come to wait on the lock"
            await asyncio.sleep(0.02)
        await asyncio.to_thread(cluster.stop)
        response, elapsed = await _timed(request)
        assert elapsed < FAST
        return response
    finally:
        for connection in (holder, watcher):
            connection.terminate()


def _assert_unavailable(response: httpx.Response) -> None:
    """SERVICE_UNAVAILABLE at the top level, with nothing internal in the body."""
    assert response.status_code in (200, 503), response.text
    body: dict[str, Any] = response.json()
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
    assert codes and set(codes) == {"SERVICE_UNAVAILABLE"}, body
    assert not any(sign in response.text for sign in INTERNALS), response.text
    if response.status_code == 503:
        assert response.headers.get("retry-after")


async def _timed(request: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    start = time.monotonic()
    response = await request
    return response, time.monotonic() - start


async def _until_ready(server: Server, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (await server.http.get("/readyz")).status_code == 200:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"the server was not ready {timeout} s after the database came back")
