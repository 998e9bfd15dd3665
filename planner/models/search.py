"""The full-text search schema, which lives beside the models rather than in them.

SQLite: one FTS5 table, `search_index`, holding the searchable text of stories, comments, epics,
milestones and risks. Its rowid says what a row is: the source row's id * 8 + the kind's code, so a
trigger finds its row by rowid (no scan) and a hit joins back to the live source row, whose project
decides who may see it. Triggers on every source table keep it in step with inserts (bulk imports
and demo data included: triggers fire for every row), updates and deletes (cascades included).

PostgreSQL: an expression GIN index per source table over the very tsvector the search compares.

Migration 0008_search creates the same objects; `create_all` (the tests) gets them from the
after_create hook below. Alembic's comparison leaves them out (`include_name`), since the models do
not describe them.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Connection

from planner.models.base import Base

# Kind codes stored in the FTS rowid (id * 8 + code); 8 leaves room for more kinds.
KINDS: dict[str, int] = {"story": 1, "comment": 2, "epic": 3, "milestone": 4, "risk": 5}
ROWID_SPAN = 8

FTS_TABLE = "search_index"

# Per kind: the source table, its title column (None: no title) and its body column (the body is
# what snippets show).
SOURCES: dict[str, tuple[str, str | None, str]] = {
    "story": ("story", "title", "description"),
    "comment": ("comment", None, "body"),
    "epic": ("epic", "title", "description"),
    "milestone": ("milestone", "name", "description"),
    "risk": ("risk", "title", "description"),
}

# PostgreSQL: the English configuration stems words ("drifting" finds "drift"), as FTS5's porter
# tokenizer does on SQLite. The title weighs A, the body B, so a title hit ranks first.
TS_CONFIG = "english"


def title_sql(kind: str, row: str = "") -> str:
    """Return the SQL of a kind's title text ('' when it has none), columns prefixed by `row`."""
    column = SOURCES[kind][1]
    return f"coalesce({row}{column}, '')" if column else "''"


def body_sql(kind: str, row: str = "") -> str:
    """Return the SQL of a kind's body text, columns prefixed by `row`."""
    return f"coalesce({row}{SOURCES[kind][2]}, '')"


def pg_vector(kind: str, row: str = "") -> str:
    """Return the tsvector expression of `kind`; the GIN index is built on exactly this text."""
    body = f"setweight(to_tsvector('{TS_CONFIG}'::regconfig, {body_sql(kind, row)}), 'B')"
    if SOURCES[kind][1] is None:
        return body
    title = f"setweight(to_tsvector('{TS_CONFIG}'::regconfig, {title_sql(kind, row)}), 'A')"
    return f"({title} || {body})"


PG_INDEXES: dict[str, str] = {kind: f"ix_{SOURCES[kind][0]}_search" for kind in KINDS}


def pg_statements() -> list[str]:
    """The DDL creating the GIN indexes (idempotent)."""
    return [
        f"CREATE INDEX IF NOT EXISTS {PG_INDEXES[kind]} ON {SOURCES[kind][0]} "
        f"USING gin (({pg_vector(kind)}))"
        for kind in KINDS
    ]


def sqlite_statements() -> list[str]:
    """The DDL creating the FTS5 table and its triggers, and filling it from the source tables
    (idempotent: it empties and refills the index, so it can run on a database with data)."""
    statements = [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
        "title, body, tokenize = 'porter unicode61 remove_diacritics 2')",
        f"DELETE FROM {FTS_TABLE}",
    ]
    for kind, code in KINDS.items():
        table, title, body = SOURCES[kind]
        watched = ", ".join(c for c in (title, body) if c)
        insert = (
            f"INSERT INTO {FTS_TABLE}(rowid, title, body) VALUES (new.id * {ROWID_SPAN} + {code}, "
            f"{title_sql(kind, 'new.')}, {body_sql(kind, 'new.')});"
        )
        delete = f"DELETE FROM {FTS_TABLE} WHERE rowid = old.id * {ROWID_SPAN} + {code};"
        statements += [
            f"CREATE TRIGGER IF NOT EXISTS {table}_search_ai AFTER INSERT ON {table} "
            f"BEGIN {insert} END",
            f"CREATE TRIGGER IF NOT EXISTS {table}_search_au AFTER UPDATE OF {watched} "
            f"ON {table} BEGIN {delete} {insert} END",
            f"CREATE TRIGGER IF NOT EXISTS {table}_search_ad AFTER DELETE ON {table} "
            f"BEGIN {delete} END",
            f"INSERT INTO {FTS_TABLE}(rowid, title, body) SELECT id * {ROWID_SPAN} + {code}, "
            f"{title_sql(kind)}, {body_sql(kind)} FROM {table}",
        ]
    return statements


def create_search_objects(connection: Connection) -> None:
    """Create (or refresh) the search objects of the connection's database."""
    name = connection.dialect.name
    statements = (
        sqlite_statements() if name == "sqlite" else pg_statements() if name == "postgresql" else []
    )
    for statement in statements:
        connection.exec_driver_sql(statement)


def include_name(name: str | None, type_: str, _parent_names: dict) -> bool:
    """Alembic hook: leave the search objects out of the models-vs-database comparison."""
    if type_ == "table" and name is not None and name.startswith(FTS_TABLE):
        return False  # the FTS5 table and its shadow tables (search_index_data, ...)
    if type_ == "index" and name in PG_INDEXES.values():
        return False
    return True


@event.listens_for(Base.metadata, "after_create")
def _after_create(_metadata, connection: Connection, **_kw) -> None:
    create_search_objects(connection)


@event.listens_for(Base.metadata, "before_drop")
def _before_drop(_metadata, connection: Connection, **_kw) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {FTS_TABLE}")
