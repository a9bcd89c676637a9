"""A server process killed (SIGKILL) while it writes a batch of 500 entries leaves all 500 or
none, and the next process serves a list and an audit log that agree."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from persistence.database import Database
from tests.reliability.conftest import ADD_ENTRIES, Member, Server, hold_list, new_account

pytestmark = pytest.mark.reliability

BATCH = [f"person{n}@crash.example.com" for n in range(500)]


async def test_a_killed_process_leaves_all_of_a_batch_or_none(
    migrated_pg: str, pg_db: Database, serve: Callable[..., Awaitable[list[Server]]]
) -> None:
    # given four processes, each about to write a batch of 500 entries for its own account
    servers, members = await asyncio.gather(
        serve(migrated_pg, n=4),
        asyncio.gather(*(new_account(pg_db, "Crash") for _ in range(4))),
    )

    # when each is killed while its request is in flight: before it writes (its transaction
    # waits on the list's lock), in the middle of writing the entries (they wait on the
    # account's row), and twice at a random moment of the request, which may fall before,
    # during or after the commit
    answers = await asyncio.gather(
        _kill_while_waiting(pg_db, servers[0], members[0], personal=True, account=False),
        _kill_while_waiting(pg_db, servers[1], members[1], personal=False, account=True),
        _kill_at_random(pg_db, servers[2], members[2]),
        _kill_at_random(pg_db, servers[3], members[3]),
    )

    # then the next process starts and serves
    (after,) = await serve(migrated_pg)
    for member, answer in zip(members, answers, strict=True):
        count, entries = await after.client.entries(member.token)
        events = [
            e
            for e in await after.client.audit_events(member.token)
            if e["action"] == "NEVER_LOG_ENTRIES_ADDED"
        ]
        # and each list holds the whole batch or nothing of it
        assert count == len(entries) and count in (0, 500), f"{count} of 500 entries saved"
        # and an audit event exists exactly when the entries do, naming every one of them
        if count == 500:
            assert sorted(e["pattern"] for e in entries) == sorted(BATCH)
            assert [sorted(e["patterns"]) for e in events] == [sorted(BATCH)]
        else:
            assert events == []
        # and an answer that the client did get is true
        if answer is not None:
            assert len(answer["addNeverLogEntries"]["added"]) == count == 500
        # and the lists take changes again
        again = await after.client.add(
            member.token, ["after-the-crash@crash.example.com"], scope="ACCOUNT"
        )
        assert again["userErrors"] == []
    assert answers[0] is None and answers[1] is None, "a request killed while waiting answered"


async def _post_batch(server: Server, member: Member) -> dict[str, Any] | None:
    """The answer's data, or None where the process died before answering."""
    variables = {"input": {"scope": "PERSONAL", "patterns": BATCH}}
    try:
        response = await server.http.post(
            "/graphql",
            json={"query": ADD_ENTRIES, "variables": variables},
            headers={"Authorization": f"Bearer {member.token}"},
        )
    except httpx.TransportError:
        return None
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def _kill_while_waiting(
    db: Database, server: Server, member: Member, *, personal: bool, account: bool
) -> dict[str, Any] | None:
    async with hold_list(db, member, personal=personal, account=account) as holder:
        request = asyncio.create_task(_post_batch(server, member))
        await holder.wait_for_waiters([request])
        server.kill()
        return await request


async def _kill_at_random(db: Database, server: Server, member: Member) -> dict[str, Any] | None:
    # how long such a batch takes in this process once warm, measured on other accounts
    warm_up, timed = await asyncio.gather(new_account(db, "Warm-up"), new_account(db, "Timing"))
    await server.client.add(warm_up.token, BATCH)
    start = time.monotonic()
    await server.client.add(timed.token, BATCH)
    took = time.monotonic() - start
    request = asyncio.create_task(_post_batch(server, member))
    await asyncio.sleep(random.uniform(0.1, 1.0) * took)
    server.kill()
    return await request
