"""Row-level security on PostgreSQL: a second guard under the application's account filter.
The tests serve as the application's role, which owns no table (a superuser or an owner
would bypass the policies and prove nothing)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from persistence.database import Database
from tests.helpers import Api, assert_no_user_errors

pytestmark = pytest.mark.postgresql

TABLES = (
    "accounts",
    "users",
    "api_tokens",
    "never_log_entries",
    "audit_events",
    "email_simulations",
    "invitations",
)


async def _two_accounts_with_data(api: Api) -> tuple[uuid.UUID, uuid.UUID]:
    ids = []
    for name in ("Acme", "Globex"):
        admin = await api.new_account(name)
        added = await api.data(
            'mutation { addNeverLogEntries(input: {scope: ACCOUNT, patterns: ["*@lawfirm.com"]}) '
            "{ userErrors { code } } }",
            token=admin.token,
        )
        assert_no_user_errors(added["addNeverLogEntries"])
        await api.data(
            'mutation { runEmailLoggingSimulation(input: {email: {channel: CRM, to: ["a@lawfirm.com"]}}) '
            "{ userErrors { code } } }",
            token=admin.token,
        )
        # a user added: an invitation waiting for them
        await api.data(
            'mutation { addUser(input: {email: "new@acme-corp.com", name: "New"}) '
            "{ userErrors { code } } }",
            token=admin.token,
        )
        ids.append(uuid.UUID(admin.token.rsplit("_", 1)[1]))
    return ids[0], ids[1]


async def test_the_application_role_owns_nothing_and_every_table_forces_rls(
    api: Api, admin_db: Database
) -> None:
    async with api.db.engine.connect() as connection:
        me = await connection.scalar(sa.text("SELECT current_user"))
        superuser = await connection.scalar(
            sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        )
    async with admin_db.engine.connect() as connection:
        rows = (
            await connection.execute(
                sa.text(
                    "SELECT relname, relrowsecurity, relforcerowsecurity, pg_get_userbyid(relowner) "
                    "FROM pg_class WHERE relname = ANY(:tables)"
                ),
                {"tables": list(TABLES)},
            )
        ).all()
    assert not superuser
    assert {r[0] for r in rows} == set(TABLES)
    for name, enabled, forced, owner in rows:
        assert enabled and forced, name
        assert owner != me, name


async def test_without_the_account_setting_a_query_sees_no_rows(api: Api) -> None:
    # given two accounts with rows in every table
    await _two_accounts_with_data(api)
    # when the application's role queries without setting an account
    async with api.db.engine.connect() as connection:
        counts = {t: await connection.scalar(sa.text(f"SELECT count(*) FROM {t}")) for t in TABLES}
    # then it sees nothing
    assert counts == dict.fromkeys(TABLES, 0)


async def test_a_query_without_an_account_filter_still_sees_only_its_account(api: Api) -> None:
    # given
    acme, globex = await _two_accounts_with_data(api)
    # when a query forgets the account filter, in a transaction set for Acme
    async with api.db.transaction(acme) as session:
        seen = {
            t: set(
                (
                    await session.execute(
                        sa.text(f"SELECT {'id' if t == 'accounts' else 'account_id'} FROM {t}")
                    )
                ).scalars()
            )
            for t in TABLES
        }
    # then every table shows Acme's rows only
    for table, accounts in seen.items():
        assert accounts == {acme}, table
    assert globex not in set().union(*seen.values())


async def test_a_write_into_another_account_is_refused(api: Api) -> None:
    acme, globex = await _two_accounts_with_data(api)
    with pytest.raises(sa.exc.DBAPIError, match="row-level security"):
        async with api.db.transaction(acme, write=True) as session:
            await session.execute(
                sa.text(
                    "INSERT INTO audit_events (account_id, id, action, created_at, patterns, summary) "
                    "VALUES (:account, :id, 'USER_ADDED', now(), '[]', 'forged')"
                ),
                {"account": globex, "id": uuid.uuid4()},
            )


async def test_only_the_service_may_ask_which_accounts_lists_changed(
    api: Api, admin_db: Database
) -> None:
    # given two accounts whose lists changed, and a role of the server other than the
    # service's (a reporting user), that may log in
    await _two_accounts_with_data(api)
    other = f"neverlog_other_{uuid.uuid4().hex[:8]}"
    async with admin_db.engine.begin() as connection:
        await connection.execute(sa.text(f'CREATE ROLE "{other}" LOGIN'))
    stranger = Database(admin_db.url.set(username=other).render_as_string(hide_password=False))
    ask = sa.text("SELECT count(*) FROM neverlog_lists_changed_since('0'::xid8)")
    try:
        # when each asks which accounts' lists changed
        async with api.db.engine.connect() as connection:
            served = await connection.scalar(ask)
        with pytest.raises(sa.exc.DBAPIError) as refused:
            async with stranger.engine.connect() as connection:
                await connection.scalar(ask)
        # then the service is told, and the other role refused
        assert served is not None and served >= 2
        assert "permission denied for function neverlog_lists_changed_since" in str(refused.value)
    finally:
        await stranger.dispose()
        async with admin_db.engine.begin() as connection:
            await connection.execute(sa.text(f'DROP ROLE "{other}"'))
