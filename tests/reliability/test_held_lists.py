"""Two ``neverlog serve`` processes on one database, each holding the account's lists in
memory (tenancy/held_lists.py): a change is seen at once by the process that made it and,
by every decision that begins in the other process, on SQLite at once and on PostgreSQL
within half a second of the commit (docs/performance.md, "Lists held in memory"); with
notices (PostgreSQL) usually within milliseconds, and without them (as behind PgBouncer)
by the list version alone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from persistence.database import Database
from persistence.migrate import upgrade
from tests.api.decision_helpers import email
from tests.reliability.conftest import Server, new_account

pytestmark = pytest.mark.reliability

DECIDE = """query($email: EmailInput!) { evaluateEmailLogging(email: $email) {
    recipients { address outcome } } }"""
ADDRESS = "bob@initech.de"
# What the module's docstring promises another process on PostgreSQL (CHECK_EVERY), and
# the time a request may take on a busy machine on top of it.
BOUND = 0.5


async def _outcome(server: Server, token: str) -> str:
    data = await server.client.data(
        DECIDE, {"email": email("SALES_EXTENSION", to=[ADDRESS])}, token=token
    )
    outcome: str = data["evaluateEmailLogging"]["recipients"][0]["outcome"]
    return outcome


# What each process holds: the lists whole from an account's first decision on, or only
# each look-up's answer (an account that is never read whole).
HOLDING = pytest.mark.parametrize("after", ["1", "1000000"], ids=["whole", "look-ups"])


@HOLDING
@pytest.mark.parametrize("backend", ["sqlite"])  # runs in the SQLite pass
async def test_a_list_change_reaches_the_other_process_at_once_on_sqlite(
    backend: str, after: str, serve: Callable[..., Awaitable[list[Server]]], tmp_path: Path
) -> None:
    await _two_processes(
        serve,
        f"sqlite+aiosqlite:///{tmp_path / 'held.db'}",
        {"HELD_LISTS_AFTER": after},
        at_once=True,
    )


@HOLDING
@pytest.mark.parametrize("notices", [True, False], ids=["notices", "without-notices"])
async def test_a_list_change_reaches_the_other_process_within_its_bound_on_postgresql(
    notices: bool, after: str, migrated_pg: str, serve: Callable[..., Awaitable[list[Server]]]
) -> None:
    # Behind PgBouncer no notice reaches a process: the poll of the changed accounts
    # alone bounds it.
    settings = {"HELD_LISTS_AFTER": after} | ({} if notices else {"DATABASE_PGBOUNCER": "true"})
    await _two_processes(serve, migrated_pg, settings, at_once=False)


async def _two_processes(
    serve: Callable[..., Awaitable[list[Server]]],
    url: str,
    settings: dict[str, str],
    *,
    at_once: bool,
) -> None:
    # given two processes on one database, each having decided for the account (its lists
    # held, whole or the look-up's answer, from the first decision on; migrated here, so
    # that the two start at once and neither migrates)
    database = Database(url)
    try:
        await upgrade(database)
        token = (await new_account(database, "Held lists")).token
    finally:
        await database.dispose()
    first, second = await serve(url, n=2, **settings)
    for server in (first, second, first, second):
        assert await _outcome(server, token) == "LOGGED"
    # and having gone on deciding for longer than the bound (on PostgreSQL each process
    # then has polled the changed accounts, and holds the account as that poll left it)
    settled = time.monotonic()
    while time.monotonic() - settled < BOUND + 0.2:
        for server in (first, second):
            assert await _outcome(server, token) == "LOGGED"
        await asyncio.sleep(0.05)

    for maker, other, change, expected in (
        (first, second, "add", "NEVER_LOG"),
        (second, first, "remove", "LOGGED"),
    ):
        # when one process changes the list
        payload = await getattr(maker.client, change)(token, [ADDRESS], scope="ACCOUNT")
        assert payload["userErrors"] == []
        committed = time.monotonic()  # the change committed before its answer came back
        # then the process that made it sees it on its next decision
        assert await _outcome(maker, token) == expected
        # and the other on its next decision (SQLite), or on every decision that begins
        # half a second after the commit (PostgreSQL); usually sooner, by the notice
        if at_once:
            assert await _outcome(other, token) == expected
            continue
        # (on until two decisions have begun past the bound: on a busy machine a request
        # may itself take longer than the bound)
        seen: list[tuple[float, str]] = []
        while len([at for at, _ in seen if at > BOUND]) < 2:
            began = time.monotonic()
            outcome = await _outcome(other, token)
            seen.append((round(began - committed, 3), outcome))
            if began - committed > BOUND:
                assert outcome == expected, seen
            await asyncio.sleep(0.02)
