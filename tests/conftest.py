"""Fixtures: the app on a real database (SQLite by default, PostgreSQL when
PLANNER_TEST_DATABASE_URL is set), emptied after every test; a session; clients signed in per
access level; a query counter. CSRF stays on: clients fetch and send the token like a browser."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from planner import create_app
from planner.db import get_db
from planner.models import Account, Base, Milestone, Project, Risk, versioning
from tests import factories
from tests.mlflow_store import mlflow_server, mlflow_store  # noqa: F401  (a real MLflow)
from tests.receivers import receiver, smtp_server  # noqa: F401  (fixtures: real SMTP, HTTP)

# A project's row taken after rows of it were written in the same transaction raises in the
# tests (planner.models.versioning.taking_project_rows): every such path is found here.
versioning.STRICT_LOCK_ORDER = True

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("PLANNER_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'planner-test.sqlite3'}"


@pytest.fixture(scope="session")
def _schema(database_url: str) -> Iterator[None]:
    """Create the tables once per run (migrations are tested on their own, in test_migrations)."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            Base.metadata.drop_all(conn)
    Base.metadata.create_all(engine)
    engine.dispose()
    yield


def _empty_all_tables(app: Flask) -> None:
    engine = get_db(app).engine
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def app(database_url: str, _schema: None, tmp_path) -> Iterator[Flask]:
    app = create_app("testing", DATABASE_URL=database_url, INSTANCE_PATH=str(tmp_path / "instance"))
    yield app
    _empty_all_tables(app)
    get_db(app).dispose()


@pytest.fixture
def db_session(app: Flask) -> Iterator[Session]:
    """A session of its own (not the request's): tests add, flush and commit through it."""
    session = get_db(app).sessionmaker()
    yield session
    session.close()


class Client(FlaskClient):
    """A test client that behaves like a browser about CSRF: it reads the token from a page."""

    _csrf: str | None = None

    def csrf_token(self) -> str:
        if self._csrf is None:
            page = self.get("/login", follow_redirects=True).get_data(as_text=True)
            match = CSRF_META.search(page)
            assert match, "the page has no csrf-token meta tag"
            self._csrf = match.group(1)
        return self._csrf

    def post_form(self, url: str, data: dict | None = None, **kwargs):
        """POST a form with the CSRF token, as the page's form would."""
        payload = {"csrf_token": self.csrf_token(), **(data or {})}
        return self.post(url, data=payload, **kwargs)

    def api(self, method: str, url: str, json=None, **kwargs):
        """Call the JSON API with the X-CSRFToken header, as planner's scripts do."""
        headers = {"X-CSRFToken": self.csrf_token(), **kwargs.pop("headers", {})}
        return self.open(url, method=method, json=json, headers=headers, **kwargs)


@pytest.fixture
def client(app: Flask) -> Client:
    app.test_client_class = Client
    return app.test_client()


def sign_in(app: Flask, account: Account) -> Client:
    """Return a client whose session belongs to `account` (as Flask-Login stores it)."""
    app.test_client_class = Client
    client = app.test_client()
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = account.session_token
        flask_session["_fresh"] = True
    return client


@dataclass
class Team:
    """A project with one person at each access level and an outsider."""

    project: Project
    manager: Account
    editor: Account
    viewer: Account
    outsider: Account

    def account(self, level: str) -> Account:
        return {
            "manage": self.manager,
            "edit": self.editor,
            "view": self.viewer,
            "none": self.outsider,
        }[level]


@pytest.fixture
def team(db_session: Session) -> Team:
    manager = factories.account(db_session, "maya@example.com", "Maya Okafor")
    editor = factories.account(db_session, "priya@example.com", "Priya Raman")
    viewer = factories.account(db_session, "helen@example.com", "Helen Brooks")
    outsider = factories.account(db_session, "otto@example.com", "Otto Outsider")
    project = factories.project(db_session, "FRAUD", "Card fraud detection", owner=manager)
    factories.member(db_session, project, editor, "edit", ["data_scientist"])
    factories.member(db_session, project, viewer, "view", ["stakeholder"])
    db_session.commit()
    return Team(project, manager, editor, viewer, outsider)


@pytest.fixture
def clients(app: Flask, team: Team) -> dict[str, Client]:
    """Signed-in clients per access level: manage, edit, view, and none (not a member)."""
    return {
        level: sign_in(app, team.account(level)) for level in ("manage", "edit", "view", "none")
    }


@pytest.fixture
def story_one(db_session, team):
    """FRAUD seeded for the route matrices: story 1 in the active Sprint 1, a planned Sprint 2,
    epic E1, milestone 1 and risk 1."""
    from datetime import UTC, date, datetime

    from planner.domain.context import load_context
    from planner.domain.epics import create_epic

    active = factories.sprint(
        db_session,
        team.project,
        "Sprint 1",
        date(2026, 3, 2),
        date(2026, 3, 13),
        state="active",
        started_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
    )
    factories.sprint(db_session, team.project, "Sprint 2", date(2026, 3, 16), date(2026, 3, 27))
    create_epic(db_session, load_context(db_session, team.project), {"title": "Gold-label set"})
    story = factories.story(
        db_session, team.project, team.editor, title="Original", points=3, sprint=active.id
    )
    milestone = Milestone(project_id=team.project.id, name="Pilot", baseline=date(2026, 4, 24))
    db_session.add(milestone)
    db_session.add(
        Risk(
            project_id=team.project.id,
            title="Original risk",
            category="privacy",
            likelihood=3,
            impact=4,
            status="open",
            created_at=datetime(2026, 3, 2, tzinfo=UTC),
            updated_at=datetime(2026, 3, 2, tzinfo=UTC),
        )
    )
    db_session.flush()
    # Gate 1 with criterion 1 (its approvers: the product owner role, which nobody here holds),
    # so the access matrices reach a real gate.
    from planner.domain.gates import create_gate

    create_gate(
        db_session,
        load_context(db_session, team.project),
        {
            "stage": "evaluation",
            "name": "Ready for pilot",
            "criteria": ["Recall at target on the holdout"],
            "approvers": ["product_owner"],
        },
        by=team.manager,
        now=datetime(2026, 3, 2, 9, tzinfo=UTC),
    )
    db_session.commit()
    return story


@pytest.fixture
def story_one_linked(db_session, team, story_one):
    """story_one, plus artefact link 1 on it (a document), for the access matrices."""
    from planner.models import ArtefactLink

    db_session.add(
        ArtefactLink(
            project_id=team.project.id,
            story_id=story_one.id,
            kind="document",
            url="https://wiki.example.com/dpia",
            title="DPIA",
            created_by_id=team.manager.id,
        )
    )
    db_session.commit()
    return story_one


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """Serve the test app on a free local port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app: Flask):
    """Context manager counting the SQL statements the app's engine runs inside it.

    Inside it, pages are drawn anew, not answered from a kept copy (planner/pagecache.py), and
    project contexts are read from the database, not from the worker's copy
    (planner/domain/context.py): what a page costs to draw is what a query bound is about.
    `count_queries(kept=True)` counts with both as they are configured."""
    engine = get_db(app).engine

    @contextmanager
    def counting(kept: bool = False) -> Iterator[QueryCounter]:
        counter = QueryCounter()

        def listener(conn, cursor, statement, parameters, context, executemany):
            counter.statements.append(statement)

        settings = {key: app.config[key] for key in ("PAGE_CACHE_MB", "CONTEXT_COPIES")}
        if not kept:
            app.config.update(PAGE_CACHE_MB=0, CONTEXT_COPIES=False)
        event.listen(engine, "before_cursor_execute", listener)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", listener)
            app.config.update(settings)

    return counting
