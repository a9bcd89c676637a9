"""Webhooks: endpoints, the outbox of events, per-account sequences and deliveries.

Row-level security as for every tenant table (0002). The delivery workers of every process
must find the due deliveries of all accounts, and prune old ones: a second policy on
webhook_deliveries and webhook_events lets a transaction that declares itself the webhook
worker (``set_config('app.webhook_worker', 'on', true)``) see those two tables' rows,
which hold no secret (the endpoints' URLs and secrets stay behind the account policy).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)
CURRENT_ACCOUNT = "nullif(current_setting('app.account_id', true), '')::uuid"
WORKER = "current_setting('app.webhook_worker', true) = 'on'"
TABLES = ("webhook_endpoints", "webhook_sequences", "webhook_events", "webhook_deliveries")
WORKER_TABLES = ("webhook_events", "webhook_deliveries")


def _account_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["account_id"], ["accounts.id"], name=f"fk_{table}_account_id_accounts"
    )


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("description", sa.String(500), nullable=True),
        sa.Column("event_types", JSON, nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("account_id", "id", name="pk_webhook_endpoints"),
        _account_fk("webhook_endpoints"),
    )
    op.create_table(
        "webhook_sequences",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_webhook_sequences"),
        _account_fk("webhook_sequences"),
    )
    op.create_table(
        "webhook_events",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "id", name="pk_webhook_events"),
        sa.UniqueConstraint("account_id", "sequence", name="uq_webhook_events_account_id_sequence"),
        _account_fk("webhook_events"),
    )
    op.create_index(
        "ix_webhook_events_account_id_created_at", "webhook_events", ["account_id", "created_at"]
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_attempt_at", TIMESTAMP, nullable=True),
        sa.Column("last_response_status", sa.Integer(), nullable=True),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=True),
        sa.Column("claim_token", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("account_id", "id", name="pk_webhook_deliveries"),
        sa.ForeignKeyConstraint(
            ["account_id", "endpoint_id"],
            ["webhook_endpoints.account_id", "webhook_endpoints.id"],
            name="fk_webhook_deliveries_account_id_endpoint_id_webhook_endpoints",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "event_id"],
            ["webhook_events.account_id", "webhook_events.id"],
            name="fk_webhook_deliveries_account_id_event_id_webhook_events",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_account_id_endpoint_id_created_at_id",
        "webhook_deliveries",
        ["account_id", "endpoint_id", "created_at", "id"],
    )
    op.create_index(
        "ix_webhook_deliveries_account_id_event_id",
        "webhook_deliveries",
        ["account_id", "event_id"],
    )
    op.create_index(
        "ix_webhook_deliveries_account_id_next_attempt_at_pending",
        "webhook_deliveries",
        ["account_id", "next_attempt_at"],
        postgresql_where=sa.text("next_attempt_at IS NOT NULL"),
        sqlite_where=sa.text("next_attempt_at IS NOT NULL"),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY account_isolation ON {table} "
            f"USING (account_id = {CURRENT_ACCOUNT}) WITH CHECK (account_id = {CURRENT_ACCOUNT})"
        )
    for table in WORKER_TABLES:
        op.execute(
            f"CREATE POLICY webhook_worker ON {table} USING ({WORKER}) WITH CHECK ({WORKER})"
        )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
