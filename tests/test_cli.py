"""The `planner` command line: users, import and export, and the migration commands."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from planner import create_app
from planner.db import get_db
from planner.demo import DEMO_FILE
from planner.domain.accounts import authenticate, find_account
from planner.models import Account, Project, Story
from tests import factories
from tests.samples import full_document, normalised


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def test_users_create_with_a_password(runner, db_session):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Ana@Example.com",
            "--name",
            "Ana Lima",
            "--password",
            "long enough pw",
            "--admin",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Created site admin ana@example.com." in result.output
    account = authenticate(db_session, "ana@example.com", "long enough pw")
    assert account is not None and account.is_admin


def test_users_create_prompts_for_the_password_when_left_out(runner, db_session):
    result = runner.invoke(
        args=["users", "create", "ben@example.com", "--name", "Ben"],
        input="secret pass 1\nsecret pass 1\n",
    )
    assert result.exit_code == 0, result.output
    assert authenticate(db_session, "ben@example.com", "secret pass 1") is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["not-an-email", "--name", "X", "--password", "long enough pw"],
            "is not an email address",
        ),
        (["ana@example.com", "--name", "X", "--password", "short"], "at least 8 characters"),
        (["ana@example.com", "--name", "  ", "--password", "long enough pw"], "Enter a name."),
    ],
)
def test_users_create_refuses_bad_input_with_a_message(runner, db_session, args, message):
    result = runner.invoke(args=["users", "create", *args])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert db_session.scalar(select(func.count(Account.id))) == 0


def test_users_create_refuses_an_existing_email(runner, db_session):
    factories.account(db_session, "ana@example.com", "Ana")
    db_session.commit()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "ANA@example.com",
            "--name",
            "Other",
            "--password",
            "long enough pw",
        ]
    )
    assert result.exit_code == 1
    assert "An account for ana@example.com already exists." in result.output


def test_import_then_export_gives_back_the_document(runner, tmp_path, db_session):
    source = tmp_path / "churn.json"
    source.write_text(json.dumps(full_document()))
    result = runner.invoke(args=["import", str(source)])
    assert result.exit_code == 0, result.output
    assert "Imported project CHURN (Churn prediction)." in result.output
    target = tmp_path / "out.json"
    result = runner.invoke(args=["export", "churn", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert normalised(json.loads(target.read_text())) == normalised(full_document())
    to_stdout = runner.invoke(args=["export", "CHURN"])
    assert json.loads(to_stdout.stdout)["project"]["key"] == "CHURN"


def test_a_broken_import_file_is_refused_with_its_problems_and_changes_nothing(
    runner, tmp_path, db_session
):
    doc = full_document()
    doc["stories"][0]["stage"] = "labelling"
    doc["sprints"][0]["start"] = "2026-13-01"
    source = tmp_path / "broken.json"
    source.write_text(json.dumps(doc))
    result = runner.invoke(args=["import", str(source)])
    assert result.exit_code == 1
    assert "not imported, nothing was changed. 2 problem(s):" in result.output
    assert "$.sprints[0].start: '2026-13-01' is not a date in the form YYYY-MM-DD" in result.output
    assert "$.stories[0].stage: unknown stage 'labelling'" in result.output
    assert "Traceback" not in result.output
    assert db_session.scalar(select(func.count(Project.id))) == 0
    assert db_session.scalar(select(func.count(Account.id))) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "{not json",
            "Not valid JSON: Expecting property name enclosed in double quotes at line 1, column 2",
        ),
        (None, "no file at"),
    ],
)
def test_an_unreadable_import_file_is_refused(runner, tmp_path, db_session, content, message):
    source = tmp_path / "bad.json"
    if content is not None:
        source.write_text(content)
    result = runner.invoke(args=["import", str(source)])
    assert result.exit_code == 1
    assert message in result.output
    assert db_session.scalar(select(func.count(Story.id))) == 0


def test_the_demo_file_imports_as_it_is_shipped(runner, db_session):
    result = runner.invoke(args=["import", str(DEMO_FILE)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Imported project FRAUD (Card fraud detection).")
    assert db_session.scalar(select(func.count(Story.id))) > 0


def test_the_import_help_gives_the_file_size_limit(runner):
    result = runner.invoke(args=["import", "--help"])
    assert result.exit_code == 0
    assert "a JSON file may hold at most 50 MB, a Jira CSV 20 MB and 20,000 issues" in " ".join(
        result.output.split()
    )


def test_export_of_an_unknown_project_says_so(runner):
    result = runner.invoke(args=["export", "NOPE"])
    assert result.exit_code == 1
    assert "No project with the key NOPE." in result.output


def test_db_check_fails_until_the_database_is_migrated_then_passes(tmp_path):
    scratch = create_app(
        "testing",
        DATABASE_URL=f"sqlite:///{tmp_path / 'scratch.sqlite3'}",
        INSTANCE_PATH=str(tmp_path),
    )
    runner = scratch.test_cli_runner()
    before = runner.invoke(args=["db", "check"])
    assert before.exit_code == 1
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    after = runner.invoke(args=["db", "check"])
    assert after.exit_code == 0, after.output
    assert "The models and the migrations agree." in after.output
    assert runner.invoke(args=["db", "downgrade", "base"]).exit_code == 0
    assert runner.invoke(args=["db", "check"]).exit_code == 1
    get_db(scratch).dispose()


def test_db_upgrade_to_an_unknown_revision_is_a_clear_error(tmp_path):
    scratch = create_app(
        "testing",
        DATABASE_URL=f"sqlite:///{tmp_path / 'scratch.sqlite3'}",
        INSTANCE_PATH=str(tmp_path),
    )
    result = scratch.test_cli_runner().invoke(args=["db", "upgrade", "nonsense"])
    assert result.exit_code == 1
    assert "nonsense" in result.output and "Traceback" not in result.output
    get_db(scratch).dispose()


def test_new_accounts_from_an_import_cannot_sign_in_until_given_a_password(
    runner, tmp_path, db_session
):
    source = tmp_path / "churn.json"
    source.write_text(json.dumps(full_document()))
    runner.invoke(args=["import", str(source)])
    assert find_account(db_session, "ana@example.com").password_hash is None
    assert authenticate(db_session, "ana@example.com", "") is None
