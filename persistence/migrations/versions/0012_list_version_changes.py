"""Which accounts' list versions moved, in one read (PostgreSQL): ``list_versions`` gets
the id of the transaction that last moved each version (``changed_by``, an ``xid8``), and
``neverlog_lists_changed_since(since)`` returns the accounts whose version a transaction
of id ``since`` or later moved, with their versions. tenancy/held_lists.py asks it once
per process and half-second, instead of reading each held account's version again.

Why a transaction id and not a counter: a number taken from a sequence is taken when the
change is made, not when it commits, so a change that commits after a later-numbered one
would fall behind a poller's mark and be missed. A poll instead remembers the oldest
transaction still running at its own snapshot (``pg_snapshot_xmin``): every transaction
that its snapshot did not see has an id at least that, so the next poll, asking from it,
sees every change that the last one could not (and some again, which costs nothing).

Tenant safety: the function runs as its owner (SECURITY DEFINER: row-level security,
which binds the service's role on ``list_versions``, would show it one account's row
only), and returns account ids and version numbers, no tenant data: nothing that the
service's role, which serves every account, could not read already (it names the
account of each statement itself). SQLite has neither the column nor the function: a
process there checks ``PRAGMA data_version`` instead.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

CHANNEL = "neverlog_lists"


def _bump(changed_by: bool) -> str:
    moved = ", changed_by = pg_current_xact_id()" if changed_by else ""
    into = "(account_id, version, changed_by)" if changed_by else "(account_id, version)"
    values = "(account, 1, pg_current_xact_id())" if changed_by else "(account, 1)"
    return f"""
        CREATE OR REPLACE FUNCTION neverlog_bump_list_version(account uuid) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
        BEGIN
            INSERT INTO list_versions AS v {into} VALUES {values}
                ON CONFLICT (account_id) DO UPDATE SET version = v.version + 1{moved};
            PERFORM pg_notify('{CHANNEL}', account::text);
        END $$
        """


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "ALTER TABLE list_versions ADD COLUMN changed_by xid8 NOT NULL DEFAULT pg_current_xact_id()"
    )
    op.execute("CREATE INDEX ix_list_versions_changed_by ON list_versions (changed_by)")
    op.execute(_bump(changed_by=True))
    op.execute(
        """
        CREATE FUNCTION neverlog_lists_changed_since(since xid8)
        RETURNS TABLE (account_id uuid, version bigint)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
            SELECT v.account_id, v.version FROM list_versions AS v WHERE v.changed_by >= since
        $$
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION neverlog_lists_changed_since(xid8)")
    op.execute(_bump(changed_by=False))
    op.execute("DROP INDEX ix_list_versions_changed_by")
    op.execute("ALTER TABLE list_versions DROP COLUMN changed_by")
