"""The expiry sweep's policy, written so that it cannot steer a decision's look-up.

Row-level security ORs an account's policies: on never_log_entries a SELECT reads the
rows that ``account_isolation`` or ``expiry_sweep`` (0005) lets it. 0005 wrote the
sweep's condition as ``expires_at IS NOT NULL AND expires_at <= now()``, which the
partial index on (account_id, expires_at) answers; so the planner could read the OR as a
BitmapOr of that index and the account's primary key. It chose that for a decision's
look-up: its estimate of ``account_id = current_setting(...)`` is made before the
statement sets the account (the setting is empty then: one row), so the whole account's
entries looked like one row to fetch, where the unique index on (account_id, owner_id,
match_key) finds the few that match. Every look-up read and filtered all of the
account's entries (1,500 rows, 45 blocks); over 1,000 accounts those outgrew the
server's buffers, and 1,000 accounts answered slower than one.

The same condition, as ``coalesce(expires_at <= now(), false)``, lets the same rows
through (NULL is not expired), and matches no index: no BitmapOr can be built from the
sweep's arm, and the look-up goes through the unique index. The sweep's own query keeps
its explicit conditions, which the partial index still answers.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SWEEPING = "current_setting('app.expiry_sweep', true) = 'on'"
UNINDEXED = f"{SWEEPING} AND coalesce(expires_at <= now(), false)"
INDEXED = f"{SWEEPING} AND expires_at IS NOT NULL AND expires_at <= now()"


def _sweep_policy(condition: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP POLICY IF EXISTS expiry_sweep ON never_log_entries")
    op.execute(f"CREATE POLICY expiry_sweep ON never_log_entries FOR SELECT USING ({condition})")


def upgrade() -> None:
    _sweep_policy(UNINDEXED)


def downgrade() -> None:
    _sweep_policy(INDEXED)
