"""The write path, in this process: ``addNeverLogEntries`` with 1, 50 and 500 patterns in
one call, through the whole app (httpx's ASGI transport): the SQL statements each call
runs (SQLAlchemy's before_cursor_execute event), which must not grow with the batch, and
how long a call of 500 takes."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event

from api.app import create_app
from api.settings import Settings
from persistence.database import Database
from persistence.tables import ApiToken, User, new_id
from tenancy import touches
from tenancy.tokens import PREFIX_LENGTH, hash_token, make_token, random_secret
from tests.bench.bench_data import PatternBook
from tests.bench.bench_http import UNTHROTTLED

ADD = """mutation Add($input: AddNeverLogEntriesInput!) { addNeverLogEntries(input: $input) {
    added { pattern } list { count } userErrors { field message code } } }"""
BATCHES = (1, 50, 500)
TIMED = 5  # calls of 500 patterns, each on a fresh list


@contextmanager
def _counting(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


async def _new_user(db: Database, account_id: uuid.UUID) -> str:
    """A user with an empty personal list, and their token (rows as the service writes them)."""
    user_id = new_id()
    token = make_token(account_id, random_secret())
    address = f"writer-{user_id.hex[-12:]}@bench.example.com"
    async with db.transaction(account_id, write=True) as session:
        session.add(
            User(
                account_id=account_id,
                id=user_id,
                email=address,
                email_key=address,
                name="Writer",
                role="USER",
            )
        )
        await session.flush()
        session.add(
            ApiToken(
                account_id=account_id,
                user_id=user_id,
                name="writer",
                prefix=token[:PREFIX_LENGTH],
                token_hash=hash_token(token),
            )
        )
    return token


async def measure(database_url: str, account_id: uuid.UUID) -> dict[str, Any]:
    settings = Settings(
        database_url=database_url,
        rate_limit_capacity=float(UNTHROTTLED),
        rate_limit_restore_rate=float(UNTHROTTLED),
    )
    db = settings.database()
    app = create_app(settings, database=db)
    patterns = [p.text for p in PatternBook(seed=23).full_list(size=500)]
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.local") as client:

            async def add(token: str, batch: list[str]) -> dict[str, Any]:
                headers = {"Authorization": f"Bearer {token}"}
                body = {
                    "query": ADD,
                    "variables": {"input": {"scope": "PERSONAL", "patterns": batch}},
                }
                response = await client.post("/graphql", json=body, headers=headers)
                answer: dict[str, Any] = response.json()
                payload = (answer.get("data") or {}).get("addNeverLogEntries")
                if response.status_code != 200 or not payload or payload["userErrors"]:
                    raise RuntimeError(f"addNeverLogEntries failed: {response.text[:500]}")
                if len(payload["added"]) != len(batch) or payload["list"]["count"] != len(batch):
                    raise RuntimeError(
                        f"addNeverLogEntries added {len(payload['added'])} of {len(batch)}"
                    )
                return payload

            async def warm(token: str) -> None:
                """A token's first request writes its lastUsedAt (in the background, within
                tenancy.touches.GATHER_SECONDS): keep that out of what is counted and timed."""
                headers = {"Authorization": f"Bearer {token}"}
                await client.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
                await touches.flush(db)

            counts: dict[str, int] = {}
            for size in BATCHES:
                token = await _new_user(db, account_id)
                await warm(token)
                with _counting(db) as statements:
                    await add(token, patterns[:size])
                counts[str(size)] = len(statements)
            times = []
            for _ in range(TIMED):
                token = await _new_user(db, account_id)
                await warm(token)
                started = time.perf_counter()
                await add(token, patterns)
                times.append((time.perf_counter() - started) * 1000)
    finally:
        await db.dispose()
    return {
        "statements": counts,
        "constant": len(set(counts.values())) == 1,
        "add_500_ms": round(statistics.median(times), 1),
    }
