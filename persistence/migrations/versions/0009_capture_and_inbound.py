"""Capture levels, entry actions and automated mail (PRODUCT.md, "What an entry does: its
action", "Capture levels" and "Inbound and automated email").

``never_log_entries.action`` says what an entry does (``NEVER_LOG`` for every entry made
before); ``accounts.default_capture``, ``skip_automated_emails`` and
``automated_sender_names`` (null: the default names) are the account's settings, and
``users.default_capture`` (null: the account's) the user's own.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column(
        "never_log_entries",
        sa.Column("action", sa.String(20), nullable=False, server_default="NEVER_LOG"),
    )
    op.add_column(
        "accounts",
        sa.Column("default_capture", sa.String(10), nullable=False, server_default="FULL"),
    )
    op.add_column(
        "accounts",
        sa.Column("skip_automated_emails", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column("accounts", sa.Column("automated_sender_names", _JSON, nullable=True))
    op.add_column("users", sa.Column("default_capture", sa.String(10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("default_capture")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("automated_sender_names")
        batch.drop_column("skip_automated_emails")
        batch.drop_column("default_capture")
    with op.batch_alter_table("never_log_entries") as batch:
        batch.drop_column("action")
