"""project context stamp (the per-worker copies of a project's context are kept against it)

Revision ID: 0013_context_stamp
Revises: 0012_series_active
Create Date: 2026-12-07 13:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_context_stamp"
down_revision = "0012_series_active"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("context_stamp", sa.BigInteger(), server_default="0", nullable=False)
        )
    # Each existing project gets a random stamp, as a new one does: a database restored from an
    # older backup and upgraded then holds stamps no worker has a copy under.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE project SET context_stamp = floor(random() * 4611686018427387904)")
    else:
        op.execute("UPDATE project SET context_stamp = abs(random() % 4611686018427387904)")


def downgrade() -> None:
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.drop_column("context_stamp")
