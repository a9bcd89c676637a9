"""The reads of a decision on PostgreSQL: one statement each that sets the account for
itself (Database.read_once), row-level security still binding it. The tests serve as the
application's role, which owns no table."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from persistence import entries, tokens
from persistence.database import Database, account_gate
from persistence.entries import SETTINGS_SCOPES
from tenancy.tokens import authenticate, hash_token
from tests.api.decision_helpers import add_patterns, email, evaluate
from tests.helpers import Api, Member

pytestmark = pytest.mark.postgresql

# What app.account_id is while a gated statement runs.
_CURRENT = sa.select(sa.func.current_setting("app.account_id", True)).where(account_gate())


def _account(member: Member) -> uuid.UUID:
    return uuid.UUID(hex=member.token.rpartition("_")[2])


async def test_a_read_sees_only_the_account_it_sets_whatever_its_own_filter_says(
    api: Api, db: Database
) -> None:
    # given: two accounts, and the statement of sign-in asking for the second's token
    acme = await api.new_account("Acme")
    globex = await api.new_account("Globex")
    asked = {"account_id": _account(globex), "token_hash": hash_token(globex.token)}
    statement = tokens._TOKEN_AND_OWNER_GATED
    # when: the read sets the first account, then the second
    as_acme = await db.read_once(_account(acme), statement, asked)
    as_globex = await db.read_once(_account(globex), statement, asked)
    # then: row-level security hides the second account's row from a read of the first
    assert as_acme == []
    assert len(as_globex) == 1


async def test_a_read_leaves_no_account_set_on_its_connection(api: Api, db: Database) -> None:
    # given: a read for an account
    admin = await api.new_account()
    await add_patterns(api, admin, ["*@lawfirm.com"], scope="ACCOUNT")
    found = await entries.keyed_entries(
        db=db, account_id=_account(admin), owner_ids=[_account(admin)], keys=["@lawfirm.com"]
    )
    assert [row.pattern for row in found if row.scope not in SETTINGS_SCOPES] == ["*@lawfirm.com"]
    # when: the connections of the pool are asked what account they have
    settings = [
        await db.read_once(_account(admin), _CURRENT, {}) for _ in range(db.engine.pool.size())
    ]
    # then: each statement set its own, and none outlived it (a fresh statement without the
    # gate sees none)
    async with db.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        left = await driver.fetchval("select current_setting('app.account_id', true)")
    assert all(rows[0][0] == str(_account(admin)) for rows in settings)
    assert left in (None, "")


async def test_behind_pgbouncer_the_reads_run_in_a_transaction_and_decide_alike(
    api: Api, db: Database
) -> None:
    # given: the same database through a Database set up for PgBouncer's transaction mode
    admin = await api.new_account()
    await add_patterns(api, admin, ["*@lawfirm.com"], scope="ACCOUNT")
    bouncer = Database(db.url.render_as_string(hide_password=False), pgbouncer=True)
    try:
        # when
        viewer = await authenticate(bouncer, admin.token)
        found = await entries.keyed_entries(
            db=bouncer,
            account_id=_account(admin),
            owner_ids=[_account(admin)],
            keys=["@lawfirm.com", "@brightpath.io"],
        )
    finally:
        await bouncer.dispose()
    # then
    assert viewer is not None and viewer.account_id == _account(admin)
    assert [row.pattern for row in found if row.scope not in SETTINGS_SCOPES] == ["*@lawfirm.com"]
    decision = await evaluate(api, admin, email("CRM", to=["a@lawfirm.com"]))
    assert decision["neverLogCount"] == 1
