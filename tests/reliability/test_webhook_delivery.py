"""Webhooks from real ``neverlog serve`` processes, on SQLite and PostgreSQL, to a real
receiver on 127.0.0.1 that verifies every signature with the standardwebhooks package:
- a process killed (SIGKILL) while changes and deliveries are in flight loses no event of a
  committed change and sends none of a change that did not commit: after a restart every
  committed change is delivered (at least once), and nothing else is;
- two processes never send the same attempt at once, and send each event once."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from api.settings import Settings
from persistence.database import Database
from persistence.migrate import upgrade
from tests.reliability.conftest import (
    PG_URL,
    WANTED,
    Member,
    Server,
    new_account,
    skip_without_pg,
)
from tests.webhook_receiver import Answer, Received, Receiver, receiving

pytestmark = pytest.mark.reliability

# Quick attempts and a short lease, so that a killed process's claims fall due again soon.
SETTINGS = {
    "WEBHOOK_RETRY_INTERVALS": json.dumps([0.2] * 7),
    "WEBHOOK_TIMEOUT_SECONDS": "2",
    "WEBHOOK_LEASE_SECONDS": "4",
    "WEBHOOK_POLL_SECONDS": "0.05",
}

CREATE = """mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
    secret userErrors { code message } } }"""

DELIVERIES = """{ webhookEndpoints { deliveries(first: 100) { totalCount
    edges { node { eventId status attempts } } } } }"""


@pytest.fixture(params=["sqlite", "postgresql"])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[str, Database]]:
    """A migrated database (its URL) and an engine on it in this process."""
    if request.param == "sqlite":
        if "sqlite" not in WANTED:
            pytest.skip("SQLite not wanted: NEVERLOG_TEST_BACKENDS leaves it out")
        url = f"sqlite+aiosqlite:///{tmp_path / 'neverlog.db'}"
    else:
        skip_without_pg()
        url = Settings(database_url=PG_URL).database_url
    database = Database(url)
    await upgrade(database)  # in this process: the command's own tests are elsewhere
    yield url, database
    await database.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


async def _endpoint(server: Server, admin: Member, receiver: Receiver) -> None:
    data = await server.client.data(CREATE, {"input": {"url": receiver.url}}, token=admin.token)
    assert data["createWebhookEndpoint"]["userErrors"] == []
    receiver.secret = data["createWebhookEndpoint"]["secret"]


DELIVERY_PAGE = """query($after: String) { webhookEndpoints { deliveries(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor } edges { node { status } } } } }"""


async def _all_delivered(server: Server, admin: Member, count: int) -> None:
    """Polled until the account's ``count`` deliveries have all ended DELIVERED (within 60 s):
    then nothing is left for any process to send."""
    deadline = time.monotonic() + 60
    while True:
        statuses: list[str] = []
        after: str | None = None
        while True:
            data = await server.client.data(DELIVERY_PAGE, {"after": after}, token=admin.token)
            [page] = [endpoint["deliveries"] for endpoint in data["webhookEndpoints"]]
            statuses += [e["node"]["status"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        if len(statuses) >= count and set(statuses) == {"DELIVERED"}:
            return
        assert time.monotonic() < deadline, f"deliveries not all DELIVERED in 60 s: {statuses}"
        await asyncio.sleep(0.05)


def _added_patterns(received: list[Received]) -> set[str]:
    return {
        entry["pattern"]
        for r in received
        if r.event["type"] == "never_log.entries_added"
        for entry in r.event["data"]["entries"]
    }


async def test_a_killed_process_loses_no_committed_change_and_invents_none(
    backend: tuple[str, Database],
    serve: Callable[..., Awaitable[list[Server]]],
    receiver: Receiver,
) -> None:
    # given a process delivering to a receiver that takes its time to answer
    url, db = backend
    admin = await new_account(db, "Webhooks")
    (first,) = await serve(url, **SETTINGS)
    await _endpoint(first, admin, receiver)
    receiver.script = lambda n, _id: Answer(delay=0.3)
    counter = itertools.count()
    answered: set[str] = set()

    async def write_forever() -> None:
        while True:
            pattern = f"*@killed-{next(counter)}.example.com"
            with contextlib.suppress(httpx.TransportError):
                payload = await first.client.add(admin.token, [pattern], scope="ACCOUNT")
                assert payload["userErrors"] == []
                answered.add(pattern)

    writers = [asyncio.create_task(write_forever()) for _ in range(4)]
    # when it is killed while changes are in flight and the receiver is being sent one
    deadline = time.monotonic() + 30
    while not (receiver.in_flight() and len(answered) >= 10):
        assert time.monotonic() < deadline, "no delivery was in flight"
        await asyncio.sleep(0.01)
    first.kill()
    for writer in writers:
        writer.cancel()
    await asyncio.gather(*writers, return_exceptions=True)

    # and another process starts on the same database
    (second,) = await serve(url, **SETTINGS)
    _, entries = await second.client.entries(admin.token, scope="ACCOUNT")
    committed = {e["pattern"] for e in entries}
    assert answered <= committed
    receiver.script = lambda n, _id: Answer()

    # then every committed change reaches the receiver
    await receiver.wait_for(lambda r: _added_patterns(r) >= committed, timeout=60)
    # and, once every delivery has ended (those the killed process held, when their lease ran
    # out), nothing of a change that did not commit was sent
    await _all_delivered(second, admin, len(committed))
    received = list(receiver.received)
    assert _added_patterns(received) == committed
    assert all(r.verified for r in received)
    # and each event carried one change: its sequence names one event, whatever was resent
    by_sequence: dict[int, set[str]] = {}
    for r in received:
        patterns = {e["pattern"] for e in r.event["data"]["entries"]}
        assert by_sequence.setdefault(r.event["data"]["sequence"], patterns) == patterns
    assert len(by_sequence) == len(committed)


async def test_two_processes_never_send_the_same_attempt_at_once(
    backend: tuple[str, Database],
    serve: Callable[..., Awaitable[list[Server]]],
    receiver: Receiver,
) -> None:
    # given two processes, and a receiver slow enough for their attempts to overlap
    url, db = backend
    admin = await new_account(db, "Webhooks")
    # (no process dies here: an attempt timeout and a lease that a busy machine cannot
    # outlast, so that an attempt is never sent again because a process was slow)
    servers = await serve(
        url, n=2, **(SETTINGS | {"WEBHOOK_TIMEOUT_SECONDS": "20", "WEBHOOK_LEASE_SECONDS": "60"})
    )
    await _endpoint(servers[0], admin, receiver)
    receiver.script = lambda n, _id: Answer(delay=0.1)
    # when 40 changes are made through both
    changes = 40
    await asyncio.gather(
        *(
            servers[n % 2].client.add(admin.token, [f"*@pair-{n}.example.com"], scope="ACCOUNT")
            for n in range(changes)
        )
    )
    # then each event arrives once, and no two requests for one event were ever in flight
    received = await receiver.wait_for(lambda r: len(r) >= changes, timeout=60)
    await _all_delivered(servers[1], admin, changes)
    received = list(receiver.received)
    assert receiver.overlaps == []
    ids = [r.webhook_id for r in received]
    assert len(ids) == len(set(ids)) == changes
    assert all(r.verified for r in received)
    assert sorted(r.event["data"]["sequence"] for r in received) == list(range(1, changes + 1))
    data = await servers[1].client.data(DELIVERIES, token=admin.token)
    [endpoint] = data["webhookEndpoints"]
    assert endpoint["deliveries"]["totalCount"] == changes
    assert {
        (e["node"]["status"], e["node"]["attempts"]) for e in endpoint["deliveries"]["edges"]
    } == {("DELIVERED", 1)}


@pytest.mark.parametrize("allowed", [False, True])
async def test_production_refuses_a_private_address_unless_the_operator_allows_it(
    migrated_pg: str,
    serve: Callable[..., Awaitable[list[Server]]],
    receiver: Receiver,
    allowed: bool,
) -> None:
    # given a production process, and an https endpoint on the loopback (plain http is
    # refused there; the receiver speaks plain http, so no attempt can succeed)
    db = Database(migrated_pg)
    try:
        admin = await new_account(db, "Production")
    finally:
        await db.dispose()
    settings = SETTINGS | {"ENVIRONMENT": "production"}
    if allowed:
        settings["WEBHOOK_ALLOW_PRIVATE"] = "true"
    (server,) = await serve(migrated_pg, **settings)
    https = receiver.url.replace("http://", "https://")
    plain = await server.client.data(CREATE, {"input": {"url": receiver.url}}, token=admin.token)
    assert [e["code"] for e in plain["createWebhookEndpoint"]["userErrors"]] == ["INVALID_INPUT"]
    created = await server.client.data(CREATE, {"input": {"url": https}}, token=admin.token)
    assert created["createWebhookEndpoint"]["userErrors"] == []
    # when a change is made
    await server.client.add(admin.token, ["*@lawfirm.com"], scope="ACCOUNT")
    deadline = time.monotonic() + 30
    while True:
        data = await server.client.data(DELIVERIES, token=admin.token)
        [node] = [e["node"] for e in data["webhookEndpoints"][0]["deliveries"]["edges"]]
        if node["status"] == "FAILED":
            break
        assert time.monotonic() < deadline, node
        await asyncio.sleep(0.1)
    # then every attempt failed; only where the operator allows private addresses was the
    # receiver ever connected to
    assert node["attempts"] == 8
    assert receiver.received == []
    assert (receiver.connections > 0) is allowed
