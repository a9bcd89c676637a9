"""Upgrading a database that holds data, from the first migration to the newest, keeps every
row. The rows are written in the shape of migration 0001 (which never changes), and checked
after the upgrade table by table, against whatever tables and columns the newest migration
has: row counts, every primary key, and the key columns that still exist."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from api.settings import Settings
from persistence.database import Database
from persistence.migrate import upgrade
from tests.reliability.conftest import PG_URL, skip_without_pg

pytestmark = pytest.mark.reliability

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)

# The tables of migration 0001 and their columns, as that migration made them.
TABLES_0001: dict[str, dict[str, sa.types.TypeEngine[Any]]] = {
    "accounts": {"id": sa.Uuid(), "name": sa.String(), "created_at": sa.DateTime(timezone=True)},
    "users": {
        "account_id": sa.Uuid(), "id": sa.Uuid(), "email": sa.String(), "email_key": sa.String(),
        "name": sa.String(), "role": sa.String(), "active": sa.Boolean(),
        "created_at": sa.DateTime(timezone=True),
    },
    "api_tokens": {
        "account_id": sa.Uuid(), "id": sa.Uuid(), "user_id": sa.Uuid(), "name": sa.String(),
        "prefix": sa.String(), "token_hash": sa.String(), "created_at": sa.DateTime(timezone=True),
        "last_used_at": sa.DateTime(timezone=True), "revoked_at": sa.DateTime(timezone=True),
    },
    "never_log_entries": {
        "account_id": sa.Uuid(), "id": sa.Uuid(), "owner_id": sa.Uuid(), "scope": sa.String(),
        "kind": sa.String(), "pattern": sa.String(), "match_key": sa.String(),
        "created_at": sa.DateTime(timezone=True), "created_by_id": sa.Uuid(),
    },
    "audit_events": {
        "account_id": sa.Uuid(), "id": sa.Uuid(), "action": sa.String(),
        "created_at": sa.DateTime(timezone=True), "actor_id": sa.Uuid(), "scope": sa.String(),
        "patterns": JSON, "subject_user_id": sa.Uuid(), "summary": sa.String(),
    },
    "email_simulations": {
        "account_id": sa.Uuid(), "id": sa.Uuid(), "name": sa.String(),
        "created_at": sa.DateTime(timezone=True), "created_by_id": sa.Uuid(),
        "sender_id": sa.Uuid(), "email": JSON, "recorded": JSON,
    },
}  # fmt: skip

# What identifies a row to a person, compared after the upgrade where the column still exists.
KEY_COLUMNS = {
    "accounts": ["name"],
    "users": ["email_key", "role", "active"],
    "api_tokens": ["user_id", "token_hash", "revoked_at"],
    "never_log_entries": ["owner_id", "scope", "kind", "pattern", "match_key"],
    "audit_events": ["action", "actor_id", "summary"],
    "email_simulations": ["name", "sender_id"],
}


def rows_0001() -> dict[str, list[dict[str, Any]]]:
    """Two accounts, each with a super admin and a user, tokens (one revoked), entries of
    every kind on both lists, audit events and a saved simulation."""
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES_0001}
    for a in range(2):
        account = uuid.uuid4()
        rows["accounts"].append({"id": account, "name": f"Account {a}", "created_at": NOW})
        users = [uuid.uuid4(), uuid.uuid4()]
        for u, (user, role) in enumerate(zip(users, ["SUPER_ADMIN", "USER"], strict=True)):
            email = f"User{u}@Account{a}.example.com"
            rows["users"].append({
                "account_id": account, "id": user, "email": email, "email_key": email.lower(),
                "name": f"User {u}", "role": role, "active": u == 0 or a == 0, "created_at": NOW,
            })  # fmt: skip
            rows["api_tokens"].append({
                "account_id": account, "id": uuid.uuid4(), "user_id": user, "name": "laptop",
                "prefix": f"nl_{a}{u}000000", "token_hash": f"{a}{u}".ljust(64, "f"),
                "created_at": NOW, "last_used_at": NOW if u == 0 else None,
                "revoked_at": NOW if u == 1 else None,
            })  # fmt: skip
        for owner, scope in ((account, "ACCOUNT"), (users[0], "PERSONAL"), (users[1], "PERSONAL")):
            for pattern, kind, key in (
                (f"jane@firm{a}.example.com", "ADDRESS", f"jane@firm{a}.example.com"),
                (f"*@clinic{a}.example.com", "DOMAIN", f"@clinic{a}.example.com"),
                (f"*@*.family{a}.example.com", "SUBDOMAINS", f"*.family{a}.example.com"),
            ):
                rows["never_log_entries"].append({
                    "account_id": account, "id": uuid.uuid4(), "owner_id": owner, "scope": scope,
                    "kind": kind, "pattern": pattern, "match_key": key, "created_at": NOW,
                    "created_by_id": users[0],
                })  # fmt: skip
        for n, action in enumerate(["NEVER_LOG_ENTRIES_ADDED", "USER_ADDED", "API_TOKEN_CREATED"]):
            rows["audit_events"].append({
                "account_id": account, "id": uuid.uuid4(), "action": action,
                "created_at": NOW + dt.timedelta(seconds=n), "actor_id": users[0],
                "scope": "ACCOUNT" if n == 0 else None,
                "patterns": [f"*@clinic{a}.example.com"] if n == 0 else [],
                "subject_user_id": users[1] if n else None, "summary": f"Event {n} of account {a}.",
            })  # fmt: skip
        rows["email_simulations"].append({
            "account_id": account, "id": uuid.uuid4(), "name": "Before the upgrade",
            "created_at": NOW, "created_by_id": users[0], "sender_id": users[1],
            "email": {"channel": "CRM", "to": [f"jane@firm{a}.example.com"]},
            "recorded": {"recipients": [{"address": f"jane@firm{a}.example.com", "outcome": "NEVER_LOG"}]},
        })  # fmt: skip
    return rows


@pytest.fixture(params=["sqlite", "postgresql"])
async def fresh_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """An empty database: an SQLite file, or a PostgreSQL database created for this test on
    the server of NEVERLOG_TEST_DATABASE_URL and dropped after it."""
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'upgrade.db'}")
        yield database
        await database.dispose()
        return
    skip_without_pg()
    url = sa.make_url(Settings(database_url=PG_URL).database_url)
    name = f"neverlog_upgrade_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(
        host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username,
        password=url.password, database="postgres",
    )  # fmt: skip
    try:
        await admin.execute(f'create database "{name}"')
        database = Database(url.set(database=name).render_as_string(hide_password=False))
        try:
            yield database
        finally:
            await database.dispose()
            await admin.execute(f'drop database if exists "{name}" with (force)')
    finally:
        await admin.close()


async def test_upgrading_from_the_first_migration_keeps_every_row(fresh_db: Database) -> None:
    # given a database at migration 0001 that holds rows in every table
    await upgrade(fresh_db, "0001")
    written = rows_0001()
    async with fresh_db.engine.begin() as connection:
        for name, columns in TABLES_0001.items():
            table = sa.table(name, *(sa.column(c, t) for c, t in columns.items()))
            await connection.execute(sa.insert(table), written[name])

    # when it is upgraded to the newest migration
    await upgrade(fresh_db, "head")

    # then every table of 0001 holds the same rows: same count, same keys, same key columns
    found = await _read_back(fresh_db, written)
    for name, rows in written.items():
        primary_key, columns, after = found[name]
        assert len(after) == len(rows), f"{name}: {len(rows)} rows before, {len(after)} after"
        before = {
            tuple(_plain(row[c]) for c in primary_key): {c: _plain(row[c]) for c in columns}
            for row in rows
        }
        assert set(after) == set(before), f"{name}: rows lost or changed keys"
        for key, values in before.items():
            assert after[key] == values, f"{name} {key}: {values} became {after[key]}"


async def _read_back(
    db: Database, written: dict[str, list[dict[str, Any]]]
) -> dict[str, tuple[list[str], list[str], dict[tuple[Any, ...], dict[str, Any]]]]:
    """Per table: its primary key now, the key columns that still exist, and its rows by key.
    Read account by account, in each account's transaction, as the service reads."""

    def reflect(connection: sa.Connection) -> dict[str, sa.Table]:
        metadata = sa.MetaData()
        metadata.reflect(connection, only=list(TABLES_0001))
        return dict(metadata.tables)

    async with db.engine.connect() as connection:
        tables = await connection.run_sync(reflect)
    missing = set(TABLES_0001) - set(tables)
    assert not missing, f"tables dropped by the upgrade: {missing}"
    found: dict[str, tuple[list[str], list[str], dict[tuple[Any, ...], dict[str, Any]]]] = {}
    for name, table in tables.items():
        primary_key = [c.name for c in table.primary_key.columns]
        assert set(primary_key) <= set(TABLES_0001[name]), f"{name}: a new primary key column"
        columns = [c for c in KEY_COLUMNS[name] if c in table.c]
        found[name] = (primary_key, columns, {})
    for account in written["accounts"]:
        async with db.transaction(account["id"]) as session:
            for name, table in tables.items():
                primary_key, columns, rows = found[name]
                tenant = table.c.id if name == "accounts" else table.c.account_id
                result = await session.execute(
                    sa.select(*(table.c[c] for c in [*primary_key, *columns])).where(
                        tenant == sa.literal(account["id"], sa.Uuid())
                    )
                )
                for row in result.mappings():
                    rows[tuple(_plain(row[c]) for c in primary_key)] = {
                        c: _plain(row[c]) for c in columns
                    }
    return found


def _plain(value: Any) -> Any:
    """A value comparable across drivers: UUIDs as hex, timestamps in UTC."""
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, str) and len(value) in (32, 36):
        try:
            return uuid.UUID(value).hex
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return value


async def test_users_who_hold_a_token_have_signed_in_after_the_upgrade(
    fresh_db: Database,
) -> None:
    # given a database at migration 0001 whose USER users hold no token
    await upgrade(fresh_db, "0001")
    written = rows_0001()
    users = {u["id"]: u["role"] for u in written["users"]}
    written["api_tokens"] = [t for t in written["api_tokens"] if users[t["user_id"]] != "USER"]
    async with fresh_db.engine.begin() as connection:
        for name, columns in TABLES_0001.items():
            table = sa.table(name, *(sa.column(c, t) for c, t in columns.items()))
            await connection.execute(sa.insert(table), written[name])
    # when
    await upgrade(fresh_db, "head")
    # then those who held a token signed in when it was made (User.hasSignedIn), the others
    # have not
    signed_in: dict[str, Any] = {}
    for account in written["accounts"]:
        async with fresh_db.transaction(account["id"]) as session:
            table = sa.table(
                "users",
                sa.column("account_id", sa.Uuid()),
                sa.column("id", sa.Uuid()),
                sa.column("signed_in_at", sa.DateTime(timezone=True)),
            )
            rows = await session.execute(
                sa.select(table.c.id, table.c.signed_in_at).where(
                    table.c.account_id == sa.literal(account["id"], sa.Uuid())
                )
            )
            signed_in |= {_plain(row[0]): _plain(row[1]) for row in rows}
    assert signed_in == {
        user.hex: (NOW if role == "SUPER_ADMIN" else None) for user, role in users.items()
    }


async def test_two_processes_that_migrate_at_once_both_succeed(fresh_db: Database) -> None:
    # given an empty database, and two upgrades started at once (two replicas' start, two
    # deploy jobs), each on an engine of its own
    other = Database(fresh_db.url.render_as_string(hide_password=False))
    try:
        # when both run
        results = await asyncio.gather(upgrade(fresh_db), upgrade(other), return_exceptions=True)
        # then neither fails, and the schema is there once, at the head
        assert [r for r in results if isinstance(r, BaseException)] == []
        async with fresh_db.engine.connect() as connection:
            versions = (
                await connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            ).all()
        assert len(versions) == 1
    finally:
        await other.dispose()
