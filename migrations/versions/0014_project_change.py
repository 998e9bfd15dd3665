"""project changes not folded in yet (writers of a project no longer wait on its row)

Revision ID: 0014_project_change
Revises: 0013_context_stamp
Create Date: 2026-12-07 20:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_project_change"
down_revision = "0013_context_stamp"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "project_change",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_project_change_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_change")),
    )
    op.create_index(
        op.f("ix_project_change_project_id"), "project_change", ["project_id"], unique=False
    )


def downgrade() -> None:
    # The rows not folded in yet go into the project's change_version before they go.
    op.execute(
        "UPDATE project SET change_version = change_version + "
        "(SELECT count(*) FROM project_change WHERE project_change.project_id = project.id)"
    )
    op.drop_index(op.f("ix_project_change_project_id"), table_name="project_change")
    op.drop_table("project_change")
