"""stored series in parts, and an active sprint's state through its last completed day

Revision ID: 0012_series_active
Revises: 0011_project_version
Create Date: 2026-12-07 04:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_series_active"
down_revision = "0011_project_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The stored rows are a cache in the old one-piece format: drop them, the next read rebuilds.
    op.execute("DELETE FROM sprint_series")
    with op.batch_alter_table("sprint_series", schema=None) as batch_op:
        batch_op.add_column(sa.Column("changes", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("stories", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("state", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("through", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("last_title_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_story_id", sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        # Uncompressed out-of-line storage: substr() on the bytes reads only the slice asked for
        # (a page of scope changes), never the whole value.
        op.execute("ALTER TABLE sprint_series ALTER COLUMN changes SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.execute("DELETE FROM sprint_series")
    with op.batch_alter_table("sprint_series", schema=None) as batch_op:
        batch_op.drop_column("last_story_id")
        batch_op.drop_column("last_title_id")
        batch_op.drop_column("through")
        batch_op.drop_column("state")
        batch_op.drop_column("stories")
        batch_op.drop_column("changes")
