"""No request answers 500: the production app under real gunicorn (2 workers) over the test
database (PostgreSQL in CI, SQLite otherwise), with the demo loaded, fuzzed over HTTP. Every page
reachable by crawling, every form found in them and every route of the URL map (pages and API)
gets NUL bytes, invalid UTF-8, far dates, absurd numbers, markup, long text, huge bodies, deep and
duplicate-key JSON; no answer may be a 5xx or carry a traceback, and gunicorn's log must hold no
traceback."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from planner.demo import DEMO_PASSWORD, install_demo
from planner.models import Comment, Membership, Milestone, Project, Risk, Sprint
from tests import factories
from tests.fuzzing import Fuzzer, Session, summary
from tests.gunicorn_server import gunicorn_serving

BUDGET_SECONDS = 150


@pytest.fixture
def gunicorn(app, db_session, database_url, tmp_path):
    install_demo(db_session, hash_method=factories.HASH)
    db_session.commit()
    options = ("--timeout", "120", "--capture-output")
    with gunicorn_serving(
        "tests.fuzz_wsgi:app", database_url, tmp_path, *options, secret="fuzzing"
    ) as served:
        yield served


def demo_params(db) -> dict[str, str]:
    project = db.scalar(select(Project).where(Project.key == "FRAUD"))
    active = db.scalar(
        select(Sprint).where(Sprint.project_id == project.id, Sprint.state == "active")
    )
    comment = db.scalar(select(Comment.id).order_by(Comment.id))
    return {
        "key": "FRAUD",
        "story_key": "FRAUD-30",
        "number": "30",
        "sprint_id": str(active.id),
        "milestone_id": str(db.scalar(select(Milestone.id).order_by(Milestone.id))),
        "risk_id": str(db.scalar(select(Risk.id).order_by(Risk.id))),
        "membership_id": str(db.scalar(select(Membership.id).order_by(Membership.id.desc()))),
        "account_id": "999999",
        "epic_key": "E1",
        "stage_key": "modeling",
        "chart": "burndown",
        "comment_id": str(comment or 1),
        "token": "not-a-real-token",
    }


@pytest.mark.fuzz
def test_no_request_answers_500_under_gunicorn(app, db_session, gunicorn):
    base, log = gunicorn
    rules = [
        (rule.rule, set(rule.methods))
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in ("static", "plotly_js")
    ]
    params = demo_params(db_session)
    manager = Session(base)
    manager.sign_in("maya@example.com", DEMO_PASSWORD)
    viewer = Session(base)
    viewer.sign_in("helen@example.com", DEMO_PASSWORD)
    failures = []

    # A view member first (nothing changes), then the scrum master who may change everything.
    quick = Fuzzer(viewer, rules, params, budget=25)
    quick.every_route()
    failures += quick.failures

    fuzzer = Fuzzer(manager, rules, params, budget=BUDGET_SECONDS)
    fuzzer.crawl()
    fuzzer.every_route()
    fuzzer.every_form()
    failures += fuzzer.failures

    # The sign-in form itself, signed out.
    anonymous = Session(base)
    anonymous.get("/login")
    status, text = anonymous.post_form(
        "/login",
        [("csrf_token", anonymous.csrf), ("email", "a\x00b@example.com"), ("password", "x")],
    )
    assert status < 500 and "Traceback" not in text

    time.sleep(0.5)  # let gunicorn flush its log
    logged = log.read_text(errors="replace")
    print(
        f"fuzzed {manager.sent + viewer.sent + anonymous.sent} requests; "
        f"{len(fuzzer.pages)} pages, {len(fuzzer.forms)} forms"
    )
    assert len(fuzzer.pages) >= 25 and len(fuzzer.forms) >= 20, (fuzzer.pages.keys(), fuzzer.forms)
    assert failures == [], summary(failures)
    assert "Traceback" not in logged, logged[-5000:]
