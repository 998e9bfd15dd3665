"""One engine and session factory per app; one session per app context, closed at teardown."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from planner.models.versioning import FOLDS, fold_changes

EXTENSION_KEY = "planner.db"
# In the `info` of the one session of an app context (a request, a CLI command): what lives as long
# as that session may keep what it loaded (planner.domain.context keeps a project's context).
CONTEXT_SESSION = "planner.context_session"
# In the same sessions' `info`: the process's copies of project contexts for this engine
# (planner.domain.context.SharedContexts).
SHARED_CONTEXTS = "planner.shared_contexts"


class PlannerSession(Session):
    """planner's sessions. Before `expire_all()` expires what the session holds, the hooks of
    BEFORE_EXPIRE_ALL run (as `after_rollback` listeners run before a rollback expires it):
    planner.domain.context builds what it has not built yet of a context, so that it is expired
    with the rest and read again, as the context's queried objects would be."""

    def expire_all(self) -> None:
        for hook in BEFORE_EXPIRE_ALL:
            hook(self)
        super().expire_all()


BEFORE_EXPIRE_ALL: list[Callable[[Session], None]] = []


class Database:
    """The engine and session factory of one app (and of the CLI and the tests using it)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        options: dict[str, object] = {"echo": echo, "future": True}
        if self.url.get_backend_name() == "sqlite":
            # Threads of the dev server and of browser tests share the file; wait for locks.
            options["connect_args"] = {"timeout": 15, "check_same_thread": False}
        else:
            options["pool_pre_ping"] = True
        self.engine: Engine = create_engine(self.url, **options)
        if self.url.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_on_connect)
        self.sessionmaker = sessionmaker(self.engine, class_=PlannerSession, expire_on_commit=False)
        from planner.domain.context import SharedContexts  # it needs the models, loaded later

        self.contexts = SharedContexts()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    """Enforce foreign keys (off by default in SQLite) and let readers run beside a writer."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def default_sqlite_url(instance_path: str) -> str:
    """Return the URL of the SQLite file kept in the instance folder."""
    path = Path(instance_path) / "planner.sqlite3"
    return f"sqlite:///{path}"


def init_app(app: Flask, url: str) -> Database:
    """Attach a Database for `url` to `app` and close each app context's session at teardown."""
    database = Database(url, echo=bool(app.config.get("SQL_ECHO")))
    app.extensions[EXTENSION_KEY] = database
    app.teardown_appcontext(_close_session)
    return database


def get_db(app: Flask | None = None) -> Database:
    """Return the Database of `app` (default: the current app)."""
    return (app or current_app).extensions[EXTENSION_KEY]


def session() -> Session:
    """Return this app context's session, opening it on first use."""
    if "planner_session" not in g:
        database = get_db()
        info: dict = {CONTEXT_SESSION: True}
        if current_app.config.get("CONTEXT_COPIES", True):
            info[SHARED_CONTEXTS] = database.contexts
        g.planner_session = database.sessionmaker(info=info)
    return g.planner_session


def _close_session(_exc: BaseException | None) -> None:
    db_session = g.pop("planner_session", None)
    if db_session is not None:
        folds = db_session.info.pop(FOLDS, None)
        db_session.close()
        if folds:
            # After the request's own work: a few small statements, one request in FOLD_EVERY,
            # that never wait (fold_changes); the rows count where they are until then.
            try:
                with get_db().engine.connect() as connection:
                    fold_changes(connection, folds)
            except SQLAlchemyError as exc:
                logging.getLogger(__name__).warning("changes not folded: %s", exc)
