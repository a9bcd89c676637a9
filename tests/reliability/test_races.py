"""Races inside one process: concurrent adds and removes on one list leave exactly what the
successful calls say they did, and one pattern added by many calls at once becomes one entry."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.settings import Settings
from persistence.database import Database
from tests.reliability.conftest import Client, new_account

pytestmark = pytest.mark.reliability


@pytest.fixture
async def client(pg_db: Database) -> AsyncIterator[Client]:
    """The app in this process, on the PostgreSQL database."""
    settings = Settings(database_url=pg_db.url.render_as_string(hide_password=False))
    app = create_app(settings, database=pg_db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://neverlog.local") as http:
        yield Client(http)


async def test_concurrent_adds_and_removes_leave_what_the_calls_reported(
    pg_db: Database, client: Client
) -> None:
    # given a list that holds some of a small pool of patterns
    member = await new_account(pg_db)
    pool = [f"p{n}@race.example.com" for n in range(12)]
    seeded = await client.add(member.token, pool[:6])
    ids = {a["id"]: a["pattern"] for a in seeded["added"]}

    # when many calls add and remove patterns of the pool at the same moment
    rng = random.Random(20261128)
    calls: list[tuple[str, list[str]]] = [
        ("add", rng.sample(pool, rng.randint(1, 3)))
        if rng.random() < 0.55
        else ("remove", rng.sample(pool, rng.randint(1, 2)))
        for _ in range(30)
    ]

    async def call(kind: str, patterns: list[str]) -> dict[str, Any]:
        if kind == "add":
            return await client.add(member.token, patterns)
        return await client.remove(member.token, patterns)

    payloads = await asyncio.gather(*(call(kind, patterns) for kind, patterns in calls))

    # then every call either did all it says or nothing (a remove of a missing pattern)
    new_entries = [
        a for (kind, _), p in zip(calls, payloads, strict=True) if kind == "add" for a in p["added"]
    ]
    added = [a["id"] for a in new_entries]
    ids.update({a["id"]: a["pattern"] for a in new_entries})
    removed: list[str] = []
    for (kind, patterns), payload in zip(calls, payloads, strict=True):
        if kind == "add":
            assert payload["userErrors"] == [], payload
            reported = [a["pattern"] for a in payload["added"]] + payload["alreadyListed"]
            assert sorted(reported) == sorted(patterns)
        elif payload["userErrors"]:
            assert {e["code"] for e in payload["userErrors"]} == {"NOT_FOUND"}, payload
            assert payload["removedIds"] == []
        else:
            assert sorted(ids[i] for i in payload["removedIds"]) == sorted(patterns)
            removed += payload["removedIds"]
    assert added and removed, "the calls should have both added and removed entries"

    # and the list holds exactly the entries added and not removed: no more, no fewer, no twice
    assert max(Counter(added).values()) == 1
    assert max(Counter(removed).values()) == 1, "an entry was removed twice"
    count, entries = await client.entries(member.token)
    expected = set(ids) - set(removed)
    assert {e["id"] for e in entries} == expected
    assert count == len(entries) == len(expected)
    patterns = [e["pattern"] for e in entries]
    assert len(patterns) == len(set(patterns)), "a pattern is listed twice"
    assert all(ids[e["id"]] == e["pattern"] for e in entries)


async def test_one_pattern_added_by_many_calls_at_once_becomes_one_entry(
    pg_db: Database, client: Client
) -> None:
    # given two lists: an admin's personal list and the account-wide list
    member = await new_account(pg_db)
    same = ["lawyer@dup.example.com", "*@dup-firm.example.com", "*@*.dup-hospital.example.com"]

    # when many calls add the same patterns to each at the same moment
    for scope in ("PERSONAL", "ACCOUNT"):
        payloads = await asyncio.gather(
            *(client.add(member.token, rng_order(same, n), scope=scope) for n in range(20))
        )

        # then none fails, each pattern is added by exactly one call, and listed by the others
        assert all(p["userErrors"] == [] for p in payloads), payloads
        adds = Counter(a["pattern"] for p in payloads for a in p["added"])
        assert adds == Counter(same)
        for payload in payloads:
            assert sorted(
                [a["pattern"] for a in payload["added"]] + payload["alreadyListed"]
            ) == sorted(same)

        # and the list holds each pattern once
        count, entries = await client.entries(member.token, scope=scope)
        assert count == 3
        assert sorted(e["pattern"] for e in entries) == sorted(same)


def rng_order(patterns: list[str], seed: int) -> list[str]:
    shuffled = list(patterns)
    random.Random(seed).shuffle(shuffled)
    return shuffled
