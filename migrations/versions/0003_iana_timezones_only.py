"""projects keep only IANA timezones

Before planner refused them, a project could be stored with `localtime`, `posixrules`, `Factory`
or a file path as its timezone: names that make its calendar depend on the server, or that no
longer load. This sets each such project to UTC, which its settings page then shows; the new
rule (docs/rules.md, "Calendar") keeps them out from now on. Nothing to undo on downgrade.

Revision ID: 0003_iana_timezones_only
Revises: 0002_share_link_expiry
Create Date: 2026-11-22 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from planner.timeutil import is_timezone

revision = "0003_iana_timezones_only"
down_revision = "0002_share_link_expiry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    project = sa.table("project", sa.column("id", sa.Integer), sa.column("timezone", sa.String))
    rows = connection.execute(sa.select(project.c.id, project.c.timezone)).all()
    unusable = [row.id for row in rows if not is_timezone(row.timezone)]
    if unusable:
        connection.execute(
            project.update().where(project.c.id.in_(unusable)).values(timezone="UTC")
        )


def downgrade() -> None:
    pass  # the old names were never valid; there is nothing to restore
