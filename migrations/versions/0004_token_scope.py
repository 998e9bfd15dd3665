"""personal access tokens have a scope (read or write)

Revision ID: 0004_token_scope
Revises: 0003_iana_timezones_only
Create Date: 2026-11-22 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_token_scope"
down_revision = "0003_iana_timezones_only"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("scope", sa.String(length=8), server_default="write", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("scope")
