"""Files uploaded for import, kept between their preview and the manager's decision.

They live in the database, not on a local disk, so a preview answered by one web process can be
imported by another (gunicorn workers, several hosts). Rows older than a day are purged.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from planner.models.base import Base, UTCDateTime
from planner.timeutil import utcnow

IMPORT_FORMATS = ("jira-csv", "planner-export")


class PendingImport(Base):
    __tablename__ = "pending_import"
    __table_args__ = (
        CheckConstraint("format IN ('jira-csv', 'planner-export')", name="format_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The unguessable name of the preview in its URL.
    token: Mapped[str] = mapped_column(String(43), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    # The project imported into; None while the import is to create it.
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    format: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    # JSON: the choices made so far (timezone, new project key and name, mappings).
    options: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
