"""Live list changes: ``list_changes`` keeps each change to a never-log list for a few
minutes, so that every process can read the change whose id a PostgreSQL notice carries
(a notice holds at most 8,000 bytes; a change names up to 500 patterns). Each change
removes its account's rows older than five minutes (tenancy/live.py).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

CURRENT_ACCOUNT = "nullif(current_setting('app.account_id', true), '')::uuid"


def upgrade() -> None:
    op.create_table(
        "list_changes",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("patterns", sa.Text(), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("list_count", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_list_changes_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("account_id", "id", name="pk_list_changes"),
    )
    op.create_index(
        "ix_list_changes_account_id_created_at", "list_changes", ["account_id", "created_at"]
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE list_changes ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE list_changes FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY account_isolation ON list_changes "
        f"USING (account_id = {CURRENT_ACCOUNT}) WITH CHECK (account_id = {CURRENT_ACCOUNT})"
    )


def downgrade() -> None:
    op.drop_table("list_changes")
