"""No request answers 500: the production app under real gunicorn (2 workers) over the test
database (PostgreSQL in CI, SQLite otherwise), with the demo loaded, fuzzed over HTTP. Every page
reachable by crawling, every form found in them and every route of the URL map (pages and API)
gets NUL bytes, invalid UTF-8, far dates, absurd numbers, markup, long text, huge bodies, deep and
duplicate-key JSON; no answer may be a 5xx or carry a traceback, and gunicorn's log must hold no
traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from planner.demo import DEMO_PASSWORD, install_demo
from planner.models import Comment, Membership, Milestone, Project, Risk, Sprint
from tests import factories
from tests.fuzzing import Fuzzer, Session, summary

ROOT = Path(__file__).resolve().parent.parent
BUDGET_SECONDS = 150


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(app, db_session, database_url, tmp_path):
    install_demo(db_session, hash_method=factories.HASH)
    db_session.commit()
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "PLANNER_ENV": "production",
        "PLANNER_SECRET_KEY": "fuzzing-only-" + "x" * 32,
        "PLANNER_DATABASE_URL": database_url,
        "PLANNER_INSTANCE_PATH": str(tmp_path / "instance"),
        # Fuzzers send thousands of requests with one token: the per-token limit has its own test.
        "PLANNER_API_TOKEN_LIMIT": "1000000 per minute",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
            "--capture-output",
            "--error-logfile",
            str(log),
            "tests.fuzz_wsgi:app",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    try:
        yield base, log
    finally:
        process.terminate()
        process.wait(timeout=30)


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
