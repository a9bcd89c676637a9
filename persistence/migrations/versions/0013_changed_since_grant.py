"""Only the service's role may ask which accounts' lists changed (PostgreSQL).

``neverlog_lists_changed_since`` (0012) runs as its owner and returns the ids of every
account whose lists moved, past row-level security; PostgreSQL lets every role (PUBLIC)
execute a new function. It now runs for the roles that serve the API only: those that
were granted the tables (``grant_app_role``, which grants it from now on), and the owner.
Any other role of the server (a reporting user, another application's) is refused.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

FUNCTION = "neverlog_lists_changed_since(xid8)"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"REVOKE EXECUTE ON FUNCTION {FUNCTION} FROM PUBLIC")
    # The roles already serving the API (granted list_versions by grant_app_role) keep it.
    op.execute(
        f"""
        DO $$
        DECLARE serving text;
        BEGIN
            FOR serving IN
                SELECT DISTINCT grantee FROM information_schema.role_table_grants
                WHERE table_name = 'list_versions' AND privilege_type = 'SELECT'
                    AND grantee NOT IN (current_user, 'PUBLIC')
            LOOP
                EXECUTE format('GRANT EXECUTE ON FUNCTION {FUNCTION} TO %I', serving);
            END LOOP;
        END $$
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"GRANT EXECUTE ON FUNCTION {FUNCTION} TO PUBLIC")
