"""Invitations: how a new user gets their first token without a super admin holding it.

``invitations`` keeps each one-time code by its hash (SHA-256 of the whole code), with the
user it is for, when it stops working and when it was used; row-level security as every
tenant table (0002). ``users.signed_in_at`` is when the user first held a token of their
own (``User.hasSignedIn``): for the users that exist, when their first token was made.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

CURRENT_ACCOUNT = "nullif(current_setting('app.account_id', true), '')::uuid"
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("users", sa.Column("signed_in_at", TIMESTAMP, nullable=True))
    op.create_table(
        "invitations",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("used_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("account_id", "id", name="pk_invitations"),
        sa.UniqueConstraint("account_id", "code_hash", name="uq_invitations_account_id_code_hash"),
        sa.ForeignKeyConstraint(
            ["account_id", "user_id"],
            ["users.account_id", "users.id"],
            name="fk_invitations_account_id_user_id_users",
        ),
    )
    op.create_index("ix_invitations_account_id_user_id", "invitations", ["account_id", "user_id"])
    _signed_in_already()
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE invitations ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE invitations FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY account_isolation ON invitations "
        f"USING (account_id = {CURRENT_ACCOUNT}) WITH CHECK (account_id = {CURRENT_ACCOUNT})"
    )


def _signed_in_already() -> None:
    """Every user who holds a token signed in when their first token was made. On
    PostgreSQL the tables are row-level secure even for their owner (FORCE): lifted for
    this one statement."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("ALTER TABLE users NO FORCE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE api_tokens NO FORCE ROW LEVEL SECURITY")
    op.execute(
        "UPDATE users SET signed_in_at = (SELECT min(t.created_at) FROM api_tokens t "
        "WHERE t.account_id = users.account_id AND t.user_id = users.id)"
    )
    if postgresql:
        op.execute("ALTER TABLE api_tokens FORCE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE users FORCE ROW LEVEL SECURITY")


def downgrade() -> None:
    op.drop_index("ix_invitations_account_id_user_id", "invitations")
    op.drop_table("invitations")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("signed_in_at")
