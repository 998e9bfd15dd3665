"""`planner import` turns every bad file into the problem list (JSON path and reason), exit code
1 and an unchanged database, never a traceback: deep nesting, duplicate keys, NUL bytes, unpaired
surrogates, far dates and overflowing timestamps, over-long text, server-dependent timezones and
oversized files. Site admins made members are named in the summary."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from planner.interchange import importer
from planner.models import Account, Project, Story, StoryEvent
from tests import factories
from tests.samples import full_document
from tests.test_interchange import mutate


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def counts(db) -> tuple[int, int, int, int]:
    return tuple(
        db.scalar(select(func.count()).select_from(m))
        for m in (Project, Account, Story, StoryEvent)
    )


def run_import(runner, tmp_path, text: str | bytes):
    source = tmp_path / "project.json"
    if isinstance(text, bytes):
        source.write_bytes(text)
    else:
        source.write_text(text, encoding="utf-8")
    return runner.invoke(args=["import", str(source)])


def refused(result, db_session, *expected: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "not imported, nothing was changed" in result.output
    for fragment in expected:
        assert fragment in result.output, result.output
    db_session.expire_all()
    assert counts(db_session) == (0, 0, 0, 0)


def document_with(path: str, value) -> str:
    return json.dumps(mutate(path, value))


def test_deep_nesting_is_a_problem_not_a_recursion_error(runner, tmp_path, db_session):
    result = run_import(runner, tmp_path, "[" * 100_000)
    refused(result, db_session, "$: The document is nested more than 32 levels deep.")


def test_duplicate_keys_are_refused(runner, tmp_path, db_session):
    text = json.dumps(full_document())
    text = text.replace(
        '"format": "planner-export"', '"format": "planner-export", "format": "x"', 1
    )
    result = run_import(runner, tmp_path, text)
    refused(result, db_session, "The key 'format' appears twice in one object")


@pytest.mark.parametrize(
    ("raw", "path", "reason"),
    [
        ("a\\u0000b", "$.project.name", "Remove the NUL character"),
        ("\\ud800", "$.project.name", "unpaired UTF-16 surrogate"),
    ],
)
def test_nul_and_lone_surrogates_are_problems_with_their_path(
    runner, tmp_path, db_session, raw, path, reason
):
    text = document_with("project.name", "PLACEHOLDER").replace("PLACEHOLDER", raw)
    result = run_import(runner, tmp_path, text)
    refused(result, db_session, f"{path}: ", reason)


def test_a_file_that_is_not_utf8_is_refused(runner, tmp_path, db_session):
    result = run_import(runner, tmp_path, b'{"format": "\xff"}')
    refused(result, db_session, "The document is not UTF-8")


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        ("project.holidays[0]", "9999-12-31", "Enter a date between 2000-01-01 and 2099-12-31."),
        ("milestones[0].baseline", "1900-01-01", "Enter a date between 2000-01-01 and 2099-12-31."),
        ("stories[0].created_at", "0001-01-01T00:00:00+14:00", "is not an ISO 8601 timestamp"),
        ("stories[0].created_at", "2150-01-01T00:00:00Z", "Give a moment between 2000-01-01"),
        ("sprints[0].end", "2026-12-31", "the sprint lasts 242 days; at most 56"),
        ("project.timezone", "localtime", "'localtime' is not a known IANA timezone"),
        ("project.timezone", "posixrules", "'posixrules' is not a known IANA timezone"),
        ("project.description", "d" * 20_001, "Keep it to 20,000 characters (it has 20,001)."),
        ("stories[0].title", "line one\nline two", "Remove the line breaks"),
        ("stories[0].hypothesis", "h" * 5_001, "Keep it to 5,000 characters (it has 5,001)."),
    ],
)
def test_values_outside_the_limits_are_problems_with_their_path(
    runner, tmp_path, db_session, path, value, reason
):
    result = run_import(runner, tmp_path, document_with(path, value))
    expected_path = "$." + path
    refused(result, db_session, f"{expected_path}: ", reason)


def test_a_huge_project_description_is_refused_without_being_stored(runner, tmp_path, db_session):
    result = run_import(runner, tmp_path, document_with("project.description", "x" * 5_000_000))
    refused(result, db_session, "$.project.description: Keep it to 20,000 characters")


def test_a_file_over_the_size_limit_is_refused_before_reading(
    runner, tmp_path, db_session, monkeypatch
):
    monkeypatch.setattr(importer, "MAX_FILE_BYTES", 1000)
    result = run_import(runner, tmp_path, json.dumps(full_document()))
    refused(result, db_session, "planner imports files of at most 0 MB")


def test_the_import_summary_names_site_admins_made_members(runner, tmp_path, db_session):
    factories.account(db_session, "ana@example.com", "Ana Lima", admin=True)
    db_session.commit()
    result = run_import(runner, tmp_path, json.dumps(full_document()))
    assert result.exit_code == 0, result.output
    assert (
        "Note: ana@example.com is a site admin and is now a member of CHURN with manage access."
        in result.output
    )


def test_timezones_that_depend_on_the_server_are_refused_in_settings(clients, story_one):
    for name in ("localtime", "posixrules", "/etc/localtime"):
        response = clients["manage"].post_form(
            "/projects/FRAUD/settings",
            {
                "name": "Card fraud detection",
                "timezone": name,
                "working_days": ["1", "2", "3", "4", "5"],
                "sprint_length_days": "14",
                "slip_tolerance_days": "7",
            },
        )
        assert response.status_code == 422, name
        assert "is not a known IANA timezone" in response.get_data(as_text=True)
