"""The API keeps its OpenAPI document under Schemathesis: the production app under gunicorn
(2 workers) over the test database (PostgreSQL in CI), the demo loaded, a write token of the demo's
manager. Schemathesis generates requests for every operation from /api/v1/openapi.json (its
examples, its coverage of each schema's edges, then random data) for a bounded time; no answer may
be a 5xx, or have a status, content type, header or body the document does not declare."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from planner.domain.accounts import find_account
from planner.domain.tokens import create_token
from planner.models import Epic, Milestone, Project, Risk, Sprint
from planner.timeutil import utcnow
from tests.test_fuzz_gunicorn import gunicorn  # noqa: F401  (the live server fixture)

MAX_SECONDS = 75
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)


def _config(db, path: Path) -> Path:
    """Real identifiers of the demo, so that calls reach planner's logic instead of a 404."""
    project = db.scalar(select(Project).where(Project.key == "FRAUD"))
    sprint = db.scalar(
        select(Sprint).where(Sprint.project_id == project.id, Sprint.state == "active")
    )
    milestone = db.scalar(select(Milestone.id).where(Milestone.project_id == project.id))
    risk = db.scalar(select(Risk.id).where(Risk.project_id == project.id))
    epic = db.scalar(select(Epic.key).where(Epic.project_id == project.id).order_by(Epic.id))
    path.write_text(
        "[parameters]\n"
        '"path.key" = "FRAUD"\n'
        '"path.story_key" = "FRAUD-30"\n'
        f'"path.sprint_id" = {sprint.id}\n'
        f'"path.milestone_id" = {milestone}\n'
        f'"path.risk_id" = {risk}\n'
        f'"path.epic_key" = "{epic}"\n'
        '"path.stage_key" = "modeling"\n',
        encoding="utf-8",
    )
    return path


@pytest.mark.fuzz
def test_the_api_answers_as_its_document_says(db_session, gunicorn, tmp_path):  # noqa: F811
    base, log = gunicorn
    manager = find_account(db_session, "maya@example.com")
    _, secret = create_token(db_session, manager, name="schemathesis", now=utcnow())
    db_session.commit()
    config = _config(db_session, tmp_path / "schemathesis.toml")
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "--no-color",
            "--config-file",
            str(config),
            "run",
            f"{base}/api/v1/openapi.json",
            "--header",
            f"Authorization: Bearer {secret}",
            "--checks",
            ",".join(CHECKS),
            # Changing or removing a member can demote the token's own owner (Schemathesis reads
            # the e-mails from the member list), after which every manage call is a correct 403;
            # tests/test_api_team.py covers those two calls.
            "--exclude-path-regex",
            "/members/[{]email[}]$",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-time",
            str(MAX_SECONDS),
            # One worker: Schemathesis compiles code in its threads, and CPython 3.11 can fail
            # that with "AST constructor recursion depth mismatch" when two threads do it at once.
            "--workers",
            "1",
            "--request-timeout",
            "20",
            "--seed",
            "20261122",
            "--report",
            "har",
            "--report-dir",
            str(ARTIFACTS / "schemathesis"),
        ],
        capture_output=True,
        text=True,
        timeout=MAX_SECONDS + 120,
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "schemathesis.txt").write_text(run.stdout + run.stderr, encoding="utf-8")
    report = run.stdout[-6000:] + run.stderr[-2000:]
    print(report)  # the summary, in the CI log
    assert run.returncode == 0, report
    counts = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert counts and counts.group(1) == counts.group(2), report
    assert "Traceback" not in log.read_text(encoding="utf-8")
