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
    # Rows: one statement-level trigger per event, over the statement's rows (a transition
    # table): adding 500 entries bumps the version once, not 500 times.
    op.execute(
        f"""
        CREATE FUNCTION neverlog_rows_changed() RETURNS trigger LANGUAGE plpgsql
        SECURITY DEFINER SET search_path FROM CURRENT AS $$
        BEGIN
            INSERT INTO list_versions AS v (account_id, version)
                SELECT DISTINCT account_id, 1 FROM changed_rows
                ON CONFLICT (account_id) DO UPDATE SET version = v.version + 1;
            PERFORM pg_notify('{CHANNEL}', a::text)
                FROM (SELECT DISTINCT account_id AS a FROM changed_rows) AS accounts;
            RETURN NULL;
        END $$
        """
    )
    for table, _ in ROWS:
        for event in EVENTS:
            rows = "OLD TABLE" if event == "DELETE" else "NEW TABLE"
            op.execute(
                f"CREATE TRIGGER list_version_{event.lower()} AFTER {event} ON {table} "
                f"REFERENCING {rows} AS changed_rows FOR EACH STATEMENT "
                "EXECUTE FUNCTION neverlog_rows_changed()"
            )
    # Settings: one row at a time (a column list and a transition table do not go together).
    op.execute(
        f"""
        CREATE FUNCTION neverlog_settings_changed() RETURNS trigger LANGUAGE plpgsql
        SECURITY DEFINER SET search_path FROM CURRENT AS $$
        DECLARE
            account uuid := (CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END
                ->> TG_ARGV[0])::uuid;
        BEGIN
            INSERT INTO list_versions AS v (account_id, version) VALUES (account, 1)
                ON CONFLICT (account_id) DO UPDATE SET version = v.version + 1;
            PERFORM pg_notify('{CHANNEL}', account::text);
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
            for event in EVENTS:
                op.execute(f"DROP TRIGGER list_version_{event.lower()} ON {table}")
        op.execute("DROP TRIGGER list_version_update ON accounts")
        for event in ("update", "insert", "delete"):
            op.execute(f"DROP TRIGGER list_version_{event} ON users")
        op.execute("DROP FUNCTION neverlog_rows_changed()")
        op.execute("DROP FUNCTION neverlog_settings_changed()")
    else:
        for table, _ in ROWS:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER list_version_{table}_{event.lower()}")
        for name in ("accounts_update", "users_update", "users_insert", "users_delete"):
            op.execute(f"DROP TRIGGER list_version_{name}")
    op.drop_table("list_versions")
