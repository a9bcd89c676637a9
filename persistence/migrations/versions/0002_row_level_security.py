"""Row-level security on PostgreSQL: a second guard under the application's own account
filter. Every tenant table (and accounts) is FORCE ROW LEVEL SECURITY with a policy that
shows and accepts only the rows of the account set for the transaction
(``set_config('app.account_id', ..., true)``, see persistence/database.py). Without that
setting a query sees no rows at all. SQLite has no such thing; nothing changes there.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CURRENT_ACCOUNT = "nullif(current_setting('app.account_id', true), '')::uuid"
TABLES = {
    "accounts": "id",
    "users": "account_id",
    "api_tokens": "account_id",
    "never_log_entries": "account_id",
    "audit_events": "account_id",
    "email_simulations": "account_id",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in TABLES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY account_isolation ON {table} "
            f"USING ({column} = {CURRENT_ACCOUNT}) WITH CHECK ({column} = {CURRENT_ACCOUNT})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP POLICY IF EXISTS account_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
