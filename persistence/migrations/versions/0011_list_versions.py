"""List versions: ``list_versions`` holds a number per account that moves on with every
change to what a decision of the account reads (never-log entries, internal domains, the
account's settings, its users' settings), in the change's own transaction, kept by
triggers so that no way of writing can miss it. On PostgreSQL the same triggers send the
account's id on ``neverlog_lists`` (pg_notify, delivered at commit). tenancy/held_lists.py
checks the lists it holds in memory against both.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

CURRENT_ACCOUNT = "nullif(current_setting('app.account_id', true), '')::uuid"
CHANNEL = "neverlog_lists"
# The transaction-local setting that marks an account bumped in this transaction (PostgreSQL).
BUMPED = "neverlog.lists_bumped_"
# The tables whose rows a decision reads, and the column that names their account.
ROWS = (("never_log_entries", "account_id"), ("internal_domains", "account_id"))
# The settings that a decision reads, by table: (account column, settings columns).
SETTINGS = {
    "accounts": (
        "id",
        (
            "default_capture",
            "skip_automated_emails",
            "automated_sender_names",
            "users_domains_internal",
        ),
    ),
    "users": ("account_id", ("default_capture", "account_id")),
}
EVENTS = ("INSERT", "UPDATE", "DELETE")


def _sqlite_bump(row: str) -> str:
    return (
        f"INSERT INTO list_versions (account_id, version) VALUES ({row}, 1) "
        "ON CONFLICT (account_id) DO UPDATE SET version = version + 1;"
    )


def upgrade() -> None:
    op.create_table(
        "list_versions",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_list_versions"),
    )
    if op.get_bind().dialect.name != "postgresql":
        _sqlite_triggers()
        return
    # Row-level security binds the service's role, which reads the versions; the triggers'
    # functions run as their owner (SECURITY DEFINER, the migrating role, which the policy
    # does not bind: no FORCE), so that a change bumps its account's version whatever the
    # account set for its transaction (creating an account, the expiry sweep).
    op.execute("ALTER TABLE list_versions ENABLE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY account_isolation ON list_versions "
        f"USING (account_id = {CURRENT_ACCOUNT}) WITH CHECK (account_id = {CURRENT_ACCOUNT})"
    )
    # The bump, once per account and transaction: the version moves on and the notice is
    # sent (PostgreSQL folds repeated notices, but a bump per row of a 500-entry change
    # would cost). A transaction-local setting remembers the accounts already bumped (rolled
    # back with a savepoint, as the bump is).
    op.execute(
        f"""
        CREATE FUNCTION neverlog_bump_list_version(account uuid) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
        BEGIN
            INSERT INTO list_versions AS v (account_id, version) VALUES (account, 1)
                ON CONFLICT (account_id) DO UPDATE SET version = v.version + 1;
            PERFORM pg_notify('{CHANNEL}', account::text);
        END $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION neverlog_list_changed(account uuid) RETURNS void
        LANGUAGE plpgsql AS $$
        DECLARE
            bumped text := '{BUMPED}' || replace(account::text, '-', '');
        BEGIN
            IF current_setting(bumped, true) IS DISTINCT FROM '1' THEN
                PERFORM neverlog_bump_list_version(account);
                PERFORM set_config(bumped, '1', true);
            END IF;
        END $$
        """
    )
    # Rows of entries and internal domains: a row trigger (a statement trigger would run
    # for each row of an executemany, which is a statement per row).
    op.execute(
        """
        CREATE FUNCTION neverlog_rows_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                PERFORM neverlog_list_changed(OLD.account_id);
            ELSE
                PERFORM neverlog_list_changed(NEW.account_id);
                IF TG_OP = 'UPDATE' AND OLD.account_id IS DISTINCT FROM NEW.account_id THEN
                    PERFORM neverlog_list_changed(OLD.account_id);
                END IF;
            END IF;
            RETURN NULL;
        END $$
        """
    )
    for table, _ in ROWS:
        op.execute(
            f"CREATE TRIGGER list_version AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION neverlog_rows_changed()"
        )
    # Settings: the rows of a few columns, by the column that names their account.
    op.execute(
        """
        CREATE FUNCTION neverlog_settings_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM neverlog_list_changed((CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD)
                ELSE to_jsonb(NEW) END ->> TG_ARGV[0])::uuid);
            RETURN NULL;
        END $$
        """
    )
    for table, (account, columns) in SETTINGS.items():
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
        op.execute(
            f"CREATE TRIGGER list_version_update AFTER UPDATE OF {', '.join(columns)} ON {table} "
            f"FOR EACH ROW WHEN ({changed}) "
            f"EXECUTE FUNCTION neverlog_settings_changed('{account}')"
        )
        if table == "users":
            for event in ("INSERT", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER list_version_{event.lower()} AFTER {event} ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION neverlog_settings_changed('{account}')"
                )


def _sqlite_triggers() -> None:
    for table, account in ROWS:
        for event in EVENTS:
            row = "OLD" if event == "DELETE" else "NEW"
            op.execute(
                f"CREATE TRIGGER list_version_{table}_{event.lower()} AFTER {event} ON {table} "
                f"BEGIN {_sqlite_bump(f'{row}.{account}')} END"
            )
    for table, (account, columns) in SETTINGS.items():
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
        op.execute(
            f"CREATE TRIGGER list_version_{table}_update AFTER UPDATE OF {', '.join(columns)} "
            f"ON {table} FOR EACH ROW WHEN {changed} BEGIN {_sqlite_bump(f'NEW.{account}')} END"
        )
        if table == "users":
            for event in ("INSERT", "DELETE"):
                row = "OLD" if event == "DELETE" else "NEW"
                op.execute(
                    f"CREATE TRIGGER list_version_{table}_{event.lower()} AFTER {event} "
                    f"ON {table} BEGIN {_sqlite_bump(f'{row}.{account}')} END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, _ in ROWS:
            op.execute(f"DROP TRIGGER list_version ON {table}")
        op.execute("DROP TRIGGER list_version_update ON accounts")
        for event in ("update", "insert", "delete"):
            op.execute(f"DROP TRIGGER list_version_{event} ON users")
        for function in ("rows_changed()", "settings_changed()", "list_changed(uuid)"):
            op.execute(f"DROP FUNCTION neverlog_{function}")
        op.execute("DROP FUNCTION neverlog_bump_list_version(uuid)")
    else:
        for table, _ in ROWS:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER list_version_{table}_{event.lower()}")
        for name in ("accounts_update", "users_update", "users_insert", "users_delete"):
            op.execute(f"DROP TRIGGER list_version_{name}")
    op.drop_table("list_versions")
