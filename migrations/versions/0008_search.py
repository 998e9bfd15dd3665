"""search: an FTS5 table kept by triggers (SQLite), GIN indexes on tsvectors (PostgreSQL)

Revision ID: 0008_search
Revises: 0007_daily_use
Create Date: 2026-12-06 21:50:00

Written out in full (not imported from planner.models.search) so the revision stays frozen. The
search_index rowid is the source row's id * 8 + its kind (story 1, comment 2, epic 3, milestone 4,
risk 5); the last statement of each kind fills the index from rows already there.
"""

from __future__ import annotations

from alembic import op

revision = "0008_search"
down_revision = "0007_daily_use"
branch_labels = None
depends_on = None

SQLITE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING fts5(title, body, tokenize = 'porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS story_search_ai AFTER INSERT ON story BEGIN INSERT INTO search_index(rowid, title, body) VALUES (new.id * 8 + 1, coalesce(new.title, ''), coalesce(new.description, '')); END",
    "CREATE TRIGGER IF NOT EXISTS story_search_au AFTER UPDATE OF title, description ON story BEGIN DELETE FROM search_index WHERE rowid = old.id * 8 + 1; INSERT INTO search_index(rowid, title, body) VALUES (new.id * 8 + 1, coalesce(new.title, ''), coalesce(new.description, '')); END",
    "CREATE TRIGGER IF NOT EXISTS story_search_ad AFTER DELETE ON story BEGIN DELETE FROM search_index WHERE rowid = old.id * 8 + 1; END",
    "INSERT INTO search_index(rowid, title, body) SELECT id * 8 + 1, coalesce(title, ''), coalesce(description, '') FROM story",
    "CREATE TRIGGER IF NOT EXISTS comment_search_ai AFTER INSERT ON comment BEGIN INSERT INTO search_index(rowid, title, body) VALUES (new.id * 8 + 2, '', coalesce(new.body, '')); END",
    "CREATE TRIGGER IF NOT EXISTS comment_search_au AFTER UPDATE OF body ON comment BEGIN DELETE FROM search_index WHERE rowid = old.id * 8 + 2; INSERT INTO search_index(rowid, title, body) VALUES (new.id * 8 + 2, '', coalesce(new.body, '')); END",
    "CREATE TRIGGER IF NOT EXISTS comment_search_ad AFTER DELETE ON comment BEGIN DELETE FROM search_index WHERE rowid = old.id * 8 + 2; END",
    "INSERT INTO search_index(rowid, title, body) SELECT id * 8 + 2, '', coalesce(body, '') FROM comment",
    "CREATE TRIGGER IF NOT EXISTS epic_search_ai AFTER INSERT ON epic BEGIN INSERT INTO search_index(rowid, title, body) VALUES (new.id * 8 + 3, coalesce(new.title, ''), coalesce(new.description, '')); END",
    "CREATE TRIGGER IF NOT EXISTS epic_search_au AFTER UPDATE OF title, description ON epic BEGIN DELETE FROM search_index WHERE rowid = old.id * 8 + 3; INSERT INTO search_index(rowid, title, body) VALUES (new.id * 8 + 3, coalesce(new.title, ''), coalesce(new.description, '')); END",
    "CREATE TRIGGER IF NOT EXISTS epic_search_ad AFTER DELETE ON epic BEGIN DELETE FROM search_index WHERE rowid = old.id * 8 + 3; END",
    "INSERT INTO search_index(rowid, title, body) SELECT id * 8 + 3, coalesce(title, ''), coalesce(description, '') FROM epic",
    "CREATE TRIGGER IF NOT EXISTS milestone_search_ai AFTER INSERT ON milestone BEGIN INSERT INTO search_index(rowid, title, body) VALUES (new.id * 8 + 4, coalesce(new.name, ''), coalesce(new.description, '')); END",
    "CREATE TRIGGER IF NOT EXISTS milestone_search_au AFTER UPDATE OF name, description ON milestone BEGIN DELETE FROM search_index WHERE rowid = old.id * 8 + 4; INSERT INTO search_index(rowid, title, body) VALUES (new.id * 8 + 4, coalesce(new.name, ''), coalesce(new.description, '')); END",
    "CREATE TRIGGER IF NOT EXISTS milestone_search_ad AFTER DELETE ON milestone BEGIN DELETE FROM search_index WHERE rowid = old.id * 8 + 4; END",
    "INSERT INTO search_index(rowid, title, body) SELECT id * 8 + 4, coalesce(name, ''), coalesce(description, '') FROM milestone",
    "CREATE TRIGGER IF NOT EXISTS risk_search_ai AFTER INSERT ON risk BEGIN INSERT INTO search_index(rowid, title, body) VALUES (new.id * 8 + 5, coalesce(new.title, ''), coalesce(new.description, '')); END",
    "CREATE TRIGGER IF NOT EXISTS risk_search_au AFTER UPDATE OF title, description ON risk BEGIN DELETE FROM search_index WHERE rowid = old.id * 8 + 5; INSERT INTO search_index(rowid, title, body) VALUES (new.id * 8 + 5, coalesce(new.title, ''), coalesce(new.description, '')); END",
    "CREATE TRIGGER IF NOT EXISTS risk_search_ad AFTER DELETE ON risk BEGIN DELETE FROM search_index WHERE rowid = old.id * 8 + 5; END",
    "INSERT INTO search_index(rowid, title, body) SELECT id * 8 + 5, coalesce(title, ''), coalesce(description, '') FROM risk",
]

POSTGRESQL = [
    "CREATE INDEX IF NOT EXISTS ix_story_search ON story USING gin (((setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B'))))",
    "CREATE INDEX IF NOT EXISTS ix_comment_search ON comment USING gin ((setweight(to_tsvector('english'::regconfig, coalesce(body, '')), 'B')))",
    "CREATE INDEX IF NOT EXISTS ix_epic_search ON epic USING gin (((setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B'))))",
    "CREATE INDEX IF NOT EXISTS ix_milestone_search ON milestone USING gin (((setweight(to_tsvector('english'::regconfig, coalesce(name, '')), 'A') || setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B'))))",
    "CREATE INDEX IF NOT EXISTS ix_risk_search ON risk USING gin (((setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B'))))",
]

TABLES = ("story", "comment", "epic", "milestone", "risk")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in (
        SQLITE if dialect == "sqlite" else POSTGRESQL if dialect == "postgresql" else []
    ):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in TABLES:
            for suffix in ("ai", "au", "ad"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_search_{suffix}")
        op.execute("DROP TABLE IF EXISTS search_index")
    elif dialect == "postgresql":
        for table in TABLES:
            op.execute(f"DROP INDEX IF EXISTS ix_{table}_search")
