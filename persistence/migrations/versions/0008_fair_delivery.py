"""Fair webhook delivery: an endpoint that keeps timing out is paused.

``webhook_endpoints.timeouts`` counts the endpoint's attempts in a row that got no answer
in time, and ``paused_until`` holds its deliveries back until then (tenancy/delivery.py),
so that a hanging endpoint does not hold attempts in flight that others need.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "webhook_endpoints",
        sa.Column("timeouts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "webhook_endpoints",
        sa.Column("paused_until", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.drop_column("paused_until")
        batch.drop_column("timeouts")
