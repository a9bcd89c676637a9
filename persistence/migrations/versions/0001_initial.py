"""The first tables: accounts, users, API tokens, never-log entries, audit events and
email simulations. Self-contained: it imports nothing of the application.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def _ordered(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _tenant_keys() -> list[sa.Column[object]]:
    return [
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
    ]


def _account_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["account_id"], ["accounts.id"], name=f"fk_{table}_account_id_accounts"
    )


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
    )
    op.create_table(
        "users",
        *_tenant_keys(),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("email_key", _ordered(320), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "id", name="pk_users"),
        sa.UniqueConstraint("account_id", "email_key", name="uq_users_account_id_email_key"),
        _account_fk("users"),
    )
    op.create_table(
        "api_tokens",
        *_tenant_keys(),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("prefix", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_used_at", TIMESTAMP, nullable=True),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("account_id", "id", name="pk_api_tokens"),
        sa.UniqueConstraint("account_id", "token_hash", name="uq_api_tokens_account_id_token_hash"),
        sa.ForeignKeyConstraint(
            ["account_id", "user_id"],
            ["users.account_id", "users.id"],
            name="fk_api_tokens_account_id_user_id_users",
        ),
    )
    op.create_index("ix_api_tokens_account_id_user_id", "api_tokens", ["account_id", "user_id"])
    op.create_table(
        "never_log_entries",
        *_tenant_keys(),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("pattern", _ordered(400), nullable=False),
        sa.Column("match_key", sa.String(400), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("account_id", "id", name="pk_never_log_entries"),
        sa.UniqueConstraint(
            "account_id",
            "owner_id",
            "match_key",
            name="uq_never_log_entries_account_id_owner_id_match_key",
        ),
        sa.UniqueConstraint(
            "account_id",
            "owner_id",
            "pattern",
            name="uq_never_log_entries_account_id_owner_id_pattern",
        ),
        _account_fk("never_log_entries"),
    )
    op.create_table(
        "audit_events",
        *_tenant_keys(),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("scope", sa.String(20), nullable=True),
        sa.Column("patterns", JSON, nullable=False),
        sa.Column("subject_user_id", sa.Uuid(), nullable=True),
        sa.Column("summary", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "id", name="pk_audit_events"),
        _account_fk("audit_events"),
    )
    op.create_index(
        "ix_audit_events_account_id_created_at_id",
        "audit_events",
        ["account_id", "created_at", "id"],
    )
    op.create_index(
        "ix_audit_events_account_id_actor_id_created_at_id",
        "audit_events",
        ["account_id", "actor_id", "created_at", "id"],
    )
    op.create_table(
        "email_simulations",
        *_tenant_keys(),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("sender_id", sa.Uuid(), nullable=False),
        sa.Column("email", JSON, nullable=False),
        sa.Column("recorded", JSON, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "id", name="pk_email_simulations"),
        _account_fk("email_simulations"),
    )
    op.create_index(
        "ix_email_simulations_account_id_created_at_id",
        "email_simulations",
        ["account_id", "created_at", "id"],
    )
    op.create_index(
        "ix_email_simulations_account_id_created_by_id_created_at_id",
        "email_simulations",
        ["account_id", "created_by_id", "created_at", "id"],
    )


def downgrade() -> None:
    for table in (
        "email_simulations",
        "audit_events",
        "never_log_entries",
        "api_tokens",
        "users",
        "accounts",
    ):
        op.drop_table(table)
