"""Tell PostgreSQL's planner that a list's owner determines its account.

A decision looks its recipients' keys up with ``account_id = … AND owner_id IN (…) AND
match_key = ANY(…)``, which the index on (account_id, owner_id, match_key) answers with
one probe per key. The planner takes account and owner for independent, so it believes
the two lists hold a handful of rows, and with many accounts it prefers to read both lists
whole through the other index on (account_id, owner_id, …) and filter them: a decision
then costs as much as the lists are long. Statistics of the dependency between the two
columns correct the estimate, and the probes are chosen again. SQLite needs nothing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NAME = "st_never_log_entries_account_id_owner_id"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"CREATE STATISTICS IF NOT EXISTS {NAME} (dependencies) "
        "ON account_id, owner_id FROM never_log_entries"
    )
    op.execute("ANALYZE never_log_entries")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP STATISTICS IF EXISTS {NAME}")
