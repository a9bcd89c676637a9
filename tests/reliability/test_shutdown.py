"""Graceful shutdown: SIGTERM lets the requests in flight finish, answered and saved, and the
process then exits with status 0."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from persistence import entries
from persistence.database import Database
from tests.reliability.conftest import Server, hold_list, new_account

pytestmark = pytest.mark.reliability


async def test_sigterm_lets_requests_in_flight_finish_then_exits_0(
    migrated_pg: str, pg_db: Database, serve: Callable[..., Awaitable[list[Server]]]
) -> None:
    # given a server, and an account whose lists the test holds locked, so that changes to
    # them are slow requests, surely in flight
    (server,), member = await asyncio.gather(serve(migrated_pg), new_account(pg_db, "Shutdown"))
    personal = [f"friend{n}@shutdown.example.com" for n in range(500)]
    account = [f"*@firm{n}.shutdown.example.com" for n in range(100)]
    async with hold_list(pg_db, member, account=True) as holder:
        requests = [
            asyncio.create_task(server.client.add(member.token, personal)),
            asyncio.create_task(server.client.add(member.token, account, scope="ACCOUNT")),
        ]
        await holder.wait_for_waiters(requests)

        # when the process is asked to stop while they wait
        server.terminate()
        await asyncio.sleep(0.5)
        assert server.running(), "the process stopped with requests in flight"
        assert not any(r.done() for r in requests)

    # then both finish with their answers (a status other than 200 fails here)
    answers = await asyncio.gather(*requests)
    assert [len(a["added"]) for a in answers] == [500, 100]
    assert all(a["userErrors"] == [] for a in answers)
    # and the process exits with status 0
    assert await server.wait(25) == 0, server.log()
    # and what they added is saved
    async with pg_db.transaction(member.raw_account_id) as session:
        for owner, expected in ((member.raw_user_id, 500), (member.raw_account_id, 100)):
            count = await entries.count_entries(
                session=session, account_id=member.raw_account_id, owner_id=owner
            )
            assert count == expected
