"""The lean baseline: about the least a Python server can do to answer what
evaluateEmailLogging answers, on PostgreSQL.

A bare Starlette route with asyncpg directly (no ORM, no SQLAlchemy, none of the project's
functions): it authenticates the bearer token with one query (its SHA-256, the token's
account, revoked or not, the user active or not), fetches the entries whose keys the
recipients could match with one indexed query over the account-wide list and the sender's
personal list, decides with the little code below (the same precedence: account-wide list
first, then address, domain, closest subdomain), and answers the same JSON as the
benchmark's GraphQL query. Each query sets the account for its own transaction (the
one-time filter of a scalar subquery), so that row-level security binds it as it binds the
service. Served as ``neverlog serve`` serves the API (``api.cli.serve_app``):

    NEVERLOG_DATABASE_URL=postgresql+asyncpg://... python -m tests.bench.bench_lean --port 8002

It decides only what the benchmark's email needs (valid addresses, NEVER_LOG or LOGGED):
the benchmark checks every answer against the service's.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.cli import serve_app
from api.settings import Settings

JSON = "application/json"
TOKEN = re.compile(r"nl_([0-9a-f]{48})_([0-9a-f]{32})")
GATE = "(SELECT set_config('app.account_id', $1::text, true)) IS NOT NULL"
SIGN_IN = f"""SELECT t.token_hash, t.revoked_at, u.id, u.active
FROM api_tokens t JOIN users u ON u.account_id = t.account_id AND u.id = t.user_id
WHERE {GATE} AND t.account_id = $2 AND t.token_hash = $3"""
ENTRIES = f"""SELECT owner_id, scope, pattern, match_key FROM never_log_entries
WHERE {GATE} AND account_id = $2 AND owner_id = ANY($3::uuid[]) AND match_key = ANY($4::text[])"""
LISTS = {
    "ACCOUNT": "the account-wide never-log list",
    "PERSONAL": "the sender's personal never-log list",
}
UNAUTHORIZED = b'{"errors":[{"message":"Sign in first."}]}'
TYPENAME = b'{"data":{"__typename":"Query"}}'


def address_of(given: str) -> str:
    text = given.strip()
    if text.endswith(">") and "<" in text:
        text = text[text.rindex("<") + 1 : -1]
    return text.lower()


def keys_of(address: str) -> list[str]:
    domain = address.partition("@")[2]
    keys = [address, "@" + domain]
    parent = domain.partition(".")[2]
    while "." in parent:
        keys.append("*." + parent)
        parent = parent.partition(".")[2]
    return keys


def decide(given: dict[str, Any], rows: list[Any], account_id: uuid.UUID) -> dict[str, Any]:
    tables: tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]] = ({}, {})
    for owner_id, scope, pattern, key in rows:
        tables[0 if owner_id == account_id else 1][key] = (pattern, scope)
    existing = {address_of(a) for a in given.get("existingContacts") or ()}
    recipients, seen, logged = [], set(), 0
    for field in ("to", "cc", "bcc"):
        for raw in given.get(field) or ():
            address = address_of(raw)
            if address in seen:
                continue
            seen.add(address)
            keys = keys_of(address)
            match = next((t[k] for t in tables for k in keys if k in t), None)
            if match is None:
                logged += 1
                new = address not in existing
                why = f"Logged: {address} matches no never-log entry, " + (
                    "so the email is logged to a new contact created for it."
                    if new
                    else "so the email is logged to its contact."
                )
                flags = (True, new, True, True, True)
                pattern = scope = None
            else:
                pattern, scope = match
                why = f"Not logged: {address} matches {pattern} on {LISTS[scope]}."
                flags = (False, False, False, False, True)
            recipients.append(
                {
                    "address": address,
                    "field": field.upper(),
                    "outcome": "LOGGED" if match is None else "NEVER_LOG",
                    "loggedToContact": flags[0],
                    "contactCreated": flags[1],
                    "timelineTracking": flags[2],
                    "associatedRecordsLogged": flags[3],
                    "activityFeedTracking": flags[4],
                    "matchedPattern": pattern,
                    "matchedScope": scope,
                    "explanation": why,
                }
            )
    return {
        "channel": given["channel"],
        "neverLogApplies": True,
        "emailSent": True,
        "loggedCount": logged,
        "neverLogCount": len(recipients) - logged,
        "recipients": recipients,
    }


def create_lean_app(dsn: str, pool_size: int) -> Starlette:
    pools: list[asyncpg.Pool] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pools.append(await asyncpg.create_pool(dsn, min_size=1, max_size=pool_size))
        yield
        await pools[0].close()

    async def evaluate_email(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        found = TOKEN.fullmatch(token.strip()) if scheme.lower() == "bearer" else None
        if found is None:
            return Response(UNAUTHORIZED, 401, media_type=JSON)
        account_id = uuid.UUID(hex=found.group(2))
        token_hash = hashlib.sha256(token.strip().encode()).hexdigest()
        pool = pools[0]
        row = await pool.fetchrow(SIGN_IN, str(account_id), account_id, token_hash)
        if row is None or row[1] is not None or not row[3] or row[0] != token_hash:
            return Response(UNAUTHORIZED, 401, media_type=JSON)
        given = orjson.loads(await request.body())
        keys = {
            key
            for field in ("to", "cc", "bcc")
            for raw in given.get(field) or ()
            for key in keys_of(address_of(raw))
        }
        rows = await pool.fetch(
            ENTRIES, str(account_id), account_id, [account_id, row[2]], list(keys)
        )
        body = {"data": {"evaluateEmailLogging": decide(given, rows, account_id)}}
        return Response(orjson.dumps(body), media_type=JSON)

    async def healthz(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type=JSON)

    async def bare(request: Request) -> Response:
        """The bare HTTP route: what { __typename } answers, and nothing else."""
        await request.body()
        return Response(TYPENAME, media_type=JSON)

    return Starlette(
        routes=[
            Route("/evaluate", evaluate_email, methods=["POST"]),
            Route("/bare", bare, methods=["POST"]),
            Route("/healthz", healthz),
        ],
        lifespan=lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    args = parser.parse_args()
    settings = Settings()
    dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    app = create_lean_app(dsn, settings.database_pool_size)
    serve_app(app, settings, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
